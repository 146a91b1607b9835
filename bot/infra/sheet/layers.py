"""Day-long maps held as layers: the settled part shared between reads, the new part apart.

入出庫's settled top grows all day (~200 rows a cycle at 100,000 products, ~48,000 by
the evening) and each read's parse hands on what it found there: movement keys, 反映
marks, fingerprint counts (:class:`~bot.infra.sheet.parse_tabs.MovementsPrefix`). Copied
into every read, that was tens of thousands of entries a cycle for the few hundred new.
A :class:`Layers` is a stack of dicts never changed once stacked; a read stacks its new
entries on the last one's (:meth:`Layers.stacked`), which it shares by reference. Layers
of comparable size are merged as they are stacked (a binary counter): each entry is
copied O(log n) times over the day and a lookup tries O(log n) layers.

:class:`OnLayers` is the map one parse fills: this parse's own entries in a dict of its
own over the layers it started from.

(The engine's :mod:`bot.core.engine.layered` answers a neighbouring need — a mapping a
step overwrites and deletes in, copied per step only in its small layer. This one is
append-only and log-structured, as 入出庫's settled top only grows; the two are not yet
one mechanism.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Generic, Self, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_MISSING = object()


class Layers(Mapping[K, V]):
    """A read-only map made of dicts stacked oldest first; a key lives in one layer only.

    Never changed once built: reads share it by reference.
    """

    __slots__ = ("layers",)

    def __init__(self, layers: tuple[Mapping[K, V], ...] = ()) -> None:
        self.layers = tuple(layer for layer in layers if layer)

    @classmethod
    def of(cls, entries: Mapping[K, V]) -> Self:
        """``entries`` as layers of this kind: itself when it is, else one layer of a copy."""
        return entries if isinstance(entries, cls) else cls((dict(entries),))

    def __getitem__(self, key: K) -> V:
        for layer in reversed(self.layers):
            value = layer.get(key, _MISSING)
            if value is not _MISSING:
                return value  # type: ignore[return-value]
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(key in layer for layer in self.layers)

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        """As :meth:`Mapping.get`, without a KeyError raised and caught for a missing key.

        Most keys a scan of new 入出庫 rows looks up are missing.
        """
        for layer in reversed(self.layers):
            value = layer.get(key, _MISSING)
            if value is not _MISSING:
                return value  # type: ignore[return-value]
        return default

    def __iter__(self) -> Iterator[K]:
        return chain.from_iterable(self.layers)

    def __len__(self) -> int:
        return sum(map(len, self.layers))

    def stacked(self, top: Mapping[K, V]) -> Layers[K, V]:
        """These layers with ``top`` (keys none of them has) stacked on: a new object.

        The newest layers are merged while the one below is at most twice the size of
        what is stacked on it, so the sizes halve going up and there are O(log n).
        """
        if not top:
            return self
        layers = list(self.layers)
        new: Mapping[K, V] = dict(top)
        while layers and len(layers[-1]) <= 2 * len(new):
            new = {**layers.pop(), **new}
        return Layers((*layers, new))


class OnLayers(MutableMapping[K, V]):
    """One parse's map: its own entries (:attr:`own`) over shared :class:`Layers`.

    Written entries go to :attr:`own`; the layers below are never changed.
    """

    __slots__ = ("base", "own")

    def __init__(self, base: Layers[K, V] | None = None) -> None:
        self.base: Layers[K, V] = base if base is not None else Layers()
        self.own: dict[K, V] = {}

    def __getitem__(self, key: K) -> V:
        value = self.own.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        return self.base[key]

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        value = self.own.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        return self.base.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.own or key in self.base

    def __setitem__(self, key: K, value: V) -> None:
        self.own[key] = value

    def __delitem__(self, key: K) -> None:
        if key in self.base:
            raise TypeError("an entry of the shared layers cannot be deleted")
        del self.own[key]

    def __iter__(self) -> Iterator[K]:
        if not self.base:
            return iter(self.own)
        return chain(self.base, (k for k in self.own if k not in self.base))

    def __len__(self) -> int:
        if not self.base:
            return len(self.own)
        return len(self.base) + sum(1 for k in self.own if k not in self.base)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"


class Counts(Layers[K, int]):
    """Counts held as layers: a key's count is the sum of its counts in every layer."""

    __slots__ = ()

    def __getitem__(self, key: K) -> int:
        found = [layer[key] for layer in self.layers if key in layer]
        if not found:
            raise KeyError(key)
        return sum(found)

    def get(self, key: K, default: int | None = None) -> int | None:  # type: ignore[override]
        """As :meth:`Mapping.get` (a new row's fingerprint is in no layer: no KeyError)."""
        found = [layer[key] for layer in self.layers if key in layer]
        return sum(found) if found else default

    def __iter__(self) -> Iterator[K]:
        return iter(dict.fromkeys(chain.from_iterable(self.layers)))

    def __len__(self) -> int:
        return len(dict.fromkeys(chain.from_iterable(self.layers)))

    def stacked(self, top: Mapping[K, int]) -> Counts[K]:
        """These counts with ``top`` added: a new object (layers merged as for Layers)."""
        if not top:
            return self
        layers = list(self.layers)
        new = dict(top)
        while layers and len(layers[-1]) <= 2 * len(new):
            below = dict(layers.pop())
            for key, n in new.items():
                below[key] = below.get(key, 0) + n
            new = below
        return Counts((*layers, new))


@dataclass(frozen=True, eq=False)
class Grown(Generic[V]):
    """A list that only grows, shared by the reads it grew through.

    Each view sees the first :attr:`length` items (:meth:`items`); the list itself may
    hold more. Growing the newest view extends the list in place (the older views do not see it);
    growing an older one copies its items first.
    """

    shared: list[V] = field(default_factory=list)
    length: int = 0

    def grown(self, more: Iterable[V]) -> Grown[V]:
        """A new view: this one's items, then ``more``."""
        shared = self.shared if len(self.shared) == self.length else self.shared[: self.length]
        shared.extend(more)
        return Grown(shared, len(shared))

    def items(self) -> list[V]:
        """The items of this view (a copy)."""
        return self.shared[: self.length]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grown) and self.items() == other.items()

    __hash__ = None  # type: ignore[assignment]
