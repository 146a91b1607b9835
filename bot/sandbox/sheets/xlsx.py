"""Export a book as .xlsx for a person to open (``demo --export``).

openpyxl is optional (the ``[sandbox]`` extra), so it is imported inside
:func:`export_xlsx` only, with a friendly message when it is missing; importing the
emulator never needs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.sandbox.sheets.emulator import SheetsEmulator
from bot.sandbox.sheets.model import _Cell, _Sheet
from bot.sandbox.sheets.number_format import _DEFAULT_PATTERNS

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

    book = emulator._snapshot(spreadsheet_id)
    wb = Workbook()
    default = wb.active
    used: set[str] = set()
    first_visible: int | None = None
    for i, sheet in enumerate(book.sheets):
        ws = wb.create_sheet(title=_worksheet_name(sheet.title, i, used))
        _write_sheet(ws, sheet)
        if sheet.props.get("hidden"):
            ws.sheet_state = "hidden"
        elif first_visible is None:
            first_visible = i
    wb.remove(default)
    wb.active = first_visible or 0
    out = Path(path)
    wb.save(out)
    return out


def _worksheet_name(title: str, i: int, used: set[str]) -> str:
    """A name Excel accepts for tab ``i``: no ``/?*[]:`` or backslash, 31 characters, unique."""
    name = _XLSX_BAD_TITLE.sub("_", title)[:31] or f"Sheet{i + 1}"
    while name.casefold() in used:
        name = f"{name[:28]}_{i}"
    used.add(name.casefold())
    return name


def _write_sheet(ws: Any, sheet: _Sheet) -> None:
    """Cells, frozen panes and column widths of one tab (openpyxl is known present here)."""
    from openpyxl.utils import get_column_letter

    for r, c, cell in sheet.items():
        if not cell.has_value and not cell.fmt:
            continue
        _write_cell(ws.cell(row=r + 1, column=c + 1), cell)
    grid = sheet.grid
    rows, cols = grid.get("frozenRowCount", 0), grid.get("frozenColumnCount", 0)
    if rows or cols:
        ws.freeze_panes = ws.cell(row=rows + 1, column=cols + 1)
    for index, props in sheet.dims["COLUMNS"].items():
        if props.get("pixelSize"):
            ws.column_dimensions[get_column_letter(index + 1)].width = props["pixelSize"] / 7


def _write_cell(target: Any, cell: _Cell) -> None:
    """One cell's value (text stays text, formulas stay formulas), number format and bold."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

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
