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

from collections.abc import Hashable, Iterator, Mapping, MutableMapping
from itertools import chain, filterfalse
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
        value = self._over.get(key, _MISSING)
        if value is not _MISSING:
            return value
        value = self._new.get(key, _MISSING)
        if value is not _MISSING:
            return value
        if key in self._gone:
            return default
        return self._base.get(key, default)

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


def shares_base(a: Mapping[K, V], b: Mapping[K, V]) -> bool:
    """Both are layered mappings on the very same base (the step copied no base)."""
    return isinstance(a, _Layers) and isinstance(b, _Layers) and a._base is b._base
