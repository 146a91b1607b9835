"""In-memory Google Sheets API v4 for tests and the demo (ARCHITECTURE.md §6).

Why an emulator and not mocks: the gateway under test must be exactly the production
code, down to the URLs gspread builds and the JSON it parses. So this module answers
HTTP: :class:`SheetsEmulator` is a ``requests`` transport adapter mounted on
``https://sheets.googleapis.com/`` of a ``requests.Session``, and real gspread 6.2.1
talks to it unmodified. Everything else on that session is refused loudly
(:class:`DenyAllAdapter`), so a test can never reach the network by accident.

The book it holds is a real state machine (cells, formats, protected ranges, validation,
developer metadata), so tests assert on state, not on calls. It also plays the parts a
test needs to be honest about Google: request counting for quota figures, injected
429/5xx faults, a per-minute quota, "the write landed but the response was lost", and
staff edits made between two API calls.

Choices where the real API is unknown, out of scope or deliberately strict
(see also ``docs/api/google-sheets.md`` §5, "fidelity gaps"):

- Writes through the *values* API (update, append, batchUpdate) grow the grid, rows and
  columns, when they run past it; ``updateCells``, ``repeatCell`` and the other
  ``:batchUpdate`` requests answer 400 for a bounded range outside the grid (unbounded
  ranges are clipped). ``appendCells`` grows rows only.
- ``values:append`` finds the "table" like Google describes it: the contiguous run of rows
  with data that starts at the first row holding data at or below the range's first row
  (in the range's columns), and writes after it; a single-cell range whose row is empty
  is written in place (which is what gspread's ``insert_rows`` relies on). Blank rows
  inside data therefore end the table, as on the real service (UNCONFIRMED detail).
- Every write works on a copy of the book and is swapped in only on success, so
  ``:batchUpdate`` and ``values:batchUpdate`` are all-or-nothing. Cells are immutable
  values, so the copy is shallow per tab and stays cheap on a 10,000-row tab.
- USER_ENTERED parses like the UI in a ja_JP sheet: ``=…`` formulas, numbers (``1,234``,
  ``10%``, ``¥1,000``; full-width digits stay text), ``TRUE``/``FALSE``, ISO-like dates
  and times (stored as serial numbers with a DATE/TIME format, exactly the pitfall a
  reader must handle), and a leading ``'`` forces text. A cell whose number format is
  TEXT stores what was typed verbatim.
- Formulas are never evaluated: a formula cell renders the value a test set with
  :meth:`SheetsEmulator.set_computed`, else its formula text.
- Number formatting is a small subset (``#,##0.00``, percent, currency prefixes, date and
  time patterns); enough for FORMATTED_VALUE reads to look like the real thing.
- Response ranges quote a tab title only when A1 needs it (``Sheet1!A1:B2``,
  ``'商品マスタ'!A1:Z1000``), as Google does.
- Validation and protection are stored, never enforced (also as on the real service for
  the bot's own writes to warning-only ranges).
- ``updateDeveloperMetadata``/``deleteDeveloperMetadata`` whose filter matches nothing
  succeed with an empty reply; ``strict_metadata_filters=True`` makes them fail the whole
  batch instead (the compare-and-set trick the API doc lists as UNCONFIRMED).
- Every request that reaches the emulator is recorded and counted, including injected
  failures; the quota window counts only requests it accepted.
- ``:batchUpdate`` answers with ``updatedSpreadsheet`` when asked
  (``includeSpreadsheetInResponse``, ``responseRanges``, ``responseIncludeGridData``),
  read after all its requests in the same atomic step. The ``fields`` system parameter
  trims any answer to what it names, and a mask selecting grid data returns it whatever
  the include flag says (documented for both flags). GridData leaves out a zero
  ``startRow``/``startColumn``, as proto3 JSON leaves out zero ints (UNCONFIRMED detail).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import parse_qs, unquote, urlsplit

import gspread
import requests
from gspread.http_client import HTTPClient
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response
from requests.structures import CaseInsensitiveDict

from bot.infra.clock import Clock, RealClock

__all__ = [
    "DEFAULT_COLUMN_COUNT",
    "DEFAULT_ROW_COUNT",
    "SHEETS_PREFIX",
    "DenyAllAdapter",
    "NetworkDenied",
    "RequestRecord",
    "SheetsEmulator",
    "export_xlsx",
]

SHEETS_PREFIX = "https://sheets.googleapis.com/"
"""Where gspread sends every Sheets v4 call; the emulator is mounted here."""
_API_PATH = "/v4/spreadsheets/"

DEFAULT_ROW_COUNT = 1000
"""Grid size of a new tab when the request does not say (Google's default)."""
DEFAULT_COLUMN_COUNT = 26
MAX_CELLS = 10_000_000
"""Cells per spreadsheet across all tabs (Google's published limit)."""
MAX_COLUMNS = 18_278
"""Column ZZZ."""
QUOTA_WINDOW_SECONDS = 60.0

Kind = Literal["read", "write"]
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


def _quota_message(kind: Kind) -> str:
    """The 429 text Google sends for a service account over its per-user minute."""
    metric = "Read requests" if kind == "read" else "Write requests"
    return (
        f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' "
        "of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'."
    )


# --------------------------------------------------------------------------- plumbing


class NetworkDenied(RuntimeError):
    """A test tried to reach a host other than the emulated Sheets API.

    Deliberately not a ``requests`` exception: production code catches those and
    retries, and a test that wandered onto the network must fail at once instead.
    """


class DenyAllAdapter(BaseAdapter):
    """Transport for every host but Sheets in tests: refuses each request loudly."""

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Raise :class:`NetworkDenied` naming the request."""
        raise NetworkDenied(
            f"tests never reach the network; refused {request.method} {request.url}"
        )

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class RequestRecord:
    """One HTTP call the emulator saw, for quota figures and race tests."""

    method: str
    path: str
    """URL path as sent (still percent-encoded)."""
    kind: Kind
    """Quota bucket: ``read`` for GETs, ``write`` for everything else."""
    op: str
    """API method, e.g. ``values.batchGet`` or ``spreadsheets.batchUpdate``."""
    spreadsheet_id: str
    ranges: tuple[str, ...] = ()
    """Decoded A1 ranges the call named (values calls)."""
    request_types: tuple[str, ...] = ()
    """Request kinds of a ``:batchUpdate`` (``updateCells``, ``appendCells``, …)."""
    timestamp: float = 0.0
    """``clock.monotonic()`` when the call arrived."""
    timeout: Any = None
    """The timeout requests passed down (so tests can assert one was set)."""
    status: int = 0
    """HTTP status answered (0 while in flight; 200 also for an apply-then-timeout)."""


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


# --------------------------------------------------------------------------- model


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


# --------------------------------------------------------------------------- A1 notation


@dataclass(frozen=True)
class _Area:
    """A rectangle of a tab: 0-based, end-exclusive; ``None`` ends are unbounded."""

    r0: int
    r1: int | None
    c0: int
    c1: int | None
    single: bool = False
    """A lone cell (``A1``): an anchor that a values write may run past."""


_WHOLE = _Area(0, None, 0, None)
_CELL_RE = re.compile(r"^\$?([A-Za-z]{1,3})?\$?([1-9][0-9]*)?$")


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def _col_letters(index: int) -> str:
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _split_sheet(text: str) -> tuple[str | None, str | None]:
    """``'It''s'!A1`` → (``It's``, ``A1``); ``A1`` → (None, ``A1``); ``'T'`` → (``T``, None)."""
    if text.startswith("'"):
        name: list[str] = []
        i = 1
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if text[i + 1 : i + 2] == "'":
                    name.append("'")
                    i += 2
                    continue
                break
            name.append(ch)
            i += 1
        else:
            raise _bad(f"Unable to parse range: {text}")
        rest = text[i + 1 :]
        if rest == "":
            return "".join(name), None
        if rest.startswith("!") and len(rest) > 1:
            return "".join(name), rest[1:]
        raise _bad(f"Unable to parse range: {text}")
    if "!" in text:
        title, _, cells = text.rpartition("!")
        if not title or not cells:
            raise _bad(f"Unable to parse range: {text}")
        return title, cells
    return None, text


def _cell_token(text: str) -> tuple[int | None, int | None] | None:
    """``B3`` → (1, 2); ``B`` → (1, None); ``3`` → (None, 2); anything else → None."""
    m = _CELL_RE.match(text)
    if m is None:
        return None
    col, row = m.groups()
    if col is None and row is None:
        return None
    return (_col_index(col) if col else None), (int(row) - 1 if row else None)


def _parse_cells(a1: str) -> _Area | None:
    """The cell part of an A1 range (``A1``, ``A1:B2``, ``A:C``, ``A2:A``, ``1:1``, ``A2:2``)."""
    start, sep, end = a1.strip().partition(":")
    first = _cell_token(start)
    if first is None:
        return None
    cs, rs = first
    if not sep:
        if cs is None or rs is None:
            return None
        return _Area(rs, rs + 1, cs, cs + 1, single=True)
    second = _cell_token(end)
    if second is None:
        return None
    ce, re_ = second
    if (rs is None and ce is None) or (cs is None and re_ is None):
        return None  # "A:1" and "1:A" mix a column with a row
    if cs is not None and ce is not None and ce < cs:
        cs, ce = ce, cs
    if rs is not None and re_ is not None and re_ < rs:
        rs, re_ = re_, rs
    return _Area(
        r0=rs or 0,
        r1=None if re_ is None else re_ + 1,
        c0=cs or 0,
        c1=None if ce is None else ce + 1,
    )


def _quote_title(title: str) -> str:
    """Quote a tab title the way Google does in response ranges: only when needed."""
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title) is not None
    cell_like = re.fullmatch(r"[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*", title) is not None
    if plain and not cell_like and title.upper() not in ("TRUE", "FALSE"):
        return title
    return "'" + title.replace("'", "''") + "'"


def _a1(title: str, r0: int, r1: int, c0: int, c1: int) -> str:
    """``Title!A1:C3`` for a bounded rectangle (end-exclusive indices)."""
    start = f"{_col_letters(c0)}{r0 + 1}"
    if r1 - r0 <= 1 and c1 - c0 <= 1:
        return f"{_quote_title(title)}!{start}"
    return f"{_quote_title(title)}!{start}:{_col_letters(max(c1 - 1, c0))}{max(r1, r0 + 1)}"


def _resolve(book: _Book, text: str) -> tuple[_Sheet, _Area]:
    if not isinstance(text, str) or not text.strip():
        raise _bad(f"Unable to parse range: {text}")
    title, cells = _split_sheet(text.strip())
    if title is None:
        assert cells is not None
        area = _parse_cells(cells)
        if area is not None:
            visible = [s for s in book.sheets if not s.props.get("hidden")]
            return (visible or book.sheets)[0], area
        sheet = book.sheet_by_title(cells)
        if sheet is None:
            raise _bad(f"Unable to parse range: {text}")
        return sheet, _WHOLE
    sheet = book.sheet_by_title(title)
    if sheet is None:
        raise _bad(f"Unable to parse range: {text}")
    if cells is None:
        return sheet, _WHOLE
    area = _parse_cells(cells)
    if area is None:
        raise _bad(f"Unable to parse range: {text}")
    return sheet, area


def _clip(sheet: _Sheet, area: _Area) -> tuple[int, int, int, int]:
    """Bounded rectangle of ``area`` inside the grid; 400 when it starts outside."""
    rc, cc = sheet.row_count, sheet.col_count
    if area.r0 >= rc or area.c0 >= cc:
        end_r = area.r1 if area.r1 is not None else area.r0 + 1
        end_c = area.c1 if area.c1 is not None else area.c0 + 1
        raise _bad(
            f"Range ({_a1(sheet.title, area.r0, end_r, area.c0, end_c)}) exceeds grid limits. "
            f"Max rows: {rc}, max columns: {cc}"
        )
    r1 = rc if area.r1 is None else min(area.r1, rc)
    c1 = cc if area.c1 is None else min(area.c1, cc)
    return area.r0, r1, area.c0, c1


# --------------------------------------------------------------------------- values: input


_NUM_RE = re.compile(
    r"^([+-]?)([¥$€£]?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:[eE]([+-]?[0-9]+))?(%?)$"
)
_DATE_RE = re.compile(
    r"^([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})"
    r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?$"
)
_TIME_RE = re.compile(r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$")
_SERIAL_EPOCH = datetime(1899, 12, 30)


def _num(x: int | float) -> int | float:
    """JSON numbers the way Google writes them: integral values without ``.0``."""
    if isinstance(x, bool):
        raise TypeError("bool is not a number here")
    if isinstance(x, int):
        return x
    if not math.isfinite(x):
        raise _bad(f"Invalid number: {x}")
    if x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def _to_serial(dt: datetime) -> int | float:
    delta = dt - _SERIAL_EPOCH
    return _num(delta.days + delta.seconds / 86400)


def _from_serial(x: float) -> datetime:
    return _SERIAL_EPOCH + timedelta(seconds=round(x * 86400))


def _number_type(fmt: Mapping[str, Any] | None) -> str | None:
    if not fmt:
        return None
    nf = fmt.get("numberFormat")
    if not isinstance(nf, Mapping):
        return None
    kind = nf.get("type")
    return str(kind) if kind else None


def _with_number_format(fmt: Mapping[str, Any] | None, kind: str, pattern: str) -> JSON:
    """The cell's format plus an automatic number format, unless it already has one."""
    out = dict(fmt or {})
    if "numberFormat" not in out:
        out["numberFormat"] = {"type": kind, "pattern": pattern}
    return out


def _parse_entered(
    text: str, fmt: Mapping[str, Any] | None
) -> tuple[Scalar | None, str | None, Mapping[str, Any] | None]:
    """What the UI stores when ``text`` is typed (USER_ENTERED): (value, formula, format)."""
    if _number_type(fmt) == "TEXT":
        return text, None, fmt
    if text.startswith("'"):
        return (text[1:] or None), None, fmt
    if text.startswith("=") and len(text) > 1:
        return None, text, fmt
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE", None, fmt
    m = _NUM_RE.match(stripped)
    if m:
        sign, currency, digits, exp, percent = m.groups()
        number = float(digits.replace(",", "") or "0") * (10 ** int(exp) if exp else 1)
        if sign == "-":
            number = -number
        new_fmt: Mapping[str, Any] | None = fmt
        decimals = len(digits.partition(".")[2])
        tail = "." + "0" * decimals if decimals else ""
        if percent:
            number /= 100
            new_fmt = _with_number_format(fmt, "PERCENT", f"0{tail}%")
        elif currency:
            new_fmt = _with_number_format(fmt, "CURRENCY", f'"{currency}"#,##0{tail}')
        elif "," in digits:
            new_fmt = _with_number_format(fmt, "NUMBER", f"#,##0{tail}")
        return _num(number), None, new_fmt
    m = _DATE_RE.match(stripped)
    if m:
        y, sep, mo, d, hh, mi, ss = m.groups()
        try:
            when = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
        except ValueError:
            return text, None, fmt
        if hh is None:
            return _to_serial(when), None, _with_number_format(fmt, "DATE", f"yyyy{sep}mm{sep}dd")
        pattern = f"yyyy{sep}mm{sep}dd hh:mm" + (":ss" if ss else "")
        return _to_serial(when), None, _with_number_format(fmt, "DATE_TIME", pattern)
    m = _TIME_RE.match(stripped)
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60 and int(m.group(3) or 0) < 60:
        seconds = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)
        pattern = "hh:mm" + (":ss" if m.group(3) else "")
        return _num(seconds / 86400), None, _with_number_format(fmt, "TIME", pattern)
    return text, None, fmt


def _raw_scalar(v: Any, where: str) -> Scalar:
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int | float):
        return _num(v)
    raise _bad(f"Invalid value at '{where}' ({type(v).__name__}): {json.dumps(v)[:100]}")


def _with_value(
    base: _Cell, value: Scalar | None, formula: str | None, fmt: Mapping[str, Any] | None
) -> _Cell:
    """``base`` with a new value (and a computed value dropped); hot path, so no replace()."""
    return _Cell(value, formula, fmt, base.note, base.validation, None)


def _entered_cell(old: _Cell | None, v: Any, user_entered: bool, where: str) -> _Cell | None:
    """The cell after a values-API write of ``v`` (``None`` in the input means "skip")."""
    base = old or _EMPTY
    if isinstance(v, str) and v == "":
        return None if old is None else _with_value(base, None, None, base.fmt)
    if user_entered and isinstance(v, str):
        value, formula, fmt = _parse_entered(v, base.fmt)
        return _with_value(base, value, formula, fmt)
    return _with_value(base, _raw_scalar(v, where), None, base.fmt)


def _matrix(values: Any, major: Any, where: str) -> list[list[Any]]:
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(r, list) for r in values):
        raise _bad(f"Invalid value at '{where}': values must be a list of lists")
    if major in (None, "ROWS", "DIMENSION_UNSPECIFIED"):
        return values
    if major != "COLUMNS":
        raise _bad(f"Invalid value at 'major_dimension' (TYPE_ENUM), \"{major}\"")
    height = max((len(col) for col in values), default=0)
    return [[col[i] if i < len(col) else None for col in values] for i in range(height)]


# --------------------------------------------------------------------------- values: output


_DEFAULT_PATTERNS = {
    "NUMBER": "#,##0.00",
    "PERCENT": "0.00%",
    "CURRENCY": '"¥"#,##0',
    "SCIENTIFIC": "0.00E+00",
    "DATE": "yyyy/mm/dd",
    "TIME": "h:mm:ss",
    "DATE_TIME": "yyyy/mm/dd h:mm:ss",
}
_DT_TOKEN = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|.',
    re.IGNORECASE,
)
_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _general(x: int | float) -> str:
    """Google's "automatic" number display, simplified."""
    if isinstance(x, int):
        return str(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if abs(x) >= 1e15 or abs(x) < 1e-9:
        return f"{x:.2E}"
    return f"{x:.10g}"


def _literal(text: str) -> str:
    out = re.sub(r'"([^"]*)"', r"\1", text)
    out = re.sub(r"\\(.)", r"\1", out)
    return re.sub(r"[_*].", "", out)


def _format_serial(x: float, pattern: str) -> str:
    when = _from_serial(x)
    tokens = _DT_TOKEN.findall(pattern)
    low = [t.lower() for t in tokens]
    twelve = any(t in ("am/pm", "a/p") for t in low)
    out: list[str] = []
    for i, t in enumerate(low):
        if t in ("m", "mm"):
            before = next((p for p in reversed(low[:i]) if p[0] in "hdys"), "")
            after = next((p for p in low[i + 1 :] if p[0] in "hdys"), "")
            minute = before.startswith("h") or after.startswith("s")
            n = when.minute if minute else when.month
            out.append(f"{n:02d}" if t == "mm" else str(n))
        elif t == "yyyy":
            out.append(f"{when.year:04d}")
        elif t == "yy":
            out.append(f"{when.year % 100:02d}")
        elif t == "mmmm":
            out.append(_MONTHS[when.month - 1])
        elif t == "mmm":
            out.append(_MONTHS[when.month - 1][:3])
        elif t == "dddd":
            out.append(_DAYS[when.weekday()])
        elif t == "ddd":
            out.append(_DAYS[when.weekday()][:3])
        elif t in ("d", "dd"):
            out.append(f"{when.day:02d}" if t == "dd" else str(when.day))
        elif t in ("h", "hh"):
            hour = (when.hour % 12 or 12) if twelve else when.hour
            out.append(f"{hour:02d}" if t == "hh" else str(hour))
        elif t in ("s", "ss"):
            out.append(f"{when.second:02d}" if t == "ss" else str(when.second))
        elif t in ("am/pm", "a/p"):
            pm = when.hour >= 12
            out.append(("PM" if pm else "AM") if t == "am/pm" else ("P" if pm else "A"))
        else:
            out.append(_literal(tokens[i]))
    return "".join(out)


def _format_pattern(x: float, pattern: str) -> str:
    sections = pattern.split(";")
    section = sections[0]
    sign = "-" if x < 0 else ""
    if x < 0 and len(sections) > 1 and sections[1]:
        section, sign = sections[1], ""
    section = re.sub(r"\[\$([^\]\-]*)(?:-[^\]]*)?\]", r'"\1"', section)
    section = re.sub(r"\[[^\]]*\]", "", section)
    unquoted = re.sub(r'"[^"]*"', "", section)
    m = re.search(r"[#0?,]*[#0?](?:\.[#0?]*)?|\.[#0?]+", unquoted)
    if m is None:
        return _literal(section)
    # Locate the same core in the section with quotes (quoted text never holds # or 0s
    # in the patterns we write, so the first match is the same one).
    core_at = section.find(m.group())
    prefix, core, suffix = section[:core_at], m.group(), section[core_at + len(m.group()) :]
    value = abs(x)
    if "%" in re.sub(r'"[^"]*"', "", prefix + suffix):
        value *= 100
    int_part, _, frac_part = core.partition(".")
    sci = re.match(r"[eE]([+-])(0+)", suffix)
    if sci:
        digits = len(frac_part)
        mantissa, _, exponent = f"{value:.{digits}E}".partition("E")
        exp_sign = "-" if int(exponent) < 0 else "+"
        text = f"{mantissa}E{exp_sign}{abs(int(exponent)):0{len(sci.group(2))}d}"
        return sign + _literal(prefix) + text + _literal(suffix[sci.end() :])
    max_dec = len(frac_part)
    min_dec = frac_part.count("0")
    text = f"{value:.{max_dec}f}"
    whole, _, frac = text.partition(".")
    while len(frac) > min_dec and frac.endswith("0"):
        frac = frac[:-1]
    min_int = int_part.replace(",", "").count("0")
    whole = whole.lstrip("0").rjust(min_int, "0")
    if "," in int_part and whole:
        whole = f"{int(whole):,}".rjust(min_int, "0")
    if float(text) == 0:
        sign = ""
    number = whole + ("." + frac if frac else "")
    return sign + _literal(prefix) + number + _literal(suffix)


def _format_number(x: int | float, fmt: Mapping[str, Any] | None) -> str:
    nf = fmt.get("numberFormat") if fmt else None
    if not isinstance(nf, Mapping):
        return _general(x)
    kind = str(nf.get("type") or "NUMBER")
    pattern = str(nf.get("pattern") or _DEFAULT_PATTERNS.get(kind, ""))
    if kind == "TEXT" or not pattern:
        return _general(x)
    try:
        if kind in ("DATE", "TIME", "DATE_TIME"):
            return _format_serial(x, pattern)
        return _format_pattern(x, pattern)
    except (ValueError, OverflowError):
        return _general(x)


def _is_datetime_format(fmt: Mapping[str, Any] | None) -> bool:
    return _number_type(fmt) in ("DATE", "TIME", "DATE_TIME")


def _render_scalar(v: Scalar, fmt: Mapping[str, Any] | None, render: str, dt_string: bool) -> Any:
    if isinstance(v, bool):
        return ("TRUE" if v else "FALSE") if render == "FORMATTED_VALUE" else v
    if isinstance(v, int | float):
        if render == "FORMATTED_VALUE" or (dt_string and _is_datetime_format(fmt)):
            return _format_number(v, fmt)
        return v
    return v


def _render(cell: _Cell, render: str, dt_string: bool) -> Any:
    if cell.formula is not None:
        if render == "FORMULA" or cell.computed is None:
            return cell.formula
        return _render_scalar(cell.computed, cell.fmt, render, dt_string)
    if cell.value is None:
        return ""
    return _render_scalar(cell.value, cell.fmt, render, dt_string)


def _collect(sheet: _Sheet, r0: int, r1: int, c0: int, c1: int) -> Iterator[tuple[int, int, _Cell]]:
    """Cells holding a value inside the rectangle, visiting whichever side is smaller."""
    if (r1 - r0) * (c1 - c0) <= len(sheet.cells):
        cells = sheet.cells
        for r in range(r0, r1):
            for c in range(c0, c1):
                cell = cells.get((r, c))
                if cell is not None and cell.has_value:
                    yield r, c, cell
    else:
        for (r, c), cell in sheet.cells.items():
            if r0 <= r < r1 and c0 <= c < c1 and cell.has_value:
                yield r, c, cell


def _value_range(sheet: _Sheet, area: _Area, render: str, major: str, dt_string: bool) -> JSON:
    """A ValueRange: trailing empties trimmed, ``values`` omitted for an empty range."""
    r0, r1, c0, c1 = _clip(sheet, area)
    out: JSON = {"range": _a1(sheet.title, r0, r1, c0, c1), "majorDimension": major}
    lines: dict[int, dict[int, Any]] = {}
    columns = major == "COLUMNS"
    for r, c, cell in _collect(sheet, r0, r1, c0, c1):
        outer, inner = (c - c0, r - r0) if columns else (r - r0, c - c0)
        lines.setdefault(outer, {})[inner] = _render(cell, render, dt_string)
    if not lines:
        return out
    values: list[list[Any]] = []
    for i in range(max(lines) + 1):
        line = lines.get(i)
        if not line:
            values.append([])
            continue
        row: list[Any] = [""] * (max(line) + 1)
        for j, v in line.items():
            row[j] = v
        values.append(row)
    out["values"] = values
    return out


def _extended_value(v: Scalar | None, formula: str | None) -> JSON | None:
    if formula is not None:
        return {"formulaValue": formula}
    if v is None:
        return None
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int | float):
        return {"numberValue": v}
    return {"stringValue": v}


def _cell_data(cell: _Cell, keep: Collection[str] | None = None) -> JSON:
    """CellData of one cell: the fields in ``keep`` (a ``fields`` mask's), else all."""
    out: JSON = {}
    entered = _extended_value(cell.value, cell.formula)
    if entered is not None:
        out["userEnteredValue"] = entered
        effective_src = cell.computed if cell.formula is not None else cell.value
        effective = _extended_value(effective_src, None)
        if effective is not None:
            out["effectiveValue"] = effective
        if keep is None or "formattedValue" in keep:
            out["formattedValue"] = _render(cell, "FORMATTED_VALUE", False)
    if cell.fmt and (keep is None or "userEnteredFormat" in keep):
        out["userEnteredFormat"] = copy.deepcopy(dict(cell.fmt))
    if cell.note is not None:
        out["note"] = cell.note
    if cell.validation and (keep is None or "dataValidation" in keep):
        out["dataValidation"] = copy.deepcopy(dict(cell.validation))
    return out if keep is None else {k: v for k, v in out.items() if k in keep}


# --------------------------------------------------------------------------- field masks


_MISSING: Any = object()


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _parse_mask(mask: Any) -> list[str]:
    """``a.b,c/d,e(f,g)`` → ``[a.b, c.d, e.f, e.g]`` (gspread sends ``/`` and parens)."""
    if not isinstance(mask, str) or not mask.strip():
        raise _bad("At least one field must be specified in 'fields'.")
    out: list[str] = []
    for raw in _split_top(mask.replace("/", ".")):
        part = raw.strip()
        if not part:
            continue
        if "(" in part:
            head, _, rest = part.partition("(")
            if not rest.endswith(")"):
                raise _bad(f"Invalid field mask: {mask}")
            head = head.strip().rstrip(".")
            out.extend(f"{head}.{sub}" if head else sub for sub in _parse_mask(rest[:-1]))
        else:
            out.append(part)
    return out


def _strip_none(obj: Any) -> Any:
    """JSON with nulls removed: gspread sends ``"editors": null`` and the like."""
    if isinstance(obj, Mapping):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_none(v) for v in obj]
    return obj


def _get_path(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, Mapping) or obj.get(key) is None:
            return _MISSING
        obj = obj[key]
    return obj


def _set_path(target: JSON, path: str, value: Any) -> None:
    keys = path.split(".")
    chain: list[JSON] = [target]
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            if value is _MISSING:
                return
            child = {}
            node[key] = child
        node = child
        chain.append(node)
    if value is _MISSING:
        node.pop(keys[-1], None)
        for parent, key in zip(reversed(chain[:-1]), reversed(keys[:-1]), strict=True):
            if parent.get(key) == {}:
                parent.pop(key)
    else:
        node[keys[-1]] = copy.deepcopy(_strip_none(value))


def _apply_mask(target: Mapping[str, Any] | None, source: Any, paths: Iterable[str]) -> JSON:
    out: JSON = copy.deepcopy(dict(target or {}))
    for path in paths:
        _set_path(out, path, _get_path(source, path))
    return out


# --------------------------------------------------------------------------- cell data


_CELL_FIELDS = ("userEnteredValue", "userEnteredFormat", "note", "dataValidation")


def _parse_extended(ev: Any) -> tuple[Scalar | None, str | None]:
    """ExtendedValue → (value, formula). A stringValue is never parsed: ``=…`` stays text."""
    if ev is None:
        return None, None
    if not isinstance(ev, Mapping):
        raise _bad("userEnteredValue must be an object")
    present = {k: v for k, v in ev.items() if v is not None}
    if len(present) != 1:
        raise _bad(
            "userEnteredValue must set exactly one of stringValue, numberValue, "
            "boolValue, formulaValue"
        )
    key, v = next(iter(present.items()))
    if key == "stringValue" and isinstance(v, str):
        return (v or None), None
    if key == "numberValue" and isinstance(v, int | float) and not isinstance(v, bool):
        return _num(v), None
    if key == "numberValue" and isinstance(v, str):
        try:
            return _num(float(v)), None
        except ValueError:
            raise _bad(f"Invalid numberValue: {v!r}") from None
    if key == "boolValue" and isinstance(v, bool):
        return v, None
    if key == "formulaValue" and isinstance(v, str):
        return None, v
    raise _bad(f"Unsupported or invalid userEnteredValue: {json.dumps(present)[:100]}")


def _apply_cell_data(old: _Cell | None, data: Any, paths: Sequence[str]) -> _Cell | None:
    """CellData written through a field mask (updateCells, repeatCell, appendCells)."""
    if data is not None and not isinstance(data, Mapping):
        raise _bad("CellData must be an object")
    data = data or {}
    cell = old or _EMPTY
    for path in paths:
        top = path.split(".")[0]
        if top == "userEnteredValue":
            value, formula = _parse_extended(data.get("userEnteredValue"))
            cell = replace(cell, value=value, formula=formula, computed=None)
        elif top == "userEnteredFormat":
            if path == top:
                src = data.get("userEnteredFormat")
                fmt = copy.deepcopy(_strip_none(dict(src))) if isinstance(src, Mapping) else None
            else:
                wrapped = _apply_mask({"userEnteredFormat": dict(cell.fmt or {})}, data, [path])
                fmt = wrapped.get("userEnteredFormat")
            cell = replace(cell, fmt=fmt or None)
        elif top == "note":
            note = data.get("note")
            cell = replace(cell, note=str(note) if note is not None else None)
        elif top == "dataValidation":
            rule = data.get("dataValidation")
            cell = replace(cell, validation=copy.deepcopy(_strip_none(rule)) if rule else None)
        else:
            raise _bad(f"Field '{path}' is not supported by the emulator's CellData")
    return None if cell.is_empty else cell


def _cell_paths(mask: Any) -> list[str]:
    paths = _parse_mask(mask)
    if "*" in paths:
        return list(_CELL_FIELDS)
    return paths


# --------------------------------------------------------------------------- grid ranges


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


def _grid_rect(book: _Book, gr: Any) -> tuple[_Sheet, int, int, int, int]:
    """A GridRange as a bounded rectangle; unbounded ends clip, bounded ones must fit."""
    if not isinstance(gr, Mapping):
        raise _bad("range must be a GridRange object")
    sheet = book.sheet_by_id(gr.get("sheetId", 0))
    r0 = _index(gr.get("startRowIndex"), "startRowIndex", 0)
    c0 = _index(gr.get("startColumnIndex"), "startColumnIndex", 0)
    r1 = _index(gr.get("endRowIndex"), "endRowIndex", sheet.row_count)
    c1 = _index(gr.get("endColumnIndex"), "endColumnIndex", sheet.col_count)
    if r1 < r0 or c1 < c0:
        raise _bad("GridRange end is before its start")
    if r1 > sheet.row_count or c1 > sheet.col_count:
        raise _bad(
            f"Range ({_a1(sheet.title, r0, r1, c0, c1)}) exceeds grid limits. "
            f"Max rows: {sheet.row_count}, max columns: {sheet.col_count}"
        )
    return sheet, r0, r1, c0, c1


_AXES = {
    "ROWS": ("startRowIndex", "endRowIndex"),
    "COLUMNS": ("startColumnIndex", "endColumnIndex"),
}


def _shift_insert(s: int | None, e: int | None, at: int, n: int) -> tuple[int | None, int | None]:
    new_s = s + n if s is not None and s >= at else s
    new_e = e + n if e is not None and e > at else e
    return new_s, new_e


def _shift_delete(s: int | None, e: int | None, ds: int, de: int) -> tuple[int | None, int | None]:
    k = de - ds

    def start(x: int) -> int:
        return x if x < ds else ds if x < de else x - k

    def end(x: int) -> int:
        return x if x <= ds else max(ds, x - k)

    return (None if s is None else start(s)), (None if e is None else end(e))


def _move_grid_range(
    gr: JSON,
    sheet_id: int,
    dim: str,
    edit: Callable[[int | None, int | None], tuple[int | None, int | None]],
) -> bool:
    """Shift a stored GridRange in place; False when it collapsed to nothing."""
    if gr.get("sheetId", 0) != sheet_id:
        return True
    ks, ke = _AXES[dim]
    s, e = edit(gr.get(ks), gr.get(ke))
    for key, value in ((ks, s), (ke, e)):
        if value is None:
            gr.pop(key, None)
        else:
            gr[key] = value
    return not (e is not None and (s or 0) >= e)


def _move_ranges(
    book: _Book,
    sheet: _Sheet,
    dim: str,
    edit: Callable[[int | None, int | None], tuple[int | None, int | None]],
) -> None:
    """Keep protections, conditional formats and metadata on the cells they were on."""
    sid = sheet.sheet_id
    kept: list[JSON] = []
    for pr in sheet.protected:
        if "range" in pr and not _move_grid_range(pr["range"], sid, dim, edit):
            continue
        pr["unprotectedRanges"] = [
            u for u in pr.get("unprotectedRanges", []) if _move_grid_range(u, sid, dim, edit)
        ] or None
        if pr["unprotectedRanges"] is None:
            del pr["unprotectedRanges"]
        kept.append(pr)
    sheet.protected = kept
    rules: list[JSON] = []
    for rule in sheet.cond_formats:
        rule["ranges"] = [r for r in rule.get("ranges", []) if _move_grid_range(r, sid, dim, edit)]
        if rule["ranges"]:
            rules.append(rule)
    sheet.cond_formats = rules
    meta: list[JSON] = []
    for md in book.dev_meta:
        dr = md.get("location", {}).get("dimensionRange")
        if dr and dr.get("sheetId") == sid and dr.get("dimension") == dim:
            s, e = edit(dr.get("startIndex"), dr.get("endIndex"))
            dr["startIndex"], dr["endIndex"] = s, e
            if s is not None and e is not None and s >= e:
                continue
        meta.append(md)
    book.dev_meta = meta


def _insert_dimension(
    book: _Book, sheet: _Sheet, dim: str, at: int, n: int, inherit_before: bool
) -> None:
    rows = dim == "ROWS"
    count = sheet.count(dim)
    moved: dict[tuple[int, int], _Cell] = {}
    for (r, c), cell in sheet.cells.items():
        if rows:
            moved[(r + n, c) if r >= at else (r, c)] = cell
        else:
            moved[(r, c + n) if c >= at else (r, c)] = cell
    src = at - 1 if inherit_before else at + n
    if 0 <= src < count + n:
        for (r, c), cell in list(moved.items()):
            if (r if rows else c) != src or not (cell.fmt or cell.validation):
                continue
            for k in range(at, at + n):
                moved[(k, c) if rows else (r, k)] = _Cell(fmt=cell.fmt, validation=cell.validation)
    sheet.cells = moved
    sheet.set_count(dim, count + n)
    sheet.dims[dim] = {(i + n if i >= at else i): p for i, p in sheet.dims[dim].items()}
    frozen_key = "frozenRowCount" if rows else "frozenColumnCount"
    if sheet.grid.get(frozen_key):
        sheet.grid[frozen_key] = _shift_insert(0, sheet.grid[frozen_key], at, n)[1]
    _move_ranges(book, sheet, dim, lambda s, e: _shift_insert(s, e, at, n))


def _delete_dimension(book: _Book, sheet: _Sheet, dim: str, ds: int, de: int) -> None:
    rows = dim == "ROWS"
    k = de - ds
    kept: dict[tuple[int, int], _Cell] = {}
    for (r, c), cell in sheet.cells.items():
        idx = r if rows else c
        if ds <= idx < de:
            continue
        if idx >= de:
            kept[(r - k, c) if rows else (r, c - k)] = cell
        else:
            kept[(r, c)] = cell
    sheet.cells = kept
    sheet.set_count(dim, sheet.count(dim) - k)
    sheet.dims[dim] = {
        (i - k if i >= de else i): p for i, p in sheet.dims[dim].items() if not ds <= i < de
    }
    frozen_key = "frozenRowCount" if rows else "frozenColumnCount"
    if sheet.grid.get(frozen_key):
        sheet.grid[frozen_key] = _shift_delete(0, sheet.grid[frozen_key], ds, de)[1]
        if not sheet.grid[frozen_key]:
            del sheet.grid[frozen_key]
    _move_ranges(book, sheet, dim, lambda s, e: _shift_delete(s, e, ds, de))


def _sort_key(cell: _Cell | None) -> tuple[int, Any] | None:
    if cell is None or not cell.has_value:
        return None
    v = (
        cell.computed
        if cell.formula is not None and cell.computed is not None
        else (cell.formula if cell.formula is not None else cell.value)
    )
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, int | float):
        return (0, v)
    return (1, str(v).casefold())


def _sort_rows(
    sheet: _Sheet, r0: int, r1: int, c0: int, c1: int, specs: Sequence[tuple[int, bool]]
) -> None:
    """Reorder whole rows of the rectangle like the UI: stable, blanks last either way."""
    block: dict[int, dict[int, _Cell]] = {}
    for (r, c), cell in list(sheet.cells.items()):
        if r0 <= r < r1 and c0 <= c < c1:
            block.setdefault(r, {})[c] = cell
            del sheet.cells[(r, c)]
    order = list(range(r0, r1))
    for col, descending in reversed(specs):
        keyed = [(r, _sort_key(block.get(r, {}).get(col))) for r in order]
        filled = [(r, k) for r, k in keyed if k is not None]
        blank = [r for r, k in keyed if k is None]
        filled.sort(key=lambda item: item[1], reverse=descending)
        order = [r for r, _ in filled] + blank
    for new_r, old_r in zip(range(r0, r1), order, strict=True):
        for c, cell in block.get(old_r, {}).items():
            sheet.cells[(new_r, c)] = cell


# --------------------------------------------------------------------------- metadata


def _clean_props(props: Mapping[str, Any]) -> JSON:
    """SheetProperties as Google sends them: proto3 defaults (0, false) omitted."""
    out = copy.deepcopy(dict(props))
    grid = out.get("gridProperties", {})
    for key in ("frozenRowCount", "frozenColumnCount", "hideGridlines"):
        if not grid.get(key):
            grid.pop(key, None)
    for key in ("hidden", "rightToLeft"):
        if not out.get(key):
            out.pop(key, None)
    return out


def _location_sheet(md: Mapping[str, Any]) -> int | None:
    loc = md.get("location", {})
    if "sheetId" in loc:
        return int(loc["sheetId"])
    if "dimensionRange" in loc:
        return int(loc["dimensionRange"].get("sheetId", 0))
    return None


def _grid_data(
    sheet: _Sheet, rect: tuple[int, int, int, int], keep: Collection[str] | None = None
) -> JSON:
    """GridData of one rectangle.

    With ``keep``, only those CellData fields: a cell holding none of them is left out
    (a formatted but empty column then costs nothing).
    """
    r0, r1, c0, c1 = rect
    rows: dict[int, dict[int, JSON]] = {}
    if (r1 - r0) * (c1 - c0) < len(sheet.cells):  # a few columns of a big tab: look up
        found = ((k, sheet.cells.get(k)) for k in _keys(r0, r1, c0, c1))
        cells: Iterable[tuple[tuple[int, int], _Cell | None]] = found
    else:
        cells = sheet.cells.items()
    for (r, c), cell in cells:
        if cell is not None and r0 <= r < r1 and c0 <= c < c1:
            data = _cell_data(cell, keep)
            if data or keep is None:
                rows.setdefault(r - r0, {})[c - c0] = data
    row_data: list[JSON] = []
    for i in range(max(rows, default=-1) + 1):
        line = rows.get(i)
        if not line:
            row_data.append({})
            continue
        row_data.append({"values": [line.get(j, {}) for j in range(max(line) + 1)]})
    grid: JSON = {}
    # proto3 JSON omits zero ints, as with sheetId 0 in GridRanges: read them with .get.
    if r0:
        grid["startRow"] = r0
    if c0:
        grid["startColumn"] = c0
    if row_data:
        grid["rowData"] = row_data
    return grid


def _grid_wanted(flag: bool, fields: str | None, data_path: str) -> bool:
    """Whether a Spreadsheet in the answer carries grid data.

    ``includeGridData`` / ``responseIncludeGridData`` decide, unless the call has a
    ``fields`` mask: Google then ignores the flag and returns grid data when the mask
    selects ``data_path`` (gspread's ``get_notes`` relies on this).
    """
    if fields is None:
        return flag
    return any(
        p == "*" or p == data_path or data_path.startswith(p + ".") or p.startswith(data_path + ".")
        for p in _parse_mask(fields)
    )


def _field_tree(fields: str) -> JSON:
    """A ``fields`` mask (``a,b/c,d(e,f)``) as nested dicts; ``"*"`` marks a whole subtree."""
    tree: JSON = {}
    for path in _parse_mask(fields):
        node = tree
        for key in path.split("."):
            node = node.setdefault(key, {})
        node["*"] = {}
    return tree


def _select_fields(obj: Any, tree: Mapping[str, Any]) -> Any:
    """The partial response Google sends for a ``fields`` system parameter.

    Lists are filtered element by element; fields absent from the answer stay absent.
    """
    if isinstance(obj, list):
        return [_select_fields(item, tree) for item in obj]
    if not isinstance(obj, Mapping) or "*" in tree:
        return obj
    return {k: _select_fields(v, tree[k]) for k, v in obj.items() if k in tree}


def _keys(r0: int, r1: int, c0: int, c1: int) -> Iterator[tuple[int, int]]:
    return ((r, c) for r in range(r0, r1) for c in range(c0, c1))


def _cell_fields(fields: str | None, path: str) -> frozenset[str] | None:
    """The CellData fields a ``fields`` mask keeps at ``path`` (None: every field)."""
    if fields is None:
        return None
    node = _field_tree(fields)
    for key in path.split("."):
        if "*" in node:
            return None
        node = node.get(key, {})
    return None if "*" in node else frozenset(node)


def _metadata(
    book: _Book,
    include_grid: bool,
    ranges: Sequence[str] = (),
    cell_fields: frozenset[str] | None = None,
) -> JSON:
    """A Spreadsheet as Google answers it; ``cell_fields`` limits the CellData built."""
    wanted: dict[int, list[tuple[int, int, int, int]]] = {}
    for text in ranges:
        sheet, area = _resolve(book, text)
        wanted.setdefault(sheet.sheet_id, []).append(_clip(sheet, area))
    sheets: list[JSON] = []
    for sheet in book.sheets:
        if ranges and sheet.sheet_id not in wanted:
            continue
        entry: JSON = {"properties": _clean_props(sheet.props)}
        if sheet.protected:
            entry["protectedRanges"] = copy.deepcopy(sheet.protected)
        if sheet.cond_formats:
            entry["conditionalFormats"] = copy.deepcopy(sheet.cond_formats)
        own = [md for md in book.dev_meta if _location_sheet(md) == sheet.sheet_id]
        if own:
            entry["developerMetadata"] = copy.deepcopy(own)
        if include_grid:
            rects = wanted.get(sheet.sheet_id) or [(0, sheet.row_count, 0, sheet.col_count)]
            entry["data"] = [_grid_data(sheet, rect, cell_fields) for rect in rects]
        sheets.append(entry)
    out: JSON = {
        "spreadsheetId": book.id,
        "properties": copy.deepcopy(book.props),
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.id}/edit",
    }
    top = [md for md in book.dev_meta if md.get("location", {}).get("spreadsheet")]
    if top:
        out["developerMetadata"] = copy.deepcopy(top)
    return out


# --------------------------------------------------------------------------- values handlers


def _enum(value: Any, allowed: Sequence[str], name: str, default: str) -> str:
    if value is None or value == "":
        return default
    if value not in allowed:
        raise _bad(f"Invalid value at '{name}' (TYPE_ENUM), \"{value}\"")
    return str(value)


def _render_opts(params: Mapping[str, Any], response: bool = False) -> tuple[str, bool]:
    """(valueRenderOption, dateTimeRenderOption is FORMATTED_STRING) of a read."""
    keys = (
        ("responseValueRenderOption", "responseDateTimeRenderOption")
        if response
        else ("valueRenderOption", "dateTimeRenderOption")
    )
    render = _enum(
        params.get(keys[0]),
        ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"),
        "value_render_option",
        "FORMATTED_VALUE",
    )
    dt = _enum(
        params.get(keys[1]),
        ("SERIAL_NUMBER", "FORMATTED_STRING"),
        "date_time_render_option",
        "SERIAL_NUMBER",
    )
    return render, dt == "FORMATTED_STRING"


def _input_option(value: Any) -> bool:
    """True for USER_ENTERED; the parameter is required, as on the real API."""
    if value in (None, "", "INPUT_VALUE_OPTION_UNSPECIFIED"):
        raise _bad("'valueInputOption' is required but not specified")
    return _enum(value, ("RAW", "USER_ENTERED"), "value_input_option", "RAW") == "USER_ENTERED"


def _ensure_grid(book: _Book, sheet: _Sheet, rows: int, cols: int) -> None:
    """Grow the tab for a values write that runs past it (within Google's cell limit)."""
    grow_r = max(0, rows - sheet.row_count)
    grow_c = max(0, cols - sheet.col_count)
    if not grow_r and not grow_c:
        return
    if cols > MAX_COLUMNS:
        raise _bad(f"Range exceeds the maximum number of columns ({MAX_COLUMNS}).")
    new_total = (
        book.total_cells()
        - sheet.row_count * sheet.col_count
        + max(rows, sheet.row_count) * max(cols, sheet.col_count)
    )
    if new_total > MAX_CELLS:
        raise _too_many_cells()
    sheet.set_count("ROWS", max(rows, sheet.row_count))
    sheet.set_count("COLUMNS", max(cols, sheet.col_count))


def _write_values(
    book: _Book,
    sheet: _Sheet,
    area: _Area,
    matrix: list[list[Any]],
    user_entered: bool,
    label: str,
) -> JSON:
    nrows = len(matrix)
    ncols = max((len(r) for r in matrix), default=0)
    if not area.single:
        if area.r1 is not None and nrows > area.r1 - area.r0:
            raise _bad(
                f"Requested writing within range [{label}], but tried writing to row "
                f"[{area.r1 + 1}]"
            )
        if area.c1 is not None and ncols > area.c1 - area.c0:
            raise _bad(
                f"Requested writing within range [{label}], but tried writing to column "
                f"[{_col_letters(area.c1)}]"
            )
    _ensure_grid(book, sheet, area.r0 + nrows, area.c0 + ncols)
    rows_touched: set[int] = set()
    cols_touched: set[int] = set()
    cells = 0
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            if v is None:
                continue
            key = (area.r0 + i, area.c0 + j)
            sheet.put(
                key, _entered_cell(sheet.cells.get(key), v, user_entered, f"values[{i}][{j}]")
            )
            rows_touched.add(i)
            cols_touched.add(j)
            cells += 1
    out: JSON = {
        "spreadsheetId": book.id,
        "updatedRange": _a1(
            sheet.title, area.r0, area.r0 + max(nrows, 1), area.c0, area.c0 + max(ncols, 1)
        ),
    }
    if cells:
        out.update(
            updatedRows=len(rows_touched), updatedColumns=len(cols_touched), updatedCells=cells
        )
    return out


def _values_update(book: _Book, text: str, params: Mapping[str, Any], body: JSON) -> JSON:
    user_entered = _input_option(params.get("valueInputOption"))
    sheet, area = _resolve(book, text)
    matrix = _matrix(body.get("values"), body.get("majorDimension"), "data.values")
    out = _write_values(book, sheet, area, matrix, user_entered, text)
    if str(params.get("includeValuesInResponse", "")).lower() == "true":
        render, dt = _render_opts(params, response=True)
        _, written = _resolve(book, out["updatedRange"])
        out["updatedData"] = _value_range(sheet, written, render, "ROWS", dt)
    return out


def _table_end(sheet: _Sheet, area: _Area) -> tuple[int, int]:
    """(first row of the table, row after it) for values:append; see module docstring."""
    c1 = area.c1 if area.c1 is not None else sheet.col_count
    data_rows = {r for (r, c), cell in sheet.cells.items() if cell.has_value and area.c0 <= c < c1}
    if area.single and area.r0 not in data_rows:
        return area.r0, area.r0
    below = [r for r in data_rows if r >= area.r0]
    if not below:
        return area.r0, area.r0
    first = min(below)
    end = first
    while end in data_rows:
        end += 1
    return first, end


def _values_append(book: _Book, text: str, params: Mapping[str, Any], body: JSON) -> JSON:
    user_entered = _input_option(params.get("valueInputOption"))
    insert = (
        _enum(
            params.get("insertDataOption"),
            ("OVERWRITE", "INSERT_ROWS"),
            "insert_data_option",
            "OVERWRITE",
        )
        == "INSERT_ROWS"
    )
    sheet, area = _resolve(book, text)
    matrix = _matrix(body.get("values"), body.get("majorDimension"), "data.values")
    first, at = _table_end(sheet, area)
    if insert and matrix and at < sheet.row_count:
        _insert_dimension(book, sheet, "ROWS", at, len(matrix), inherit_before=at > 0)
    anchor = _Area(at, at + 1, area.c0, area.c0 + 1, single=True)
    updates = _write_values(book, sheet, anchor, matrix, user_entered, text)
    out: JSON = {"spreadsheetId": book.id, "updates": updates}
    if at > first:
        c1 = area.c1 if area.c1 is not None else sheet.col_count
        last_col = max(
            (
                c
                for (r, c), cell in sheet.cells.items()
                if first <= r < at and area.c0 <= c < c1 and cell.has_value
            ),
            default=area.c0,
        )
        out["tableRange"] = _a1(sheet.title, first, at, area.c0, last_col + 1)
    return out


def _clear_area(sheet: _Sheet, area: _Area) -> str:
    r0, r1, c0, c1 = _clip(sheet, area)
    for r, c, cell in list(_collect(sheet, r0, r1, c0, c1)):
        sheet.put((r, c), replace(cell, value=None, formula=None, computed=None))
    return _a1(sheet.title, r0, r1, c0, c1)


def _major(params: Mapping[str, Any]) -> str:
    return _enum(params.get("majorDimension"), ("ROWS", "COLUMNS"), "major_dimension", "ROWS")


def _values_get(book: _Book, text: str, params: Mapping[str, Any]) -> JSON:
    render, dt = _render_opts(params)
    major = _major(params)
    sheet, area = _resolve(book, text)
    return _value_range(sheet, area, render, major, dt)


def _values_batch_get(book: _Book, params: Mapping[str, Any], texts: Sequence[str]) -> JSON:
    render, dt = _render_opts(params)
    major = _major(params)
    ranges = [_resolve(book, text) for text in texts]
    return {
        "spreadsheetId": book.id,
        "valueRanges": [_value_range(s, a, render, major, dt) for s, a in ranges],
    }


def _values_clear(book: _Book, text: str) -> JSON:
    sheet, area = _resolve(book, text)
    return {"spreadsheetId": book.id, "clearedRange": _clear_area(sheet, area)}


def _values_batch_clear(book: _Book, body: JSON) -> JSON:
    cleared = []
    for i, text in enumerate(body.get("ranges") or []):
        try:
            sheet, area = _resolve(book, text)
            cleared.append(_clear_area(sheet, area))
        except _ApiError as err:
            raise _bad(f"Invalid ranges[{i}]: {err.message}") from None
    return {"spreadsheetId": book.id, "clearedRanges": cleared}


def _values_batch_update(book: _Book, body: JSON) -> JSON:
    user_entered = _input_option(body.get("valueInputOption"))
    include = bool(body.get("includeValuesInResponse"))
    render, dt = _render_opts(body, response=True)
    responses: list[JSON] = []
    sheets: set[int] = set()
    for i, item in enumerate(body.get("data") or []):
        try:
            sheet, area = _resolve(book, item.get("range"))
            matrix = _matrix(item.get("values"), item.get("majorDimension"), f"data[{i}].values")
            resp = _write_values(book, sheet, area, matrix, user_entered, str(item.get("range")))
            if include:
                _, written = _resolve(book, resp["updatedRange"])
                resp["updatedData"] = _value_range(sheet, written, render, "ROWS", dt)
        except _ApiError as err:
            raise _bad(f"Invalid data[{i}]: {err.message}") from None
        sheets.add(sheet.sheet_id)
        responses.append(resp)
    return {
        "spreadsheetId": book.id,
        "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
        "totalUpdatedColumns": sum(r.get("updatedColumns", 0) for r in responses),
        "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
        "totalUpdatedSheets": len(sheets),
        "responses": responses,
    }


# --------------------------------------------------------------------------- :batchUpdate


@dataclass
class _Options:
    strict_metadata_filters: bool = False


_Handler = Callable[[_Book, JSON, _Options], JSON]
_SHEET_PROP_FIELDS = (
    "title",
    "index",
    "hidden",
    "tabColor",
    "tabColorStyle",
    "rightToLeft",
    "gridProperties",
)


def _check_title(book: _Book, title: Any, exclude: _Sheet | None = None) -> str:
    if not isinstance(title, str) or not title.strip():
        raise _bad("Sheet title must not be empty.")
    if len(title) > 100:
        raise _bad("Sheet title must be at most 100 characters.")
    for sheet in book.sheets:
        if sheet is not exclude and sheet.title.casefold() == title.casefold():
            raise _bad(
                f'A sheet with the name "{title}" already exists. Please enter another name.'
            )
    return title


def _new_sheet_props(book: _Book, props: Mapping[str, Any]) -> JSON:
    sheet_id = props.get("sheetId")
    if sheet_id is None:
        sheet_id = 0 if not book.sheets else book.next_number()
        while any(s.sheet_id == sheet_id for s in book.sheets):
            sheet_id = book.next_number()
    elif not isinstance(sheet_id, int) or any(s.sheet_id == sheet_id for s in book.sheets):
        raise _bad(f"Invalid sheetId: {sheet_id} (already exists or not a number)")
    title = props.get("title")
    if title is None:
        n = len(book.sheets) + 1
        while book.sheet_by_title(f"Sheet{n}") is not None:
            n += 1
        title = f"Sheet{n}"
    _check_title(book, title)
    grid = dict(props.get("gridProperties") or {})
    rows = _int(grid.get("rowCount"), "rowCount", DEFAULT_ROW_COUNT)
    cols = _int(grid.get("columnCount"), "columnCount", DEFAULT_COLUMN_COUNT)
    if not rows or not cols or cols > MAX_COLUMNS:
        raise _bad("rowCount and columnCount must be between 1 and the grid limits")
    grid.update(rowCount=rows, columnCount=cols)
    out: JSON = {
        "sheetId": sheet_id,
        "title": title,
        "index": 0,
        "sheetType": "GRID",
        "gridProperties": grid,
    }
    for key in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
        if props.get(key) is not None:
            out[key] = copy.deepcopy(props[key])
    return out


def _req_add_sheet(book: _Book, req: JSON, opts: _Options) -> JSON:
    props = _strip_none(req.get("properties") or {})
    new = _new_sheet_props(book, props)
    if (
        book.total_cells()
        + new["gridProperties"]["rowCount"] * new["gridProperties"]["columnCount"]
        > MAX_CELLS
    ):
        raise _too_many_cells()
    index = _index(props.get("index"), "index", len(book.sheets))
    book.sheets.insert(min(index, len(book.sheets)), _Sheet(props=new))
    book.reindex()
    if all(s.props.get("hidden") for s in book.sheets):
        raise _bad("You can't hide all the sheets in a document.")
    return {"addSheet": {"properties": _clean_props(new)}}


def _req_delete_sheet(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId"))
    if len(book.sheets) == 1:
        raise _bad("You can't remove all the sheets in a document.")
    book.sheets.remove(sheet)
    book.reindex()
    book.dev_meta = [md for md in book.dev_meta if _location_sheet(md) != sheet.sheet_id]
    if all(s.props.get("hidden") for s in book.sheets):
        raise _bad("You can't remove all the visible sheets in a document.")
    return {}


def _req_update_sheet_properties(book: _Book, req: JSON, opts: _Options) -> JSON:
    props = req.get("properties") or {}
    sheet = book.sheet_by_id(props.get("sheetId", 0))
    paths = _parse_mask(req.get("fields"))
    if "*" in paths:
        paths = list(_SHEET_PROP_FIELDS)
    old_rows, old_cols, old_index = sheet.row_count, sheet.col_count, sheet.props["index"]
    updated = _apply_mask(
        sheet.props, props, [p for p in paths if p not in ("sheetId", "sheetType")]
    )
    updated["sheetId"], updated["sheetType"] = sheet.sheet_id, "GRID"
    grid = updated.setdefault("gridProperties", {})
    grid.setdefault("rowCount", old_rows)
    grid.setdefault("columnCount", old_cols)
    updated["title"] = _check_title(book, updated.get("title"), exclude=sheet)
    rows = _int(grid["rowCount"], "rowCount")
    cols = _int(grid["columnCount"], "columnCount")
    if not rows or not cols or cols > MAX_COLUMNS:
        raise _bad("rowCount and columnCount must be at least 1")
    if (grid.get("frozenRowCount") or 0) >= rows:
        raise _bad("You can't freeze all visible rows on the sheet.")
    if (grid.get("frozenColumnCount") or 0) >= cols:
        raise _bad("You can't freeze all visible columns on the sheet.")
    sheet.props = updated
    if rows < old_rows:
        _delete_dimension(book, sheet, "ROWS", rows, old_rows)
        sheet.set_count("ROWS", rows)
    if cols < old_cols:
        _delete_dimension(book, sheet, "COLUMNS", cols, old_cols)
        sheet.set_count("COLUMNS", cols)
    if book.total_cells() > MAX_CELLS:
        raise _too_many_cells()
    new_index = updated.get("index", old_index)
    if new_index != old_index:
        book.sheets.remove(sheet)
        book.sheets.insert(min(_index(new_index, "index", old_index), len(book.sheets)), sheet)
    book.reindex()
    if all(s.props.get("hidden") for s in book.sheets):
        raise _bad("You can't hide all the sheets in a document.")
    return {}


def _req_update_spreadsheet_properties(book: _Book, req: JSON, opts: _Options) -> JSON:
    paths = _parse_mask(req.get("fields"))
    if "*" in paths:
        paths = ["title", "locale", "timeZone", "autoRecalc", "defaultFormat"]
    book.props = _apply_mask(book.props, req.get("properties") or {}, paths)
    if not book.props.get("title"):
        raise _bad("Spreadsheet title must not be empty.")
    return {}


def _write_rows(
    sheet: _Sheet, r0: int, c0: int, rows: Any, paths: Sequence[str], where: str
) -> tuple[int, int]:
    """Apply RowData at (r0, c0); returns the (height, width) written. Must fit the grid."""
    if not isinstance(rows, list):
        raise _bad(f"{where}: rows must be a list")
    width = 0
    for i, row in enumerate(rows):
        values = (row or {}).get("values") or []
        if not isinstance(values, list):
            raise _bad(f"{where}: rows[{i}].values must be a list")
        width = max(width, len(values))
        if values and r0 + i >= sheet.row_count:
            raise _bad(
                f"GridCoordinate.rowIndex[{r0 + i}] is after last row in grid"
                f"[{sheet.row_count - 1}]"
            )
        if c0 + len(values) > sheet.col_count:
            raise _bad(
                f"GridCoordinate.columnIndex[{c0 + len(values) - 1}] is after last column "
                f"in grid[{sheet.col_count - 1}]"
            )
        for j, data in enumerate(values):
            key = (r0 + i, c0 + j)
            sheet.put(key, _apply_cell_data(sheet.cells.get(key), data, paths))
    return len(rows), width


def _req_update_cells(book: _Book, req: JSON, opts: _Options) -> JSON:
    paths = _cell_paths(req.get("fields"))
    rows = req.get("rows") or []
    if "start" in req and req["start"] is not None:
        start = req["start"]
        sheet = book.sheet_by_id(start.get("sheetId", 0))
        r0 = _index(start.get("rowIndex"), "rowIndex", 0)
        c0 = _index(start.get("columnIndex"), "columnIndex", 0)
        _write_rows(sheet, r0, c0, rows, paths, "updateCells")
        return {}
    if "range" not in req:
        raise _bad("updateCells needs start or range")
    sheet, r0, r1, c0, c1 = _grid_rect(book, req["range"])
    if len(rows) > r1 - r0 or any(len((row or {}).get("values") or []) > c1 - c0 for row in rows):
        raise _bad("The rows do not fit in the requested range")
    # Cells of the range the rows do not cover are cleared for the masked fields.
    for r in range(r0, r1):
        row_values = ((rows[r - r0] or {}).get("values") or []) if r - r0 < len(rows) else []
        for c in range(c0, c1):
            data = row_values[c - c0] if c - c0 < len(row_values) else {}
            key = (r, c)
            sheet.put(key, _apply_cell_data(sheet.cells.get(key), data, paths))
    return {}


def _req_append_cells(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId", 0))
    paths = _cell_paths(req.get("fields"))
    rows = req.get("rows") or []
    at = sheet.last_data_row() + 1
    need = at + len(rows)
    if need > sheet.row_count:
        if book.total_cells() + (need - sheet.row_count) * sheet.col_count > MAX_CELLS:
            raise _too_many_cells()
        sheet.set_count("ROWS", need)
    _write_rows(sheet, at, 0, rows, paths, "appendCells")
    return {}


def _dimension_range(
    book: _Book, dr: Any, *, allow_end_past: bool = False
) -> tuple[_Sheet, str, int, int]:
    if not isinstance(dr, Mapping):
        raise _bad("range must be a DimensionRange")
    sheet = book.sheet_by_id(dr.get("sheetId", 0))
    dim = _enum(dr.get("dimension"), ("ROWS", "COLUMNS"), "dimension", "")
    if not dim:
        raise _bad("DimensionRange.dimension is required")
    count = sheet.count(dim)
    start = _index(dr.get("startIndex"), "startIndex", 0)
    end = _index(dr.get("endIndex"), "endIndex", count)
    if end < start or (end > count and not allow_end_past):
        raise _bad(f"Invalid DimensionRange {start}..{end} for a sheet with {count} {dim.lower()}")
    return sheet, dim, start, end


def _req_insert_dimension(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, dim, start, end = _dimension_range(book, req.get("range"), allow_end_past=True)
    if start > sheet.count(dim) or end == start:
        raise _bad("insertDimension range must be non-empty and start inside the grid")
    before = bool(req.get("inheritFromBefore"))
    if before and start == 0:
        raise _bad("Cannot inherit from before when inserting at the start of the sheet.")
    _insert_dimension(book, sheet, dim, start, end - start, before)
    if book.total_cells() > MAX_CELLS:
        raise _too_many_cells()
    return {}


def _req_delete_dimension(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, dim, start, end = _dimension_range(book, req.get("range"))
    if start == 0 and end >= sheet.count(dim):
        raise _bad(f"You can't delete all the {dim.lower()} on the sheet.")
    if end > start:
        _delete_dimension(book, sheet, dim, start, end)
    return {}


def _req_append_dimension(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId", 0))
    dim = _enum(req.get("dimension"), ("ROWS", "COLUMNS"), "dimension", "")
    length = _int(req.get("length"), "length")
    if not dim or not length:
        raise _bad("appendDimension needs a dimension and a positive length")
    sheet.set_count(dim, sheet.count(dim) + length)
    if sheet.col_count > MAX_COLUMNS or book.total_cells() > MAX_CELLS:
        raise _too_many_cells()
    return {}


def _req_update_dimension_properties(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, dim, start, end = _dimension_range(book, req.get("range"))
    paths = _parse_mask(req.get("fields"))
    if "*" in paths:
        paths = ["pixelSize", "hiddenByUser", "developerMetadata"]
    props = req.get("properties") or {}
    for i in range(start, end):
        updated = _apply_mask(sheet.dims[dim].get(i), props, paths)
        if updated:
            sheet.dims[dim][i] = updated
        else:
            sheet.dims[dim].pop(i, None)
    return {}


def _req_repeat_cell(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, r0, r1, c0, c1 = _grid_rect(book, req.get("range"))
    paths = _cell_paths(req.get("fields"))
    data = req.get("cell") or {}
    for r in range(r0, r1):
        for c in range(c0, c1):
            sheet.put((r, c), _apply_cell_data(sheet.cells.get((r, c)), data, paths))
    return {}


def _req_set_data_validation(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, r0, r1, c0, c1 = _grid_rect(book, req.get("range"))
    rule = req.get("rule")
    if rule is not None and not isinstance(rule.get("condition"), Mapping):
        raise _bad("A data validation rule needs a condition.")
    stored = copy.deepcopy(_strip_none(rule)) if rule else None
    for r in range(r0, r1):
        for c in range(c0, c1):
            sheet.put((r, c), replace(sheet.cells.get((r, c)) or _EMPTY, validation=stored))
    return {}


def _req_add_protected_range(book: _Book, req: JSON, opts: _Options) -> JSON:
    pr = _strip_none(copy.deepcopy(req.get("protectedRange") or {}))
    if "range" not in pr:
        raise _bad("A protected range needs a range (named ranges are not emulated).")
    sheet = _grid_rect(book, pr["range"])[0]
    pr["range"].setdefault("sheetId", sheet.sheet_id)
    for u in pr.get("unprotectedRanges", []):
        _grid_rect(book, u)
    existing = {p["protectedRangeId"] for s in book.sheets for p in s.protected}
    pid = pr.get("protectedRangeId")
    if pid is None or pid in existing:
        pid = book.next_number()
    pr["protectedRangeId"] = pid
    pr.setdefault("warningOnly", False)
    pr.setdefault("requestingUserCanEdit", False)
    if pr.get("warningOnly"):
        pr.pop("editors", None)
    sheet.protected.append(pr)
    return {"addProtectedRange": {"protectedRange": copy.deepcopy(pr)}}


def _find_protected(book: _Book, pid: Any) -> tuple[_Sheet, int]:
    for sheet in book.sheets:
        for i, pr in enumerate(sheet.protected):
            if pr.get("protectedRangeId") == pid:
                return sheet, i
    raise _bad(f"No protected range with id: {pid}")


def _req_delete_protected_range(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, i = _find_protected(book, req.get("protectedRangeId"))
    del sheet.protected[i]
    return {}


def _req_update_protected_range(book: _Book, req: JSON, opts: _Options) -> JSON:
    new = req.get("protectedRange") or {}
    sheet, i = _find_protected(book, new.get("protectedRangeId"))
    paths = [p for p in _parse_mask(req.get("fields")) if p != "protectedRangeId"]
    if "*" in paths:
        paths = [
            "range",
            "description",
            "warningOnly",
            "requestingUserCanEdit",
            "unprotectedRanges",
            "editors",
        ]
    updated = _apply_mask(sheet.protected[i], new, paths)
    if "range" not in updated:
        raise _bad("A protected range needs a range.")
    target = _grid_rect(book, updated["range"])[0]
    del sheet.protected[i]
    target.protected.append(updated)
    return {}


def _rule_sheet(book: _Book, rule: Any) -> _Sheet:
    if not isinstance(rule, Mapping) or not rule.get("ranges"):
        raise _bad("A conditional format rule needs ranges.")
    if not (rule.get("booleanRule") or rule.get("gradientRule")):
        raise _bad("A conditional format rule needs a booleanRule or a gradientRule.")
    sheets = {_grid_rect(book, r)[0].sheet_id for r in rule["ranges"]}
    if len(sheets) != 1:
        raise _bad("All ranges of a conditional format rule must be on the same sheet.")
    return book.sheet_by_id(sheets.pop())


def _req_add_conditional_format_rule(book: _Book, req: JSON, opts: _Options) -> JSON:
    rule = _strip_none(copy.deepcopy(req.get("rule")))
    sheet = _rule_sheet(book, rule)
    index = _index(req.get("index"), "index", 0)
    if index > len(sheet.cond_formats):
        raise _bad(f"Invalid index {index}: the sheet has {len(sheet.cond_formats)} rules")
    sheet.cond_formats.insert(index, rule)
    return {}


def _req_delete_conditional_format_rule(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId", 0))
    index = _index(req.get("index"), "index", 0)
    if index >= len(sheet.cond_formats):
        raise _bad(f"No conditional format rule at index {index}")
    rule = sheet.cond_formats.pop(index)
    return {"deleteConditionalFormatRule": {"rule": rule}}


def _req_update_conditional_format_rule(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId", 0))
    index = _index(req.get("index"), "index", 0)
    if index >= len(sheet.cond_formats):
        raise _bad(f"No conditional format rule at index {index}")
    old = sheet.cond_formats[index]
    if req.get("rule") is not None:
        rule = _strip_none(copy.deepcopy(req["rule"]))
        if _rule_sheet(book, rule) is not sheet:
            raise _bad("A rule cannot move to another sheet.")
        sheet.cond_formats[index] = rule
        return {
            "updateConditionalFormatRule": {
                "newRule": rule,
                "oldRule": old,
                "newIndex": index,
                "oldIndex": index,
            }
        }
    new_index = _index(req.get("newIndex"), "newIndex", index)
    if new_index >= len(sheet.cond_formats):
        raise _bad(f"Invalid newIndex {new_index}")
    sheet.cond_formats.insert(new_index, sheet.cond_formats.pop(index))
    return {
        "updateConditionalFormatRule": {
            "newRule": old,
            "oldRule": old,
            "newIndex": new_index,
            "oldIndex": index,
        }
    }


def _location(book: _Book, loc: Any) -> JSON:
    if not isinstance(loc, Mapping):
        raise _bad("Developer metadata needs a location.")
    if loc.get("spreadsheet"):
        return {"locationType": "SPREADSHEET", "spreadsheet": True}
    if loc.get("sheetId") is not None:
        book.sheet_by_id(loc["sheetId"])
        return {"locationType": "SHEET", "sheetId": loc["sheetId"]}
    if loc.get("dimensionRange") is not None:
        sheet, dim, start, end = _dimension_range(book, loc["dimensionRange"])
        return {
            "locationType": "ROW" if dim == "ROWS" else "COLUMN",
            "dimensionRange": {
                "sheetId": sheet.sheet_id,
                "dimension": dim,
                "startIndex": start,
                "endIndex": end,
            },
        }
    raise _bad("Developer metadata location must be a spreadsheet, a sheet or a dimension range.")


def _req_create_developer_metadata(book: _Book, req: JSON, opts: _Options) -> JSON:
    md = _strip_none(copy.deepcopy(req.get("developerMetadata") or {}))
    if not md.get("metadataKey"):
        raise _bad("Developer metadata needs a metadataKey.")
    md["location"] = _location(book, md.get("location"))
    md.setdefault("visibility", "DOCUMENT")
    existing = {m["metadataId"] for m in book.dev_meta}
    if md.get("metadataId") in existing:
        raise _bad(f"Developer metadata with id {md['metadataId']} already exists.")
    md.setdefault("metadataId", book.next_number())
    book.dev_meta.append(md)
    return {"createDeveloperMetadata": {"developerMetadata": copy.deepcopy(md)}}


def _metadata_matches(book: _Book, filters: Any) -> list[JSON]:
    if not isinstance(filters, list) or not filters:
        raise _bad("At least one data filter is required.")
    matched: list[JSON] = []
    for f in filters:
        lookup = (f or {}).get("developerMetadataLookup")
        if not isinstance(lookup, Mapping):
            raise _bad("Only developerMetadataLookup data filters are emulated.")
        for md in book.dev_meta:
            ok = all(
                lookup.get(key) is None or md.get(key) == lookup[key]
                for key in ("metadataId", "metadataKey", "metadataValue", "visibility")
            )
            if lookup.get("locationType") is not None:
                ok = ok and md["location"]["locationType"] == lookup["locationType"]
            if lookup.get("metadataLocation") is not None:
                ok = ok and md["location"] == _location(book, lookup["metadataLocation"])
            if ok and md not in matched:
                matched.append(md)
    return matched


def _req_update_developer_metadata(book: _Book, req: JSON, opts: _Options) -> JSON:
    matched = _metadata_matches(book, req.get("dataFilters"))
    if not matched and opts.strict_metadata_filters:
        raise _bad("No developer metadata matched the data filters.")
    paths = _parse_mask(req.get("fields"))
    if "*" in paths:
        paths = ["metadataKey", "metadataValue", "visibility", "location"]
    new = req.get("developerMetadata") or {}
    out: list[JSON] = []
    for md in matched:
        updated = _apply_mask(md, new, [p for p in paths if p != "metadataId"])
        updated["location"] = _location(book, updated.get("location"))
        md.clear()
        md.update(updated)
        out.append(copy.deepcopy(md))
    return {"updateDeveloperMetadata": {"developerMetadata": out}}


def _req_delete_developer_metadata(book: _Book, req: JSON, opts: _Options) -> JSON:
    matched = _metadata_matches(book, [req.get("dataFilter")])
    if not matched and opts.strict_metadata_filters:
        raise _bad("No developer metadata matched the data filter.")
    book.dev_meta = [md for md in book.dev_meta if md not in matched]
    return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": copy.deepcopy(matched)}}


def _req_sort_range(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, r0, r1, c0, c1 = _grid_rect(book, req.get("range"))
    specs: list[tuple[int, bool]] = []
    for spec in req.get("sortSpecs") or []:
        col = _int(spec.get("dimensionIndex"), "dimensionIndex")
        if col is None or not c0 <= col < c1:
            raise _bad("sortSpecs.dimensionIndex must be a column inside the range")
        order = _enum(spec.get("sortOrder"), ("ASCENDING", "DESCENDING"), "sort_order", "ASCENDING")
        specs.append((col, order == "DESCENDING"))
    if not specs:
        raise _bad("sortRange needs at least one sortSpec")
    _sort_rows(sheet, r0, r1, c0, c1, specs)
    return {}


_REQUESTS: dict[str, _Handler] = {
    "addSheet": _req_add_sheet,
    "deleteSheet": _req_delete_sheet,
    "updateSheetProperties": _req_update_sheet_properties,
    "updateSpreadsheetProperties": _req_update_spreadsheet_properties,
    "updateCells": _req_update_cells,
    "appendCells": _req_append_cells,
    "insertDimension": _req_insert_dimension,
    "deleteDimension": _req_delete_dimension,
    "appendDimension": _req_append_dimension,
    "updateDimensionProperties": _req_update_dimension_properties,
    "repeatCell": _req_repeat_cell,
    "setDataValidation": _req_set_data_validation,
    "addProtectedRange": _req_add_protected_range,
    "updateProtectedRange": _req_update_protected_range,
    "deleteProtectedRange": _req_delete_protected_range,
    "addConditionalFormatRule": _req_add_conditional_format_rule,
    "updateConditionalFormatRule": _req_update_conditional_format_rule,
    "deleteConditionalFormatRule": _req_delete_conditional_format_rule,
    "createDeveloperMetadata": _req_create_developer_metadata,
    "updateDeveloperMetadata": _req_update_developer_metadata,
    "deleteDeveloperMetadata": _req_delete_developer_metadata,
    "sortRange": _req_sort_range,
}


def _batch_update(book: _Book, body: JSON, fields: str | None, opts: _Options) -> JSON:
    """Apply the requests in order; the answer may carry the book as they left it.

    ``includeSpreadsheetInResponse`` adds ``updatedSpreadsheet``, read after every
    request ran (in the same atomic step), limited to ``responseRanges`` and with grid
    data per ``responseIncludeGridData`` or the ``fields`` mask.
    """
    reqs = body.get("requests")
    if not isinstance(reqs, list) or not reqs:
        raise _bad("Must specify at least one request.")
    replies = [_apply_request(book, i, req, opts) for i, req in enumerate(reqs)]
    out: JSON = {"spreadsheetId": book.id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = _updated_spreadsheet(book, body, fields)
    return out


def _apply_request(book: _Book, i: int, req: Any, opts: _Options) -> JSON:
    """Run ``requests[i]`` of a ``:batchUpdate``: exactly one known request kind."""
    present = (
        [k for k, v in (req or {}).items() if v is not None] if isinstance(req, Mapping) else []
    )
    if len(present) != 1:
        raise _bad(f"Invalid requests[{i}]: exactly one request kind must be set")
    name = present[0]
    handler = _REQUESTS.get(name)
    if handler is None:
        raise _bad(
            f"Invalid requests[{i}]: unknown or unsupported request '{name}' "
            "(the emulator rejects requests it does not implement)"
        )
    payload = req[name]
    if not isinstance(payload, dict):
        raise _bad(f"Invalid requests[{i}].{name}: must be an object")
    try:
        return handler(book, payload, opts)
    except _ApiError as err:
        raise _bad(f"Invalid requests[{i}].{name}: {err.message}") from None


def _updated_spreadsheet(book: _Book, body: JSON, fields: str | None) -> JSON:
    """The ``updatedSpreadsheet`` of a ``:batchUpdate`` answer."""
    ranges = body.get("responseRanges") or []
    if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
        raise _bad("Invalid responseRanges: must be a list of A1 ranges")
    include = _grid_wanted(
        bool(body.get("responseIncludeGridData")), fields, "updatedSpreadsheet.sheets.data"
    )
    keep = _cell_fields(fields, "updatedSpreadsheet.sheets.data.rowData.values")
    try:
        return _metadata(book, include, ranges, keep)
    except _ApiError as err:
        raise _bad(f"Invalid responseRanges: {err.message}") from None


# --------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class _Route:
    op: str
    spreadsheet_id: str
    range_text: str = ""


def _route(method: str, path: str) -> _Route | None:
    if not path.startswith(_API_PATH):
        return None
    rest = path[len(_API_PATH) :]
    if "/" not in rest:
        if rest.endswith(":batchUpdate"):
            return (
                _Route("spreadsheets.batchUpdate", rest[: -len(":batchUpdate")])
                if method == "POST"
                else None
            )
        return _Route("spreadsheets.get", rest) if method == "GET" and ":" not in rest else None
    sid, _, sub = rest.partition("/")
    if sub.startswith("values:"):
        verb = sub[len("values:") :]
        expected = {"batchGet": "GET", "batchUpdate": "POST", "batchClear": "POST"}
        if expected.get(verb) == method:
            return _Route(f"values.{verb}", sid)
        return None
    if sub.startswith("values/"):
        encoded = sub[len("values/") :]
        # gspread quotes the whole range (":" is %3A), so a literal ":" marks the verb.
        head, sep, verb = encoded.rpartition(":")
        if sep and verb in ("append", "clear"):
            return _Route(f"values.{verb}", sid, unquote(head)) if method == "POST" else None
        op = {"GET": "values.get", "PUT": "values.update"}.get(method)
        return _Route(op, sid, unquote(encoded)) if op else None
    return None


@dataclass
class _Hook:
    callback: Callable[[], object]
    remaining: int
    kind: Kind | None


@dataclass
class _Fault:
    status: int
    remaining: int
    kind: Kind | None


def _first(params: Mapping[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in params.items() if v}


def _spreadsheets_get(
    book: _Book, params: Mapping[str, str], multi: Mapping[str, list[str]]
) -> JSON:
    flag = params.get("includeGridData", "false").lower() == "true"
    fields = params.get("fields")
    include = _grid_wanted(flag, fields, "sheets.data")
    keep = _cell_fields(fields, "sheets.data.rowData.values")
    return _metadata(book, include, multi.get("ranges", []), keep)


def _read(
    book: _Book, route: _Route, params: Mapping[str, str], multi: Mapping[str, list[str]]
) -> JSON | None:
    """Answer a read call; None when ``route`` is a write."""
    op = route.op
    if op == "spreadsheets.get":
        return _spreadsheets_get(book, params, multi)
    if op == "values.get":
        return _values_get(book, route.range_text, params)
    if op == "values.batchGet":
        return _values_batch_get(book, params, multi.get("ranges", []))
    return None


def _write(
    book: _Book, route: _Route, params: Mapping[str, str], body: JSON, opts: _Options
) -> JSON:
    """Apply a write call to ``book`` (the caller's working copy)."""
    op = route.op
    if op == "values.update":
        return _values_update(book, route.range_text, params, body)
    if op == "values.append":
        return _values_append(book, route.range_text, params, body)
    if op == "values.clear":
        return _values_clear(book, route.range_text)
    if op == "values.batchClear":
        return _values_batch_clear(book, body)
    if op == "values.batchUpdate":
        return _values_batch_update(book, body)
    if op == "spreadsheets.batchUpdate":
        return _batch_update(book, body, params.get("fields"), opts)
    raise _ApiError(404, f"Method not found: {op}")


# --------------------------------------------------------------------------- the emulator


class SheetsTransport(BaseAdapter):
    """The HTTP half of the emulator: a ``requests`` transport adapter plus fault injection.

    Routes each call to the handler that answers it, applies writes all-or-nothing, and
    keeps what tests assert on: the call log (:attr:`requests`, :meth:`counts`),
    injected faults (:meth:`fail_next`, :meth:`timeout_after_apply_next`, the quota),
    and staff edits between two calls (:meth:`before_next`, :meth:`on_request`).
    :class:`SheetsEmulator` adds the set-up and the direct staff helpers.
    """

    def __init__(
        self,
        *,
        quota_per_minute: int | None = None,
        clock: Clock | None = None,
        strict_metadata_filters: bool = False,
    ) -> None:
        """``quota_per_minute`` turns on a rolling 60 s read and write quota (429 past it)."""
        super().__init__()
        self._lock = threading.RLock()
        self._clock: Clock = clock or RealClock()
        self._books: dict[str, _Book] = {}
        self._created = 0
        self._faults: list[_Fault] = []
        self._hooks: list[_Hook] = []
        self._listeners: list[Callable[[RequestRecord], object]] = []
        self._timeouts_pending = 0
        self._quota = quota_per_minute
        self._window: dict[str, deque[float]] = {"read": deque(), "write": deque()}
        self._options = _Options(strict_metadata_filters=strict_metadata_filters)
        self.requests: list[RequestRecord] = []
        """Every call received, in order (see :class:`RequestRecord`)."""

    # -- wiring -----------------------------------------------------------------

    def mount(self, session: requests.Session) -> requests.Session:
        """Mount the emulator on ``session`` and refuse every other host on it."""
        deny = DenyAllAdapter()
        session.mount("https://", deny)
        session.mount("http://", deny)
        session.mount(SHEETS_PREFIX, self)
        return session

    def session(self) -> requests.Session:
        """A fresh ``requests.Session`` wired to the emulator (for a custom HTTPClient).

        ``trust_env`` is off so no proxy variables or ``~/.netrc`` leak into tests.
        """
        session = requests.Session()
        session.trust_env = False
        return self.mount(session)

    def client(
        self,
        timeout: float | tuple[float, float] | None = (5, 30),
        http_client: type[HTTPClient] = HTTPClient,
    ) -> gspread.Client:
        """A real gspread client on the emulator, with a timeout set as production does."""
        gc = gspread.Client(auth=cast(Any, None), session=self.session(), http_client=http_client)
        gc.set_timeout(timeout)
        return gc

    def close(self) -> None:
        """Sessions close their adapters; the book must outlive any one session."""

    # -- test controls ------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Requests received per quota bucket since the last :meth:`reset_counts`."""
        with self._lock:
            out = {"read": 0, "write": 0}
            for rec in self.requests:
                out[rec.kind] += 1
            return out

    def reset_counts(self) -> None:
        """Forget the call log (the quota window is the server's and is kept)."""
        with self._lock:
            self.requests.clear()

    def fail_next(self, status: int, times: int = 1, *, kind: Kind | None = None) -> None:
        """Answer the next ``times`` requests (of ``kind``, if given) with ``status``.

        429 carries Google's per-user quota message; 500 INTERNAL, 503 UNAVAILABLE and
        the other statuses in ``_STATUS_NAMES`` their usual bodies. Nothing is applied.
        """
        if status not in _STATUS_NAMES:
            raise ValueError(f"unsupported status {status}; use one of {sorted(_STATUS_NAMES)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(_Fault(status, times, kind))

    def timeout_after_apply_next(self, times: int = 1) -> None:
        """Apply the next write(s), then raise ``requests.exceptions.ReadTimeout``.

        The unknown-outcome case: the change is in the sheet but the caller never learns.
        """
        with self._lock:
            self._timeouts_pending += times

    def before_next(
        self, callback: Callable[[], object], nth: int = 1, *, kind: Kind | None = None
    ) -> None:
        """Run ``callback`` just before the ``nth`` next request (of ``kind``) is handled.

        The callback may edit the book through the direct helpers, like staff typing
        between two API calls.
        """
        if nth < 1:
            raise ValueError("nth must be at least 1")
        with self._lock:
            self._hooks.append(_Hook(callback, nth, kind))

    def on_request(self, callback: Callable[[RequestRecord], object]) -> Callable[[], None]:
        """Run ``callback(record)`` before every request is handled; returns an unsubscriber."""
        with self._lock:
            self._listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return remove

    # -- HTTP ---------------------------------------------------------------------

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Handle one Sheets API call the way Google would, plus the test controls."""
        method = (request.method or "GET").upper()
        parts = urlsplit(request.url or "")
        params = parse_qs(parts.query, keep_blank_values=True)
        route = _route(method, parts.path)
        body, body_error = self._body(request)
        record = self._record(method, parts.path, route, params, body, timeout)
        self._announce(record)
        with self._lock:
            payload, status, applied = self._answer(record, route, params, body, body_error)
            record.status = status
            lose_response = applied and record.kind == "write" and self._timeouts_pending > 0
            if lose_response:
                self._timeouts_pending -= 1
        if lose_response:
            raise requests.exceptions.ReadTimeout(
                f"emulated read timeout after applying {method} {parts.path}", request=request
            )
        return self._response(request, status, payload)

    def _record(
        self,
        method: str,
        path: str,
        route: _Route | None,
        params: Mapping[str, list[str]],
        body: JSON,
        timeout: Any,
    ) -> RequestRecord:
        """The call-log entry of one request, stamped on arrival."""
        kind: Kind = "read" if method == "GET" else "write"
        return RequestRecord(
            method=method,
            path=path,
            kind=kind,
            op=route.op if route else "unknown",
            spreadsheet_id=route.spreadsheet_id if route else "",
            ranges=self._ranges(route, params, body),
            request_types=tuple(
                next(iter(r), "?") for r in body.get("requests") or [] if isinstance(r, Mapping)
            )
            if route and route.op == "spreadsheets.batchUpdate"
            else (),
            timestamp=self._clock.monotonic(),
            timeout=timeout,
        )

    def _announce(self, record: RequestRecord) -> None:
        """Log the call, then run the staff edits due and the listeners (outside the lock)."""
        with self._lock:
            self.requests.append(record)
            due = [h for h in self._hooks if h.kind in (None, record.kind)]
            fired: list[Callable[[], object]] = []
            for hook in due:
                hook.remaining -= 1
                if hook.remaining == 0:
                    fired.append(hook.callback)
                    self._hooks.remove(hook)
            listeners = list(self._listeners)
        for callback in fired:
            callback()
        for listener in listeners:
            listener(record)

    def _answer(
        self,
        record: RequestRecord,
        route: _Route | None,
        params: Mapping[str, list[str]],
        body: JSON,
        body_error: str,
    ) -> tuple[JSON, int, bool]:
        """(payload, status, applied) of one call; runs under the lock."""
        try:
            self._gate(record.kind)
            if route is None:
                raise _ApiError(404, f"Method not found: {record.method} {record.path}")
            if body_error:
                raise _bad(body_error)
            payload = self._handle(route, _first(params), params, body)
            if params.get("fields"):
                payload = _select_fields(payload, _field_tree(params["fields"][0]))
            return payload, 200, True
        except _ApiError as err:
            return err.body(), err.code, False
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            # A body of the wrong shape (a list where an object belongs, …): Google
            # answers 400, and the Python detail helps whoever wrote the request.
            payload = _bad(f"Invalid JSON payload received ({type(err).__name__}: {err}).").body()
            return payload, 400, False

    def _gate(self, kind: Kind) -> None:
        """Injected faults first, then the quota; raises the error to answer."""
        for fault in self._faults:
            if fault.kind in (None, kind):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                name, message = _STATUS_NAMES[fault.status]
                raise _ApiError(fault.status, message or _quota_message(kind), name)
        if self._quota is not None:
            now = self._clock.monotonic()
            window = self._window[kind]
            while window and window[0] <= now - QUOTA_WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self._quota:
                raise _ApiError(429, _quota_message(kind))
            window.append(now)

    @staticmethod
    def _body(request: PreparedRequest) -> tuple[JSON, str]:
        raw = request.body
        if raw is None or raw in (b"", ""):
            return {}, ""
        try:
            data = json.loads(raw)
        except (ValueError, TypeError):
            return {}, "Invalid JSON payload received."
        if not isinstance(data, dict):
            return {}, "Invalid JSON payload received. Expected an object."
        return data, ""

    @staticmethod
    def _ranges(
        route: _Route | None, params: Mapping[str, list[str]], body: JSON
    ) -> tuple[str, ...]:
        if route is None:
            return ()
        if route.range_text:
            return (route.range_text,)
        if route.op == "values.batchGet":
            return tuple(params.get("ranges", []))
        if route.op == "values.batchUpdate":
            return tuple(
                str(d.get("range")) for d in body.get("data") or [] if isinstance(d, Mapping)
            )
        if route.op == "values.batchClear":
            return tuple(str(r) for r in body.get("ranges") or [])
        return ()

    def _handle(
        self, route: _Route, params: Mapping[str, str], multi: Mapping[str, list[str]], body: JSON
    ) -> JSON:
        book = self._books.get(route.spreadsheet_id)
        if book is None:
            raise _ApiError(404, "Requested entity was not found.")
        answer = _read(book, route, params, multi)
        if answer is not None:
            return answer
        return self._transaction(
            book, lambda work: _write(work, route, params, body, self._options)
        )

    def _transaction(self, book: _Book, apply: Callable[[_Book], JSON]) -> JSON:
        """Run ``apply`` on a copy and keep it only if nothing failed (all-or-nothing)."""
        work = book.clone()
        result = apply(work)
        self._books[book.id] = work
        return result

    @staticmethod
    def _response(request: PreparedRequest, status: int, payload: JSON) -> Response:
        resp = Response()
        resp.status_code = status
        resp.reason = HTTPStatus(status).phrase
        resp.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=UTF-8"})
        resp._content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        resp.encoding = "utf-8"
        resp.url = request.url or ""
        resp.request = request
        return resp


class SheetsEmulator(SheetsTransport):
    """An in-memory Google Sheets API v4 subset behind a ``requests`` transport.

    Mount it (:meth:`session`, :meth:`mount`) or take a ready gspread client
    (:meth:`client`). Handled: ``GET /v4/spreadsheets/{id}``, ``values/{range}`` GET and
    PUT, ``values/{range}:append`` and ``:clear``, ``values:batchGet``,
    ``values:batchUpdate``, ``values:batchClear`` and ``/{id}:batchUpdate`` with the
    requests listed in ``_REQUESTS``; anything else is a Google-shaped 400/404.

    Test controls: :attr:`requests` (the call log), :meth:`counts`, :meth:`fail_next`,
    :meth:`timeout_after_apply_next`, :meth:`before_next`, :meth:`on_request`, and direct
    helpers that play staff (:meth:`set_values`, :meth:`insert_rows`, :meth:`sort_rows`,
    …) without HTTP and without being counted.
    """

    # -- set-up -------------------------------------------------------------------

    def create_spreadsheet(
        self,
        title: str = "zaiko",
        sheets: Sequence[str] = ("Sheet1",),
        *,
        spreadsheet_id: str | None = None,
        rows: int = DEFAULT_ROW_COUNT,
        cols: int = DEFAULT_COLUMN_COUNT,
    ) -> str:
        """Create a book with the given tabs; the id is deterministic (same calls, same ids)."""
        if not sheets:
            raise ValueError("a spreadsheet has at least one tab")
        with self._lock:
            self._created += 1
            if spreadsheet_id is None:
                digest = hashlib.sha256(f"zaiko-emulator:{self._created}:{title}".encode()).digest()
                spreadsheet_id = "1" + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:43]
            if spreadsheet_id in self._books:
                raise ValueError(f"spreadsheet {spreadsheet_id} already exists")
            book = _Book(
                id=spreadsheet_id,
                props={
                    "title": title,
                    "locale": "ja_JP",
                    "autoRecalc": "ON_CHANGE",
                    "timeZone": "Asia/Tokyo",
                },
                sheets=[],
            )
            for name in sheets:
                req = {
                    "properties": {
                        "title": name,
                        "gridProperties": {"rowCount": rows, "columnCount": cols},
                    }
                }
                try:
                    _req_add_sheet(book, req, self._options)
                except _ApiError as err:
                    raise ValueError(err.message) from None
            self._books[spreadsheet_id] = book
            return spreadsheet_id

    # -- direct helpers (no HTTP, not counted) --------------------------------------

    def _book(self, spreadsheet_id: str) -> _Book:
        book = self._books.get(spreadsheet_id)
        if book is None:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r} in the emulator")
        return book

    @staticmethod
    def _sheet(book: _Book, title: str) -> _Sheet:
        sheet = book.sheet_by_title(title)
        if sheet is None:
            raise KeyError(f"no tab {title!r}; tabs are {[s.title for s in book.sheets]}")
        return sheet

    def _edit(self, spreadsheet_id: str, apply: Callable[[_Book], object]) -> None:
        """A staff edit: all-or-nothing like an API write, but not counted or hooked."""
        with self._lock:
            book = self._book(spreadsheet_id)
            try:
                self._transaction(book, lambda work: {"result": apply(work)})
            except _ApiError as err:
                raise ValueError(err.message) from None

    def set_values(
        self,
        spreadsheet_id: str,
        title: str,
        a1: str,
        rows: Sequence[Sequence[Any]],
        *,
        raw: bool = False,
    ) -> None:
        """Type ``rows`` into tab ``title`` from cell ``a1`` (parsed like USER_ENTERED).

        ``None`` leaves a cell alone, ``""`` empties it; the grid grows as needed.
        """
        area = _parse_cells(a1)
        if area is None:
            raise ValueError(f"not an A1 cell or range: {a1!r}")

        def apply(book: _Book) -> None:
            sheet = self._sheet(book, title)
            _write_values(book, sheet, area, [list(r) for r in rows], not raw, a1)

        self._edit(spreadsheet_id, apply)

    def set_computed(self, spreadsheet_id: str, title: str, a1: str, value: Scalar | None) -> None:
        """Give a formula cell the value Google would have computed (never evaluated here)."""
        area = _parse_cells(a1)
        if area is None or not area.single:
            raise ValueError(f"not a single A1 cell: {a1!r}")

        def apply(book: _Book) -> None:
            sheet = self._sheet(book, title)
            cell = sheet.cells.get((area.r0, area.c0))
            if cell is None or cell.formula is None:
                raise ValueError(f"{title}!{a1} holds no formula")
            computed = (
                _num(value)
                if isinstance(value, int | float) and not isinstance(value, bool)
                else value
            )
            sheet.cells[(area.r0, area.c0)] = replace(cell, computed=computed)

        self._edit(spreadsheet_id, apply)

    def get_values(
        self, spreadsheet_id: str, title: str, render: RenderOption = "UNFORMATTED_VALUE"
    ) -> list[list[Any]]:
        """The whole tab as an API read would return it (trimmed, ragged rows)."""
        with self._lock:
            sheet = self._sheet(self._book(spreadsheet_id), title)
            return cast(
                list[list[Any]],
                _value_range(sheet, _WHOLE, render, "ROWS", False).get("values", []),
            )

    def sheet_titles(self, spreadsheet_id: str) -> list[str]:
        """Tab titles in tab order."""
        with self._lock:
            return [s.title for s in self._book(spreadsheet_id).sheets]

    def sheet_properties(self, spreadsheet_id: str, title: str) -> JSON:
        """SheetProperties of a tab as the metadata endpoint shows them."""
        with self._lock:
            return _clean_props(self._sheet(self._book(spreadsheet_id), title).props)

    def cell_format(self, spreadsheet_id: str, title: str, a1: str) -> JSON:
        """The userEnteredFormat of one cell (``{}`` when it has none)."""
        area = _parse_cells(a1)
        if area is None or not area.single:
            raise ValueError(f"not a single A1 cell: {a1!r}")
        with self._lock:
            cell = self._sheet(self._book(spreadsheet_id), title).cells.get((area.r0, area.c0))
            return copy.deepcopy(dict(cell.fmt)) if cell and cell.fmt else {}

    def data_validations(self, spreadsheet_id: str, title: str) -> list[JSON]:
        """Validation rules of a tab as ``{"range": GridRange, "rule": rule}`` rectangles.

        Google keeps a rule per cell; this folds equal rules back into column runs so a
        test can compare them with what the template asked for.
        """
        with self._lock:
            sheet = self._sheet(self._book(spreadsheet_id), title)
            groups: dict[str, tuple[Mapping[str, Any], dict[int, list[int]]]] = {}
            for (r, c), cell in sorted(sheet.cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
                if cell.validation:
                    key = json.dumps(cell.validation, sort_keys=True)
                    groups.setdefault(key, (cell.validation, {}))[1].setdefault(c, []).append(r)
            out: list[JSON] = []
            for rule, columns in groups.values():
                runs_by_col = {c: _runs(rows) for c, rows in columns.items()}
                for c0, c1, runs in _merge_columns(runs_by_col):
                    for r0, r1 in runs:
                        out.append(
                            {
                                "range": {
                                    "sheetId": sheet.sheet_id,
                                    "startRowIndex": r0,
                                    "endRowIndex": r1,
                                    "startColumnIndex": c0,
                                    "endColumnIndex": c1,
                                },
                                "rule": copy.deepcopy(dict(rule)),
                            }
                        )
            return out

    def protected_ranges(self, spreadsheet_id: str, title: str) -> list[JSON]:
        """Protected ranges of a tab, as the metadata endpoint lists them."""
        with self._lock:
            return copy.deepcopy(self._sheet(self._book(spreadsheet_id), title).protected)

    def conditional_formats(self, spreadsheet_id: str, title: str) -> list[JSON]:
        """Conditional format rules of a tab, in priority order."""
        with self._lock:
            return copy.deepcopy(self._sheet(self._book(spreadsheet_id), title).cond_formats)

    def developer_metadata(self, spreadsheet_id: str) -> list[JSON]:
        """All developer metadata of the book (spreadsheet, sheet and row/column level)."""
        with self._lock:
            return copy.deepcopy(self._book(spreadsheet_id).dev_meta)

    def insert_rows(
        self, spreadsheet_id: str, title: str, index: int, rows: Sequence[Sequence[Any]] = ((),)
    ) -> None:
        """Staff insert ``len(rows)`` rows so the first lands at 0-based row ``index``.

        Like the UI's "insert below", new rows take the formats of the row above; the
        given values are typed into them (USER_ENTERED).
        """

        def apply(book: _Book) -> None:
            sheet = self._sheet(book, title)
            if not 0 <= index <= sheet.row_count or not rows:
                raise ValueError(f"cannot insert {len(rows)} rows at {index}")
            _insert_dimension(book, sheet, "ROWS", index, len(rows), inherit_before=index > 0)
            _write_values(
                book,
                sheet,
                _Area(index, None, 0, None, single=True),
                [list(r) for r in rows],
                True,
                title,
            )

        self._edit(spreadsheet_id, apply)

    def delete_rows(self, spreadsheet_id: str, title: str, start: int, end: int) -> None:
        """Staff delete 0-based rows ``start`` (inclusive) to ``end`` (exclusive)."""

        def apply(book: _Book) -> None:
            sheet = self._sheet(book, title)
            if not 0 <= start < end <= sheet.row_count or end - start >= sheet.row_count:
                raise ValueError(f"cannot delete rows {start}..{end} of {sheet.row_count}")
            _delete_dimension(book, sheet, "ROWS", start, end)

        self._edit(spreadsheet_id, apply)

    def sort_rows(
        self,
        spreadsheet_id: str,
        title: str,
        key_col: int | str,
        start_row: int = 1,
        *,
        descending: bool = False,
    ) -> None:
        """Staff sort the tab by one column, from 0-based row ``start_row`` (1 keeps a header).

        ``key_col`` is a 0-based index or a column letter. Whole rows move, formats with
        them; blanks sort last, as in the UI.
        """
        col = _col_index(key_col) if isinstance(key_col, str) else key_col

        def apply(book: _Book) -> None:
            sheet = self._sheet(book, title)
            end = sheet.last_data_row() + 1
            if end > start_row:
                _sort_rows(sheet, start_row, end, 0, sheet.col_count, [(col, descending)])

        self._edit(spreadsheet_id, apply)

    def _snapshot(self, spreadsheet_id: str) -> _Book:
        with self._lock:
            return self._book(spreadsheet_id).clone()


def _runs(rows: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for r in sorted(rows):
        if runs and runs[-1][1] == r:
            runs[-1] = (runs[-1][0], r + 1)
        else:
            runs.append((r, r + 1))
    return runs


def _merge_columns(
    runs_by_col: Mapping[int, list[tuple[int, int]]],
) -> list[tuple[int, int, list[tuple[int, int]]]]:
    merged: list[tuple[int, int, list[tuple[int, int]]]] = []
    for c in sorted(runs_by_col):
        runs = runs_by_col[c]
        if merged and merged[-1][1] == c and merged[-1][2] == runs:
            merged[-1] = (merged[-1][0], c + 1, runs)
        else:
            merged.append((c, c + 1, runs))
    return merged


# --------------------------------------------------------------------------- export


_XLSX_BAD_TITLE = re.compile(r"[\\/?*\[\]:]")


def _xlsx_number_format(fmt: Mapping[str, Any] | None) -> str | None:
    nf = fmt.get("numberFormat") if fmt else None
    if not isinstance(nf, Mapping):
        return None
    kind = str(nf.get("type") or "")
    if kind == "TEXT":
        return "@"
    pattern = nf.get("pattern") or _DEFAULT_PATTERNS.get(kind)
    return str(pattern) if pattern else None


def export_xlsx(emulator: SheetsEmulator, spreadsheet_id: str, path: str | Path) -> Path:
    """Write the book as .xlsx for a person to open (``demo --export``).

    One worksheet per tab, in tab order; hidden tabs stay hidden; number formats and
    frozen rows carry over. Text that starts with ``=`` is written as text, never as a
    formula, so an injected ``=IMPORTXML(…)`` stays inert in Excel too; real formula cells
    are written as formulas.
    """
    try:
        from openpyxl import Workbook
    except ImportError:
        raise SystemExit(
            "--export には openpyxl が必要です: pip install 'zaiko-bot[sandbox]' "
            "/ --export needs openpyxl (the [sandbox] extra)"
        ) from None
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = emulator._snapshot(spreadsheet_id)
    wb = Workbook()
    default = wb.active
    used: set[str] = set()
    first_visible: int | None = None
    for i, sheet in enumerate(book.sheets):
        name = _XLSX_BAD_TITLE.sub("_", sheet.title)[:31] or f"Sheet{i + 1}"
        while name.casefold() in used:
            name = f"{name[:28]}_{i}"
        used.add(name.casefold())
        ws = wb.create_sheet(title=name)
        for (r, c), cell in sorted(sheet.cells.items()):
            if not cell.has_value and not cell.fmt:
                continue
            target = ws.cell(row=r + 1, column=c + 1)
            if cell.formula is not None:
                target.value = cell.formula
            elif isinstance(cell.value, str):
                target.value = ILLEGAL_CHARACTERS_RE.sub("", cell.value)
                target.data_type = "s"
            elif cell.value is not None:
                target.value = cell.value
            number_format = _xlsx_number_format(cell.fmt)
            if number_format:
                target.number_format = number_format
            text_format = (cell.fmt or {}).get("textFormat") or {}
            if text_format.get("bold"):
                target.font = Font(bold=True)
        grid = sheet.grid
        rows, cols = grid.get("frozenRowCount", 0), grid.get("frozenColumnCount", 0)
        if rows or cols:
            ws.freeze_panes = ws.cell(row=rows + 1, column=cols + 1)
        for index, props in sheet.dims["COLUMNS"].items():
            if props.get("pixelSize"):
                ws.column_dimensions[get_column_letter(index + 1)].width = props["pixelSize"] / 7
        if sheet.props.get("hidden"):
            ws.sheet_state = "hidden"
        elif first_visible is None:
            first_visible = i
    wb.remove(default)
    wb.active = first_visible or 0
    out = Path(path)
    wb.save(out)
    return out
