"""How a tab keeps its cells: immutable rows of atoms, shared styles, and an undo journal.

A 100,000-row 商品マスタ must fit in little memory, cost the garbage collector nothing,
and a write must cost what it touches, so the storage is shaped for that:

- A tab holds a list of rows; a row is a tuple of slots (``None`` for an empty cell),
  so a ranged read slices the rows and columns it names and never walks the tab.
- A slot holds a bare scalar (``str``, ``int``, ``float``, ``bool``) when the cell is
  only a value, which is what most cells are; else a :data:`Rich` tuple ``(value,
  formula, format id, note, validation id, computed)``. Requests work on
  :class:`_Cell` objects; the tab turns them into slots and back.
- Formats and validation rules live once per book in :class:`_Styles`; a slot holds
  their number. Ten thousand cells formatted alike share one mapping, and a row holds
  only strings, numbers and ``None``, so CPython stops tracking it for garbage
  collection: a big book adds nothing to every collection's walk.
- A write runs inside a transaction (:class:`_Journal`): replacing a row in a row list
  that existed before the transaction logs the row it replaced; a failing request puts
  them back, so ``:batchUpdate`` stays all-or-nothing without copying the book.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Scalar = str | int | float | bool


@dataclass(frozen=True, slots=True)
class _Cell:
    """One cell as requests read and write it; immutable."""

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

Rich = tuple[Scalar | None, str | None, int | None, str | None, int | None, Scalar | None]
"""A stored cell with more than a value: (value, formula, format id, note, rule id,
computed), ids into the book's :class:`_Styles`."""
Slot = Scalar | Rich
"""What a row holds for a cell; a bare scalar is a cell holding only that value."""
Row = tuple[Slot | None, ...]


def _trim(slots: Sequence[Slot | None]) -> Row | None:
    """A row of ``slots`` without trailing empty slots (None when nothing is left)."""
    end = len(slots)
    while end and slots[end - 1] is None:
        end -= 1
    return tuple(slots[:end]) if end else None


def _has_value(slot: Slot | None) -> bool:
    if slot is None:
        return False
    if type(slot) is tuple:
        return slot[0] is not None or slot[1] is not None
    return True


def _row_has_value(row: Row | None, c0: int = 0, c1: int | None = None) -> bool:
    """Whether any slot of ``row[c0:c1]`` holds a value."""
    if not row:
        return False
    for slot in row[c0:c1]:
        if slot is not None and (
            type(slot) is not tuple or slot[0] is not None or slot[1] is not None
        ):
            return True
    return False


def _value_parts(slot: Slot | None) -> tuple[Scalar | None, str | None, Scalar | None]:
    """(value, formula, computed) of a slot, without resolving its styles."""
    if slot is None:
        return None, None, None
    if isinstance(slot, tuple):
        return slot[0], slot[1], slot[5]
    return slot, None, None


class _Styles:
    """Formats and validation rules of a book, each stored once and named by a number."""

    def __init__(self) -> None:
        self._table: list[Mapping[str, Any]] = []
        self._index: dict[str, int] = {}
        self._known: dict[int, tuple[Mapping[str, Any], int]] = {}

    def id_of(self, mapping: Mapping[str, Any] | None) -> int | None:
        """The number of a mapping equal to ``mapping`` (None for none or ``{}``)."""
        if not mapping:
            return None
        known = self._known.get(id(mapping))
        if known is not None and known[0] is mapping:
            return known[1]
        key = json.dumps(mapping, sort_keys=True, ensure_ascii=False)
        number = self._index.get(key)
        if number is None:
            number = len(self._table)
            self._table.append(mapping)
            self._index[key] = number
            self._known[id(mapping)] = (mapping, number)
        return number

    def canonical(self, mapping: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """The shared mapping equal to ``mapping``."""
        number = self.id_of(mapping)
        return None if number is None else self._table[number]

    def get(self, number: int | None) -> Mapping[str, Any] | None:
        return None if number is None else self._table[number]

    def copy(self) -> _Styles:
        out = _Styles()
        out._table = list(self._table)
        out._index = dict(self._index)
        out._known = dict(self._known)
        return out

    def __getstate__(self) -> dict[str, Any]:
        # Object ids mean nothing in another process: keep the table, rebuild the rest.
        return {"table": self._table}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._table = state["table"]
        self._index = {
            json.dumps(m, sort_keys=True, ensure_ascii=False): i for i, m in enumerate(self._table)
        }
        self._known = {id(m): (m, i) for i, m in enumerate(self._table)}


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

    ``undo`` holds ``(row_list, index, old_row)`` for every row replaced in a row list
    that existed before the transaction, and ``(row_list, length)`` for every such list
    that grew. Row lists made inside the transaction (``fresh``, by id and kept alive)
    change without being logged; rows are immutable tuples and never change.
    """

    def __init__(self, book: _BookState, sheets: list[_SheetState]) -> None:
        self.book = book
        self.sheets = sheets
        self.undo: list[tuple[Any, ...]] = []
        self.fresh: dict[int, list[Any]] = {}

    def is_fresh(self, rows: list[Any]) -> bool:
        return self.fresh.get(id(rows)) is rows

    def adopt(self, rows: list[Any]) -> None:
        """Mark a row list as made inside this transaction."""
        self.fresh[id(rows)] = rows

    def roll_back_rows(self) -> None:
        """Undo every logged row replacement and list growth, newest first."""
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
