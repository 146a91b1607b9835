"""The emulator's state: books, tabs and cells, Google's limits and Google-shaped errors.

Every other module of the emulator works on these types. A :class:`_Book` is the whole
spreadsheet (tabs, developer metadata, an id counter); a :class:`_Sheet` holds one tab's
properties, its rows of cells, protected ranges, conditional formats and row/column
properties. How cells are kept (compact rows, shared formats, the undo journal that makes
every write all-or-nothing without copying the book) is :mod:`~bot.sandbox.sheets.store`.

Errors are raised as :class:`_ApiError` and turned into Google's JSON error body by the
transport; the small field validators (``_int``, ``_index``, ``_enum``) live here because
every request handler uses them to answer 400 the way the API does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from bot.sandbox.sheets.store import (
    _EMPTY,
    Row,
    Scalar,
    Slot,
    _BookState,
    _Cell,
    _copy_json,
    _Journal,
    _row_has_value,
    _Shared,
    _SheetState,
    _trim,
)

__all__ = ["_EMPTY", "Scalar", "_Cell"]

DEFAULT_ROW_COUNT = 1000
"""Grid size of a new tab when the request does not say (Google's default)."""
DEFAULT_COLUMN_COUNT = 26
MAX_CELLS = 10_000_000
"""Cells per spreadsheet across all tabs (Google's published limit)."""
MAX_COLUMNS = 18_278
"""Column ZZZ."""
MAX_CELL_CHARS = 50_000
"""Characters in one cell (the Drive size-limits page, support.google.com/drive/answer/37603;
UNCONFIRMED in ``api/google-sheets.md`` §1). Google refuses longer input with a 400,
"Your input contains more than the maximum of 50000 characters in a single cell."
(as reported in github.com/freelabz/secator/issues/96)."""
RenderOption = Literal["FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"]
JSON = dict[str, Any]

_STATUS_NAMES: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: (
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
    ),
    403: ("PERMISSION_DENIED", "The caller does not have permission"),
    404: ("NOT_FOUND", "Requested entity was not found."),
    409: ("ABORTED", "The operation was aborted."),
    429: ("RESOURCE_EXHAUSTED", ""),
    500: ("INTERNAL", "Internal error encountered."),
    503: ("UNAVAILABLE", "The service is currently unavailable."),
    504: ("DEADLINE_EXCEEDED", "The request timed out."),
}


class _ApiError(Exception):
    """A Google-shaped error: ``{"error": {"code", "message", "status"}}``."""

    def __init__(self, code: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS_NAMES.get(code, ("UNKNOWN", ""))[0]

    def body(self) -> JSON:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def _bad(message: str) -> _ApiError:
    return _ApiError(400, message)


def _too_many_cells() -> _ApiError:
    return _bad(
        "This action would increase the number of cells in the workbook above the limit "
        f"of {MAX_CELLS} cells."
    )


def _check_length(text: str) -> str:
    """``text`` if it fits in one cell, else Google's 400 (see :data:`MAX_CELL_CHARS`)."""
    if len(text) > MAX_CELL_CHARS:
        raise _bad(
            f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters "
            "in a single cell."
        )
    return text


@dataclass
class _Sheet:
    """One tab: properties, rows of cells (see :mod:`~bot.sandbox.sheets.store`), rules.

    Cells are read with :meth:`stored`, :meth:`row`, :meth:`cell`, :meth:`cells_in` and
    :meth:`items`, and written only with :meth:`put`, :meth:`set_row` and
    :meth:`set_rows`, which keep the book's open transaction able to roll back.
    """

    props: JSON
    rows: list[Row | None] = field(default_factory=list)
    protected: list[JSON] = field(default_factory=list)
    cond_formats: list[JSON] = field(default_factory=list)
    dims: dict[str, dict[int, JSON]] = field(default_factory=lambda: {"ROWS": {}, "COLUMNS": {}})
    shared: _Shared = field(default_factory=_Shared, repr=False)

    @property
    def sheet_id(self) -> int:
        return int(self.props["sheetId"])

    @property
    def title(self) -> str:
        return str(self.props["title"])

    @property
    def grid(self) -> JSON:
        return cast(JSON, self.props.setdefault("gridProperties", {}))

    @property
    def row_count(self) -> int:
        return int(self.grid.get("rowCount", DEFAULT_ROW_COUNT))

    @property
    def col_count(self) -> int:
        return int(self.grid.get("columnCount", DEFAULT_COLUMN_COUNT))

    def count(self, dim: str) -> int:
        return self.row_count if dim == "ROWS" else self.col_count

    def set_count(self, dim: str, n: int) -> None:
        self.grid["rowCount" if dim == "ROWS" else "columnCount"] = n

    def clone(self, shared: _Shared) -> _Sheet:
        """An independent copy (rows are immutable and shared; ``shared`` has the styles)."""
        return _Sheet(
            props=_copy_json(self.props),
            rows=self.rows[:],
            protected=_copy_json(self.protected),
            cond_formats=_copy_json(self.cond_formats),
            dims={k: _copy_json(v) for k, v in self.dims.items()},
            shared=shared,
        )

    # -- reading ------------------------------------------------------------------

    def stored(self, r: int, c: int) -> Slot | None:
        """What the tab holds for cell (r, c): a bare scalar, a :data:`Rich` tuple or None."""
        rows = self.rows
        if r >= len(rows):
            return None
        row = rows[r]
        if row is None or c >= len(row):
            return None
        return row[c]

    def row(self, r: int) -> Row:
        """Row ``r`` (an empty tuple when it holds nothing)."""
        rows = self.rows
        return (rows[r] or ()) if r < len(rows) else ()

    def full(self, slot: Slot | None) -> _Cell | None:
        """The :class:`_Cell` a slot stands for."""
        if slot is None:
            return None
        if not isinstance(slot, tuple):
            return _Cell(value=slot)
        styles = self.shared.styles
        value, formula, fmt, note, rule, computed = slot
        return _Cell(value, formula, styles.get(fmt), note, styles.get(rule), computed)

    def cell(self, r: int, c: int) -> _Cell | None:
        return self.full(self.stored(r, c))

    def cells_in(self, r0: int, r1: int, c0: int, c1: int) -> Iterator[tuple[int, int, Slot]]:
        """Non-empty slots of a rectangle, row by row; visits only its rows and columns."""
        rows = self.rows
        for r in range(r0, min(r1, len(rows))):
            row = rows[r]
            if not row:
                continue
            for j, slot in enumerate(row[c0:c1]):
                if slot is not None:
                    yield r, c0 + j, slot

    def items(self) -> Iterator[tuple[int, int, _Cell]]:
        """Every cell of the tab as a :class:`_Cell`, row by row (whole-tab operations)."""
        for r, c, slot in self.cells_in(0, len(self.rows), 0, MAX_COLUMNS):
            cell = self.full(slot)
            assert cell is not None
            yield r, c, cell

    def last_data_row(self) -> int:
        """0-based index of the last row holding a value, -1 for an empty tab."""
        rows = self.rows
        for r in range(len(rows) - 1, -1, -1):
            if _row_has_value(rows[r]):
                return r
        return -1

    # -- writing ------------------------------------------------------------------

    def compact(self, cell: _Cell | None) -> Slot | None:
        """The slot form of ``cell``: None if empty, a bare scalar if only a value."""
        if cell is None:
            return None
        fmt, rule = cell.fmt, cell.validation
        if cell.formula is None and not fmt and cell.note is None and not rule:
            return cell.value
        styles = self.shared.styles
        return (
            cell.value,
            cell.formula,
            styles.id_of(fmt),
            cell.note,
            styles.id_of(rule),
            cell.computed if cell.formula is not None else None,
        )

    def set_row(self, r: int, slots: Sequence[Slot | None]) -> None:
        """Replace row ``r`` (trailing empty slots dropped); logged for a rollback."""
        new = _trim(slots)
        rows = self.rows
        journal = self.shared.journal
        if journal is not None and journal.is_fresh(rows):
            journal = None
        if r >= len(rows):
            if new is None:
                return
            if journal is not None:
                journal.undo.append((rows, len(rows)))
            rows.extend([None] * (r + 1 - len(rows)))
        if journal is not None:
            journal.undo.append((rows, r, rows[r]))
        rows[r] = new

    def put(self, r: int, c: int, cell: _Cell | None) -> None:
        """Write one cell (None or an empty cell clears it)."""
        slot = self.compact(cell)
        row = self.row(r)
        if slot is None and c >= len(row):
            return
        line = list(row)
        if c >= len(line):
            line.extend([None] * (c + 1 - len(line)))
        line[c] = slot
        self.set_row(r, line)

    def set_rows(self, rows: list[Row | None]) -> None:
        """Replace the row list (inserting, deleting, sorting rows or columns)."""
        journal = self.shared.journal
        if journal is not None:
            journal.adopt(rows)
        self.rows = rows


@dataclass
class _Book:
    id: str
    props: JSON
    sheets: list[_Sheet]
    dev_meta: list[JSON] = field(default_factory=list)
    counter: int = 0
    shared: _Shared = field(default_factory=_Shared, repr=False)

    def new_sheet(self, props: JSON) -> _Sheet:
        """A tab of this book (not yet placed in :attr:`sheets`)."""
        return _Sheet(props=props, shared=self.shared)

    def clone(self) -> _Book:
        """An independent copy of the book (cells and styles are immutable and shared)."""
        shared = _Shared()
        shared.styles = self.shared.styles.copy()
        return _Book(
            id=self.id,
            props=_copy_json(self.props),
            sheets=[s.clone(shared) for s in self.sheets],
            dev_meta=_copy_json(self.dev_meta),
            counter=self.counter,
            shared=shared,
        )

    def next_number(self) -> int:
        """Deterministic ids (sheetId, protectedRangeId, metadataId) that look random."""
        self.counter += 1
        digest = hashlib.sha256(f"{self.id}:{self.counter}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % 1_999_999_999 + 1

    def sheet_by_id(self, sheet_id: Any) -> _Sheet:
        for sheet in self.sheets:
            if sheet.props["sheetId"] == sheet_id:
                return sheet
        raise _bad(f"No grid with id: {sheet_id}")

    def sheet_by_title(self, title: str) -> _Sheet | None:
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        folded = title.casefold()
        for sheet in self.sheets:
            if sheet.title.casefold() == folded:
                return sheet
        return None

    def reindex(self) -> None:
        for i, sheet in enumerate(self.sheets):
            sheet.props["index"] = i

    def total_cells(self) -> int:
        return sum(s.row_count * s.col_count for s in self.sheets)

    # -- transactions ---------------------------------------------------------------

    def begin(self) -> None:
        """Open a transaction: every change until :meth:`commit` can be rolled back."""
        if self.shared.journal is not None:
            raise RuntimeError("a write is already in progress on this book")
        self.shared.journal = _Journal(
            _BookState(
                _copy_json(self.props), _copy_json(self.dev_meta), self.counter, [*self.sheets]
            ),
            [
                _SheetState(
                    s,
                    _copy_json(s.props),
                    _copy_json(s.protected),
                    _copy_json(s.cond_formats),
                    {k: _copy_json(v) for k, v in s.dims.items()},
                    s.rows,
                )
                for s in self.sheets
            ],
        )

    def commit(self) -> None:
        self.shared.journal = None

    def roll_back(self) -> None:
        """Put the book back as it was when :meth:`begin` ran."""
        journal = self.shared.journal
        if journal is None:
            return
        self.shared.journal = None
        journal.roll_back_rows()
        saved = journal.book
        self.props, self.dev_meta, self.counter = saved.props, saved.dev_meta, saved.counter
        self.sheets = saved.sheets
        for state in journal.sheets:
            sheet = state.sheet
            sheet.props, sheet.protected = state.props, state.protected
            sheet.cond_formats, sheet.dims, sheet.rows = state.cond_formats, state.dims, state.rows


def _int(v: Any, name: str, default: int | None = None) -> int | None:
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise _bad(f"Invalid {name}: {v!r}")
    return v


def _index(v: Any, name: str, default: int) -> int:
    """A non-negative integer field of a request, ``default`` when absent."""
    value = _int(v, name, default)
    return default if value is None else value


def _enum(value: Any, allowed: Sequence[str], name: str, default: str) -> str:
    if value is None or value == "":
        return default
    if value not in allowed:
        raise _bad(f"Invalid value at '{name}' (TYPE_ENUM), \"{value}\"")
    return str(value)


@dataclass
class _Options:
    strict_metadata_filters: bool = False
