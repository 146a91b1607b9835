"""The public emulator: creating books, and the direct helpers that play staff.

:class:`SheetsEmulator` is the HTTP transport plus what a test does outside the API:
create a spreadsheet with deterministic ids, type values, insert, delete and sort rows
like staff in the UI (all-or-nothing, neither counted nor hooked), and read the state
back (values, formats, validation, protections, metadata) to assert on it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

from bot.sandbox.sheets.a1 import _WHOLE, _Area, _col_index, _parse_cells
from bot.sandbox.sheets.batch_sheets import _req_add_sheet
from bot.sandbox.sheets.grid import _delete_dimension, _insert_dimension, _sort_rows
from bot.sandbox.sheets.model import (
    DEFAULT_COLUMN_COUNT,
    DEFAULT_ROW_COUNT,
    JSON,
    MAX_CELLS,
    RenderOption,
    Scalar,
    _ApiError,
    _Book,
    _Sheet,
    _too_many_cells,
)
from bot.sandbox.sheets.spreadsheet import _clean_props
from bot.sandbox.sheets.transport import SheetsTransport
from bot.sandbox.sheets.typed_values import _num
from bot.sandbox.sheets.values import _value_range, _write_values


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
            cell = sheet.cell(area.r0, area.c0)
            if cell is None or cell.formula is None:
                raise ValueError(f"{title}!{a1} holds no formula")
            computed = (
                _num(value)
                if isinstance(value, int | float) and not isinstance(value, bool)
                else value
            )
            sheet.put(area.r0, area.c0, replace(cell, computed=computed))

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
            cell = self._sheet(self._book(spreadsheet_id), title).cell(area.r0, area.c0)
            return copy.deepcopy(dict(cell.fmt)) if cell and cell.fmt else {}

    def data_validations(self, spreadsheet_id: str, title: str) -> list[JSON]:
        """Validation rules of a tab as ``{"range": GridRange, "rule": rule}`` rectangles.

        Google keeps a rule per cell; this folds equal rules back into column runs so a
        test can compare them with what the template asked for.
        """
        with self._lock:
            sheet = self._sheet(self._book(spreadsheet_id), title)
            groups: dict[str, tuple[Mapping[str, Any], dict[int, list[int]]]] = {}
            for r, c, cell in sorted(sheet.items(), key=lambda rc: (rc[1], rc[0])):
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

    def append_rows(self, spreadsheet_id: str, title: str, count: int) -> None:
        """Staff press "add N more rows at the bottom" (the grid grows by ``count`` rows).

        Whether Google gives such rows the format of the last row is not documented
        (UNCONFIRMED, see ``bot.infra.sheet.formats``), so they come without any: the
        unkind case, in which a code typed there loses its zeros until the bot formats
        the column again.
        """

        def apply(book: _Book) -> None:
            sheet = self._sheet(book, title)
            if count < 1:
                raise ValueError(f"cannot add {count} rows")
            if book.total_cells() + count * sheet.col_count > MAX_CELLS:
                raise _too_many_cells()
            sheet.set_count("ROWS", sheet.row_count + count)

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
