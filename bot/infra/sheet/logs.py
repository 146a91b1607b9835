"""The log tabs: rows appended under their headers, and trimmed to their retention.

:class:`LogTabs` keeps how many rows each log tab holds (counted at start-up, kept up to
date by every write) and builds the appendCells and deleteDimension requests that go in
the same atomic batchUpdate as the rest of a cycle's changes. A write's counts are only
taken once the write is known to have landed (:meth:`LogTabs.settle`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter, methodcaller
from typing import Any

from bot.infra.sheet.cells import cell_data
from bot.infra.sheet.encoded import AnyRequest, append_cells_json, column_json, row_json
from bot.infra.sheet.headers import HeaderMap, default_header_map, header_map
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.spec import TabSpec
from bot.infra.sheet.tabs import SALES_LOG, Request
from bot.infra.sheet.values import dates_of, update_cells

log = logging.getLogger(__name__)

Pending = tuple[str, int, int, list[datetime | None]]
"""(log tab key, rows appended, rows trimmed, 日時 of the appended rows: 販売ログ's only)."""


@dataclass
class LogTabs:
    """Row counts, retention and header fallbacks of the log tabs."""

    retention: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    """Log tab key → (max data rows, min days kept); defaults from the template."""
    rows: dict[str, int] = field(default_factory=dict)
    """Data rows per log tab, counted at start-up and kept up to date by every write."""
    sales_dates: deque[datetime | None] = field(default_factory=deque)
    """日時 of each 販売ログ row, oldest first (販売ログ keeps the cancellation window)."""
    headers: dict[str, HeaderMap] = field(default_factory=dict)
    """Header maps of the log tabs as read at start-up (a fallback: every cycle's read
    carries the log tabs' header rows, so staff may reorder them while the bot runs)."""
    pending: list[Pending] = field(default_factory=list)
    """What the write being built appends and trims, settled once it is sent."""

    def append(
        self,
        tab: TabSpec,
        sheet_id: int,
        rows: Sequence[Mapping[str, Any]],
        read: SheetRead | None,
        column_count: Callable[[], int],
    ) -> list[AnyRequest]:
        """The appendCells request placing each value under its header as the tab has it now.

        A template column missing from the header (staff deleted or renamed it) is put
        back after the last header in the same atomic call, so no value is dropped: for
        販売ログ that would break the ledger a restart is rebuilt from. ``column_count``
        reads the tab's grid width (only called on that rare path). The appendCells is
        written as JSON text (:mod:`bot.infra.sheet.encoded`): a commit's ~1,000 log
        rows at 100k were most of its body's encoding.
        """
        if not rows:
            return []
        reqs: list[AnyRequest] = [*self.trim(tab.key, sheet_id, rows)]
        header = self.header(tab, read)
        head, columns, width = _placement(tab, sheet_id, header, column_count)
        reqs.extend(head)
        reqs.append(append_cells_json(sheet_id, _row_texts(rows, columns, width)))
        return reqs

    def header(self, tab: TabSpec, read: SheetRead | None) -> HeaderMap:
        """The tab's header as ``read`` has it (else as at start-up, else the template's)."""
        grid_rows = read.raw.get(tab.key) if read is not None else None
        if grid_rows is not None:
            return header_map(tab, grid_rows[0] if grid_rows else [])
        return self.headers.get(tab.key) or default_header_map(tab)

    @staticmethod
    def layout(
        tab: TabSpec,
        sheet_id: int,
        rows: Sequence[Mapping[str, Any]],
        header: HeaderMap,
        column_count: Callable[[], int],
    ) -> tuple[list[Request], list[dict[str, Any]]]:
        """The header put-back requests (if any) and each row's RowData under ``header``.

        See :meth:`append`; the record path sends the RowData in several appendCells
        (:mod:`bot.infra.sheet.record`).
        """
        reqs, columns, width = _placement(tab, sheet_id, header, column_count)
        row_data = [{"values": list(map(cell_data, line))} for line in _lines(rows, columns, width)]
        return reqs, row_data

    def within_retention(
        self, key: str, rows: Sequence[Mapping[str, Any]]
    ) -> list[Mapping[str, Any]]:
        """The newest rows of one write that fit the tab's retention (the rest are dropped).

        Rows past ``max_rows`` in a single write would be trimmed by the same write's
        next append anyway; dropping them first keeps a burst (thousands of failed
        pushes at a cold start) from ever holding the tab past its retention.
        """
        limit = self.retention.get(key, (None, None))[0]
        if limit is None or len(rows) <= limit:
            return list(rows)
        log.warning(
            "%s: %d rows past its retention of %d not written", key, len(rows) - limit, limit
        )
        return list(rows[-limit:])

    def trim(self, key: str, sheet_id: int, rows: Sequence[Mapping[str, Any]]) -> list[Request]:
        """Delete the oldest rows of a log tab past its retention, in the same atomic call.

        Logs are trimmed in steps (5 % of the limit at once) so a busy tab is not
        trimmed on every cycle; 販売ログ never loses a row younger than its minimum
        days, because it is the ledger a restart is rebuilt from (§3).
        """
        # Only 販売ログ's dates are kept; equal 日時 share one datetime.
        dates = dates_of(row.get("at") for row in rows) if key == SALES_LOG else []
        if key not in self.rows or key not in self.retention:
            self.pending.append((key, len(rows), 0, dates))
            return []
        max_rows, min_days = self.retention[key]
        # Rows an earlier append to the same tab in this batchUpdate adds or trims count.
        held = self.rows[key] + sum(a - t for k, a, t, _ in self.pending if k == key)
        excess = held + len(rows) - max_rows
        if excess <= max(1, max_rows // 20):
            self.pending.append((key, len(rows), 0, dates))
            return []
        if key == SALES_LOG and min_days is not None:
            excess = self._old_sales(excess, dates, min_days)
        excess = min(excess, held)
        self.pending.append((key, len(rows), excess, dates))
        if excess <= 0:
            return []
        log.info("trimming %d oldest rows of %s", excess, key)
        grid = {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": 1, "endIndex": 1 + excess}
        return [{"deleteDimension": {"range": grid}}]

    def _old_sales(self, excess: int, dates: Sequence[datetime | None], min_days: int) -> int:
        """How many of the oldest 販売ログ rows (at most ``excess``) are past ``min_days``."""
        newest = max((d for d in dates if d is not None), default=None)
        if newest is None:
            return excess
        horizon = newest - timedelta(days=min_days)
        old = 0
        for when in self.sales_dates:
            if old >= excess or (when is not None and when >= horizon):
                break
            old += 1
        return old

    def forget(self, key: str, tab: TabSpec) -> None:
        """A log tab created again, empty: no rows, the template's header."""
        if key in self.rows:
            self.rows[key] = 0
        if key == SALES_LOG:
            self.sales_dates.clear()
        if key in self.headers:
            self.headers[key] = header_map(tab, [c.header for c in tab.columns])

    def settle(self, applied: bool) -> None:
        """After a write: count what it appended and trimmed (nothing if it failed)."""
        pending, self.pending = self.pending, []
        if not applied:
            return
        for key, added, trimmed, dates in pending:
            if key in self.rows:
                self.rows[key] += added - trimmed
            if key == SALES_LOG:
                for _ in range(min(trimmed, len(self.sales_dates))):
                    self.sales_dates.popleft()
                self.sales_dates.extend(dates)


def _placement(
    tab: TabSpec, sheet_id: int, header: HeaderMap, column_count: Callable[[], int]
) -> tuple[list[Request], dict[str, int], int]:
    """The header put-back requests, each template column's index and the row width.

    A template column missing from ``header`` goes after its last header (see
    :meth:`LogTabs.append`).
    """
    columns = dict(header.columns)
    width = header.width
    reqs: list[Request] = []
    missing = [c for c in tab.columns if c.key not in columns]
    if missing:
        reqs.extend(_put_back_headers(tab, sheet_id, width, missing, column_count))
        for i, spec in enumerate(missing):
            columns[spec.key] = width + i
        width += len(missing)
    return reqs, columns, width


def _lines(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, int], width: int
) -> Iterator[list[Any]]:
    """Each row's values placed in its columns, ``width`` cells (None where nothing goes)."""
    where = columns.get
    for row in rows:  # (a cycle's log rows run to thousands at 100k: C-level maps)
        line: list[Any] = [None] * width
        for col, value in zip(map(where, row), row.values(), strict=True):
            if col is not None:
                line[col] = value
        yield line


def _row_texts(
    rows: Sequence[Mapping[str, Any]], columns: Mapping[str, int], width: int
) -> Iterable[str]:
    """:func:`row_json` of each of :func:`_lines`, made a column at a time when it can.

    Rows that all hold the same keys (a commit's 販売ログ and 操作ログ rows) are taken
    column by column (:func:`column_json`) and zipped into rows in C: 1,000 販売ログ
    rows of 12 cells took 5.8 ms row by row, 3.8 ms so (timeit, best of 7, a loaded
    machine). Rows of other keys go row by row.
    """
    keys = rows[0].keys() if rows and width else None
    if keys is None or not all(map(keys.__eq__, map(_KEYS, rows))):
        return map(row_json, _lines(rows, columns, width))
    placed = {key: col for key in keys if (col := columns.get(key)) is not None}
    if len(set(placed.values())) < len(placed):  # (two keys on one column: row by row)
        return map(row_json, _lines(rows, columns, width))
    by_col = {col: column_json(list(map(itemgetter(key), rows))) for key, col in placed.items()}
    blank = ["{}"] * len(rows)
    cells = zip(*(by_col.get(col, blank) for col in range(width)), strict=True)
    return map(_ROW.__mod__, map(",".join, cells))


_KEYS = methodcaller("keys")
_ROW = '{"values":[%s]}'


def append_cells(sheet_id: int, row_data: list[dict[str, Any]]) -> Request:
    """One appendCells of RowData (plain values: ``fields`` is ``userEnteredValue``)."""
    return {"appendCells": {"sheetId": sheet_id, "rows": row_data, "fields": "userEnteredValue"}}


def _put_back_headers(
    tab: TabSpec,
    sheet_id: int,
    width: int,
    missing: Sequence[Any],
    column_count: Callable[[], int],
) -> list[Request]:
    """Headers staff deleted or renamed, written again after the last one."""
    reqs: list[Request] = []
    need = width + len(missing)
    have = column_count()
    if need > have:
        reqs.append(
            {
                "appendDimension": {
                    "sheetId": sheet_id,
                    "dimension": "COLUMNS",
                    "length": need - have,
                }
            }
        )
    reqs.append(update_cells(sheet_id, 0, width, [[c.header for c in missing]]))
    headers = "、".join(c.header for c in missing)
    log.warning("%s: header %s missing; put back", tab.title, headers)
    return reqs
