"""Cell values in and out: plain-value writes, A1 names, NFKC text, timestamps.

Every cell is read after Unicode NFKC (全角 "１２" is 12) and every header or setting
name is compared in :func:`header_key` form (NFKC, no spaces, casefolded).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from bot.infra.clock import JST, format_jst

# --------------------------------------------------------------------------- writing


def cell_data(value: Any) -> dict[str, Any]:
    """CellData writing ``value`` as a plain value.

    Text is always a ``stringValue``, which Sheets never parses: outside text such as
    ``=IMPORTXML(...)`` stays text (google-sheets.md §3). A datetime is written as the
    staff-facing JST text.
    """
    kind = type(value)  # the usual kinds first: 100,000s of cells a cycle at 100k
    if kind is str:
        return {"userEnteredValue": {"stringValue": value}} if value else {}
    if kind is int:
        return {"userEnteredValue": {"numberValue": value}}
    if value is None or value == "":
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    if isinstance(value, datetime):
        return {"userEnteredValue": {"stringValue": format_jst(value)}}
    return {"userEnteredValue": {"stringValue": str(value)}}


# --------------------------------------------------------------------------- A1 helpers


def column_letter(col: int) -> str:
    """0-based column index → A1 letters (0 → A, 25 → Z, 26 → AA)."""
    if col < 0:
        raise ValueError(f"column index must be >= 0, got {col}")
    letters = ""
    n = col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    """0-based (row, col) → A1 cell name: ``a1(11, 2) == "C12"``."""
    if row < 0:
        raise ValueError(f"row index must be >= 0, got {row}")
    return f"{column_letter(col)}{row + 1}"


def quote_title(title: str) -> str:
    """Quote a tab title for an A1 range: ``'商品マスタ'`` (``'`` doubled inside)."""
    return "'" + title.replace("'", "''") + "'"


# --------------------------------------------------------------------------- text helpers

DASHES = str.maketrans({"\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-"})
"""Minus-like characters staff's input methods produce, read as ``-``."""
_SPACES = re.compile(r"\s+")


def nfkc(value: str) -> str:
    """Unicode NFKC, the form every cell is read in."""
    return unicodedata.normalize("NFKC", value)


def header_key(text: str) -> str:
    """Comparison form of a header or setting name: NFKC, no spaces, casefolded."""
    return _SPACES.sub("", nfkc(text)).casefold()


_normalize = unicodedata.normalize


def cell_text(value: Any) -> str:
    """A raw cell as stripped NFKC text (numbers without a trailing ``.0``)."""
    if type(value) is str:  # the usual cell: no isinstance chain, no call to nfkc
        return _normalize("NFKC", value).strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return nfkc(str(value)).strip()


def cell_at(row: Sequence[Any], col: int | None) -> Any:
    """The raw cell ``col`` of ``row``; None when the column is missing or past the row."""
    if col is None or col >= len(row):
        return None
    return row[col]


def is_blank(value: Any) -> bool:
    """An empty cell, or one holding only spaces."""
    return value is None or (isinstance(value, str) and not nfkc(value).strip())


def is_formula(value: Any) -> bool:
    """A cell as read with ``valueRenderOption=FORMULA`` that holds a formula."""
    return isinstance(value, str) and value.lstrip().startswith("=")


# --------------------------------------------------------------------------- time

_JST_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")


def parse_jst(text: str) -> datetime | None:
    """A staff-facing timestamp (``2026-11-23 14:05:09``, JST) as an aware datetime.

    Also accepts ``/`` separators, minutes only, and ISO 8601 with an offset. None when
    blank or not a timestamp (a log row is then simply undated).
    """
    s = nfkc(text).strip()
    if not s:
        return None
    try:  # the bot's own form, ~20 times faster than strptime (入出庫 and logs are long)
        when = datetime.fromisoformat(s)
    except ValueError:
        pass
    else:
        return when if when.tzinfo is not None else when.replace(tzinfo=JST)
    for fmt in _JST_FORMATS:
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=JST)
        except ValueError:
            continue
    try:
        when = datetime.fromisoformat(s)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=JST)


@lru_cache(maxsize=4096)
def _serial_to_text(value: float) -> str:
    """A Sheets date serial (days since 1899-12-30) as ``YYYY-MM-DD HH:MM:SS``.

    Remembered per serial: 入出庫's 日時 become serials when the sheet takes them for
    dates, and the rows typed in one go share one (at 100k products ~200 rows a cycle,
    rendered by ``strftime`` one by one a fifth of the tab's parse).
    """
    when = datetime(1899, 12, 30) + timedelta(days=value)
    return when.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S")


def at_text(raw: Any) -> str:
    """A 日時 cell as text: a date serial (the cell became a date) rendered, else NFKC."""
    if isinstance(raw, int | float) and not isinstance(raw, bool) and 1 <= raw < 2958466:
        return _serial_to_text(float(raw))
    return cell_text(raw)
