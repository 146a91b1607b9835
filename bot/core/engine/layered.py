"""Day-long mappings a step changes in a few keys: a shared base and a small layer on it.

The ledger's lines grow all day (120,000 an hour at 100,000 products) while a step
changes a few hundred of them. Copying the whole mapping each step (so the old state
stays as it was: the worker steps again from it when a commit does not land) costs
what the day holds, not what changed. So the state holds a :class:`Layered` mapping: a
base dict no one changes once it is made, shared by successive states, and a layer of
the keys changed since (replaced, added, deleted). A step starts an :class:`Overlay` on
it — a copy of the layer only — writes its changes there and freezes it into the next
state's mapping. The old state's mapping is never touched, so stepping again from it
gives what the first step gave. When the layer grows past an eighth of the base (at
least :data:`FOLD_MIN` keys) the freeze folds it into a new base (one C-level copy).

Iteration keeps a dict's order: a replaced key stays where it was, a new key (or one
deleted and set again) goes to the end. Equality is a mapping's (by items).
"""

from __future__ import annotations

from collections.abc import (
    Hashable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from itertools import chain, compress, filterfalse
from operator import not_
from typing import TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

FOLD_MIN = 4096
"""A layer of up to this many keys (or an expiry book's top of entries) is never folded
into its base (:mod:`bot.core.engine.expiry` folds by the same rule)."""

_MISSING: object = object()


class _Layers(Mapping[K, V]):
    """The base, and the keys changed on it: replaced, deleted, added (in order)."""

    __slots__ = ("_base", "_gone", "_len", "_new", "_over")

    _base: dict[K, V]
    _over: dict[K, V]
    """Base keys whose value is replaced (never a key of ``_gone``)."""
    _gone: set[K]
    """Base keys deleted (one may be set again: then it is a key of ``_new``)."""
    _new: dict[K, V]
    """Keys set that the base does not hold (or holds deleted), in the order set."""
    _len: int

    def __getitem__(self, key: K) -> V:
        over = self._over
        if key in over:
            return over[key]
        new = self._new
        if key in new:
            return new[key]
        if key in self._gone:
            raise KeyError(key)
        return self._base[key]

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V, /) -> V: ...
    @overload
    def get(self, key: K, default: T, /) -> V | T: ...
    def get(self, key: K, default: object = None, /) -> object:
        # Most keys are base keys the layer does not name: three C lookups, the base's
        # before the new keys' (a deleted base key may be set again: then it is new).
        value = self._over.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = self._base.get(key, _MISSING)
        if value is not _MISSING and key not in self._gone:
            return value
        return self._new.get(key, default)

    def lookup(self, keys: Iterable[K]) -> Iterator[V | None]:
        """``map(self.get, keys)`` in C when no base key is deleted (the usual layer).

        The step looks up ten thousand listings or more by key (holds, drift); each
        ``get`` is a Python call (~0.3 µs), a dict's lookup in ``map`` is not.
        """
        if self._gone:
            return map(self.get, keys)
        keys = keys if isinstance(keys, (list, tuple)) else list(keys)
        base, new, over = self._base, self._new, self._over
        found: Iterator[V | None] = (
            map(new.get, keys, map(base.get, keys)) if new else map(base.get, keys)
        )
        return map(over.get, keys, found) if over else found

    def __contains__(self, key: object) -> bool:
        if key in self._new:
            return True
        return key not in self._gone and key in self._base

    def __iter__(self) -> Iterator[K]:
        base: Iterator[K] = (
            filterfalse(self._gone.__contains__, self._base) if self._gone else iter(self._base)
        )
        return chain(base, self._new) if self._new else base

    def __len__(self) -> int:
        return self._len

    def keys(self) -> KeysView[K]:
        return _Keys(self)

    def values(self) -> ValuesView[V]:
        return _Values(self)

    def items(self) -> ItemsView[K, V]:
        return _Items(self)

    def _values(self) -> Iterator[V]:
        """The values in this mapping's order, looked up in C (no call per key).

        ``_over.get(key, base value)`` gives a replaced key's new value and any other
        base key's own; a deleted key is left out by ``compress`` (also C). The views'
        default iteration calls ``__getitem__`` per key: at 150,000 listings ~40 ms.
        """
        base, over = self._base, self._over
        out: Iterator[V] = map(over.get, base, base.values()) if over else iter(base.values())
        if self._gone:
            out = compress(out, map(not_, map(self._gone.__contains__, base)))
        return chain(out, self._new.values()) if self._new else out

    def _items(self) -> Iterator[tuple[K, V]]:
        """The items in this mapping's order, as :meth:`_values` (C speed)."""
        base, over = self._base, self._over
        if not over and not self._gone:
            out: Iterator[tuple[K, V]] = iter(base.items())
        else:
            out = zip(base, map(over.get, base, base.values()), strict=True)
            if self._gone:
                out = compress(out, map(not_, map(self._gone.__contains__, base)))
        return chain(out, self._new.items()) if self._new else out

    @property
    def layer_size(self) -> int:
        """Keys on the base's layer (0: the base alone)."""
        return len(self._over) + len(self._gone) + len(self._new)

    def _folded(self) -> dict[K, V]:
        """One dict with the layer applied, in this mapping's order."""
        out = dict(self._base)
        out.update(self._over)
        for key in self._gone:
            del out[key]
        out.update(self._new)
        return out


class _Keys(KeysView[K]):
    """A layered mapping's keys, iterated in C (the default view calls per key)."""

    __slots__ = ()
    _mapping: _Layers[K, object]

    def __iter__(self) -> Iterator[K]:
        return iter(self._mapping)


class _Values(ValuesView[V]):
    """A layered mapping's values, iterated in C (:meth:`_Layers._values`)."""

    __slots__ = ()
    _mapping: _Layers[object, V]

    def __iter__(self) -> Iterator[V]:
        return self._mapping._values()


class _Items(ItemsView[K, V]):
    """A layered mapping's items, iterated in C (:meth:`_Layers._items`)."""

    __slots__ = ()
    _mapping: _Layers[K, V]

    def __iter__(self) -> Iterator[tuple[K, V]]:
        return self._mapping._items()


class Layered(_Layers[K, V]):
    """A mapping no one changes: a base shared with other states and a layer on it."""

    __slots__ = ()

    def __init__(self, base: Mapping[K, V] | None = None) -> None:
        """The mapping ``base`` holds (copied: the caller may change its own)."""
        self._base = dict(base) if base is not None else {}
        self._over, self._gone, self._new = {}, set(), {}
        self._len = len(self._base)

    def __repr__(self) -> str:
        return f"Layered({self._folded()!r})"


class Overlay(_Layers[K, V], MutableMapping[K, V]):
    """One step's changes on a state's mapping; :meth:`freeze` makes the next state's.

    Built on a :class:`Layered` it copies only the layer; on any other mapping it copies
    the mapping once (the next states then share that copy).
    """

    __slots__ = ("_frozen",)

    def __init__(self, start: Mapping[K, V]) -> None:
        if isinstance(start, _Layers):
            self._base = start._base
            self._over, self._gone, self._new = (
                dict(start._over),
                set(start._gone),
                dict(start._new),
            )
            self._len = start._len
        else:
            self._base = dict(start)
            self._over, self._gone, self._new = {}, set(), {}
            self._len = len(self._base)
        self._frozen = False

    def __setitem__(self, key: K, value: V) -> None:
        self._writable()
        if key in self._over:
            self._over[key] = value
        elif key in self._new:
            self._new[key] = value
        elif key in self._base and key not in self._gone:
            self._over[key] = value
        else:
            self._new[key] = value
            self._len += 1

    def __delitem__(self, key: K) -> None:
        self._writable()
        if key in self._over:
            del self._over[key]
            self._gone.add(key)
        elif key in self._new:
            del self._new[key]
        elif key in self._base and key not in self._gone:
            self._gone.add(key)
        else:
            raise KeyError(key)
        self._len -= 1

    def _writable(self) -> None:
        if self._frozen:
            raise TypeError("an overlay is read-only once frozen")

    def freeze(self, fold_min: int = FOLD_MIN) -> Layered[K, V]:
        """The mapping as it is now, for the next state; the overlay is read-only after.

        A layer larger than an eighth of the base and ``fold_min`` is folded into a new
        base, so reads stay quick and the layer stays small.
        """
        self._frozen = True
        out: Layered[K, V] = Layered.__new__(Layered)
        if self.layer_size > max(fold_min, len(self._base) >> 3):
            out._base = self._folded()
            out._over, out._gone, out._new = {}, set(), {}
        else:
            out._base, out._over, out._gone, out._new = (
                self._base,
                self._over,
                self._gone,
                self._new,
            )
        out._len = self._len
        return out

    def __repr__(self) -> str:
        return f"Overlay({self._folded()!r})"


def keys_apart(a: Mapping[K, V], b: Mapping[K, V]) -> set[K] | None:
    """The keys whose value may differ between ``a`` and ``b``; None when not known cheaply.

    Two layered mappings on the very same base (successive states: the step copied no
    base) agree on every key neither layer names, so only their layers' keys can
    differ: a few thousand a cycle, where comparing the mappings walks 100,000.
    """
    if not (isinstance(a, _Layers) and isinstance(b, _Layers)) or a._base is not b._base:
        return None
    return {*a._over, *a._gone, *a._new, *b._over, *b._gone, *b._new}


def with_changes(start: Mapping[K, V], changes: Mapping[K, V]) -> Layered[K, V]:
    """``{**start, **changes}`` as a layered mapping: ``start``'s base is shared, not copied.

    The listing knowledge (150,000 listings at 100,000 products) changes in a few
    thousand keys a cycle, in several steps (the read-back, the step's order lines and
    time-out, each mall's push results); a dict copy of it costs ~3 ms each and its
    freeing as much again a step later. ``start`` is left as it is.
    """
    overlay = Overlay(start)
    for key, value in changes.items():
        overlay[key] = value
    return overlay.freeze()


def plain(mapping: Mapping[K, V]) -> Mapping[K, V]:
    """``mapping`` as a dict when it is layered (one C-level copy), else itself.

    For a pass over every key (a step from scratch): a layered mapping's lookups are
    Python calls, ~0.3 µs each against a dict's ~0.05 µs.
    """
    return dict(mapping.items()) if isinstance(mapping, _Layers) else mapping


def lookup(mapping: Mapping[K, V], keys: Iterable[K]) -> Iterator[V | None]:
    """The value of each of ``keys`` in ``mapping`` (None when missing), in C when it can.

    ``mapping.get`` per key through ``map``: a dict's is C; a layered mapping's is a
    Python call, so :meth:`_Layers.lookup` reads its dicts in C instead.
    """
    if isinstance(mapping, _Layers):
        return mapping.lookup(keys)
    return map(mapping.get, keys)
