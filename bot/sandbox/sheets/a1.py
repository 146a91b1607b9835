"""A1 notation: parsing request ranges and writing response ranges the way Google does.

Ranges arrive as text (``'商品マスタ'!A2:Z``, ``A:C``, ``Sheet1``) in the values API and
leave as text in every answer (``updatedRange``, ``range``, ``tableRange``). This module
turns text into an :class:`_Area` (0-based, end-exclusive, possibly unbounded) on a tab,
clips it to the grid, and formats bounded rectangles back, quoting a tab title only when
A1 needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.sandbox.sheets.model import _bad, _Book, _Sheet


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
