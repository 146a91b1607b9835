"""How a tab keeps its cells: rows of compact cells, shared formats, and an undo journal.

A 100,000-row 商品マスタ must fit in little memory and a write must cost what it
touches, so the storage is shaped for that:

- A tab holds a list of rows, each row a list of cell slots (``None`` for an empty
  cell), so a ranged read slices the rows and columns it names and never walks the tab.
- A slot holds a bare scalar (``str``, ``int``, ``float``, ``bool``) when the cell is
  only a value, which is what most cells are; a :class:`_Cell` otherwise (a formula, a
  format, a note or a validation rule).
- Formats and validation rules are interned per book (:class:`_Styles`): ten thousand
  cells formatted alike share one mapping. Stored mappings are never changed in place.
- A write runs inside a transaction (:class:`_Journal`). The first change to a row made
  before the transaction copies that row (a few dozen pointers) and remembers the
  original; rows and row lists created inside the transaction are changed in place. A
  failing request rolls every change back, so ``:batchUpdate`` stays all-or-nothing
  without copying the book.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class _Cell:
    """One cell with more than a value; immutable, so versions and rows can share it."""

    value: Scalar | None = None
    formula: str | None = None
    fmt: Mapping[str, Any] | None = None
    note: str | None = None
    validation: Mapping[str, Any] | None = None
    computed: Scalar | None = None

    @property
    def has_value(self) -> bool:
        return self.value is not None or self.formula is not None

    @property
    def is_empty(self) -> bool:
        return not self.has_value and not self.fmt and self.note is None and not self.validation


_EMPTY = _Cell()

Stored = _Cell | Scalar
"""What a row slot holds: a bare scalar is a cell holding only that value."""
Row = list[Stored | None]


def _full(stored: Stored | None) -> _Cell | None:
    """The :class:`_Cell` a slot stands for (``None`` for an empty slot)."""
    if stored is None or type(stored) is _Cell:
        return stored
    return _Cell(value=stored)  # type: ignore[arg-type]


def _has_value(stored: Stored | None) -> bool:
    if stored is None:
        return False
    if type(stored) is _Cell:
        return stored.has_value
    return True


def _row_has_value(row: Row | None, c0: int = 0, c1: int | None = None) -> bool:
    """Whether any slot of ``row[c0:c1]`` holds a value."""
    if not row:
        return False
    for stored in row[c0:c1]:
        if stored is not None and (type(stored) is not _Cell or stored.has_value):
            return True
    return False


class _Styles:
    """Formats and validation rules interned per book: equal mappings share one object."""

    def __init__(self) -> None:
        self._by_key: dict[str, Mapping[str, Any]] = {}
        self._known: dict[int, Mapping[str, Any]] = {}

    def intern(self, mapping: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """The shared mapping equal to ``mapping`` (``None`` and ``{}`` stay as they are)."""
        if not mapping:
            return mapping
        if self._known.get(id(mapping)) is mapping:
            return mapping
        key = json.dumps(mapping, sort_keys=True, ensure_ascii=False)
        shared = self._by_key.setdefault(key, mapping)
        self._known[id(shared)] = shared
        return shared

    def copy(self) -> _Styles:
        out = _Styles()
        out._by_key = dict(self._by_key)
        out._known = dict(self._known)
        return out

    def __getstate__(self) -> dict[str, Any]:
        # Object ids mean nothing in another process: keep the table, rebuild the index.
        return {"by_key": self._by_key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._by_key = state["by_key"]
        self._known = {id(m): m for m in self._by_key.values()}


@dataclass
class _SheetState:
    """What a transaction restores of one tab: its metadata and its row list."""

    sheet: Any
    props: Any
    protected: Any
    cond_formats: Any
    dims: Any
    rows: list[Row | None]


@dataclass
class _BookState:
    props: Any
    dev_meta: Any
    counter: int
    sheets: list[Any]


class _Journal:
    """The undo log of one transaction.

    ``undo`` holds ``(row_list, index, old_slot)`` for every slot of a row list that
    existed before the transaction and was replaced, and ``(row_list, length)`` for every
    such list that grew; ``fresh`` holds (by id, kept alive) the rows and row lists made
    inside the transaction, which are changed in place without being logged.
    """

    def __init__(self, book: _BookState, sheets: list[_SheetState]) -> None:
        self.book = book
        self.sheets = sheets
        self.undo: list[tuple[Any, ...]] = []
        self.fresh: dict[int, list[Any]] = {}

    def is_fresh(self, obj: list[Any]) -> bool:
        return self.fresh.get(id(obj)) is obj

    def adopt(self, obj: list[Any]) -> None:
        """Mark a row or row list as made inside this transaction."""
        self.fresh[id(obj)] = obj

    def roll_back_slots(self) -> None:
        """Undo every logged slot change and list growth, newest first."""
        for entry in reversed(self.undo):
            if len(entry) == 3:
                rows, index, old = entry
                rows[index] = old
            else:
                rows, length = entry
                del rows[length:]


class _Shared:
    """Per-book state every tab of the book points at: its styles and open transaction."""

    def __init__(self) -> None:
        self.styles = _Styles()
        self.journal: _Journal | None = None

    def __getstate__(self) -> dict[str, Any]:
        if self.journal is not None:
            raise RuntimeError("cannot pickle a book in the middle of a write")
        return {"styles": self.styles}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.styles = state["styles"]
        self.journal = None


def _copy_json(obj: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars); faster than deepcopy."""
    if isinstance(obj, dict):
        return {k: _copy_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy_json(v) for v in obj]
    return obj
