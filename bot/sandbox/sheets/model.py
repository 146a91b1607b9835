"""The emulator's state: books, tabs and cells, Google's limits and Google-shaped errors.

Every other module of the emulator works on these types. A :class:`_Book` is the whole
spreadsheet (tabs, developer metadata, an id counter); a :class:`_Sheet` holds one tab's
properties, its cells by ``(row, column)``, protected ranges, conditional formats and
row/column properties. Cells are immutable (:class:`_Cell`), so cloning a book for an
all-or-nothing write copies each tab's dict shallowly and stays cheap on a 10,000-row tab.

Errors are raised as :class:`_ApiError` and turned into Google's JSON error body by the
transport; the small field validators (``_int``, ``_index``, ``_enum``) live here because
every request handler uses them to answer 400 the way the API does.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

DEFAULT_ROW_COUNT = 1000
"""Grid size of a new tab when the request does not say (Google's default)."""
DEFAULT_COLUMN_COUNT = 26
MAX_CELLS = 10_000_000
"""Cells per spreadsheet across all tabs (Google's published limit)."""
MAX_COLUMNS = 18_278
"""Column ZZZ."""
RenderOption = Literal["FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"]
Scalar = str | int | float | bool
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


@dataclass(frozen=True, slots=True)
class _Cell:
    """One cell; immutable so a book copy can share cells between versions."""

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


@dataclass
class _Sheet:
    props: JSON
    cells: dict[tuple[int, int], _Cell] = field(default_factory=dict)
    protected: list[JSON] = field(default_factory=list)
    cond_formats: list[JSON] = field(default_factory=list)
    dims: dict[str, dict[int, JSON]] = field(default_factory=lambda: {"ROWS": {}, "COLUMNS": {}})

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

    def clone(self) -> _Sheet:
        return _Sheet(
            props=copy.deepcopy(self.props),
            cells=dict(self.cells),
            protected=copy.deepcopy(self.protected),
            cond_formats=copy.deepcopy(self.cond_formats),
            dims={k: copy.deepcopy(v) for k, v in self.dims.items()},
        )

    def last_data_row(self) -> int:
        """0-based index of the last row holding a value, -1 for an empty tab."""
        return max((r for (r, _), cell in self.cells.items() if cell.has_value), default=-1)

    def put(self, key: tuple[int, int], cell: _Cell | None) -> None:
        if cell is None or cell.is_empty:
            self.cells.pop(key, None)
        else:
            self.cells[key] = cell


@dataclass
class _Book:
    id: str
    props: JSON
    sheets: list[_Sheet]
    dev_meta: list[JSON] = field(default_factory=list)
    counter: int = 0

    def clone(self) -> _Book:
        return _Book(
            id=self.id,
            props=copy.deepcopy(self.props),
            sheets=[s.clone() for s in self.sheets],
            dev_meta=copy.deepcopy(self.dev_meta),
            counter=self.counter,
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
