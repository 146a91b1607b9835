"""The record step: push results to 出品状況 and the log tabs, in bounded batchUpdates.

What a record writes — 出品状況 rows (:mod:`bot.infra.sheet.listing_writes`), モール更新ログ
and エラーログ rows — is cut into pieces and packed into batchUpdates of at most
:data:`~bot.infra.sheet.budget.MAX_REQUEST_BYTES` each, sent one after another. Each
carries the ``_state`` marker ``last_record`` (``<commit id>/record/<n>``), so one whose
answer is lost is sent again only if it did not land.

If one fails, those before it have landed and stay: their log rows are not kept (never
written twice), their 出品状況 rows are in the book. :class:`RecordIncomplete` carries
the log rows not written, which the worker gives to the next record; the 出品状況 rows
not written stay owed in the book. The last batchUpdate of a record asks back the 再送
column and 出品状況's tail (see :mod:`bot.infra.sheet.listing_book`); a record with
nothing to write reads them with one small ``values:batchGet``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gspread.exceptions import APIError
from gspread.http_client import ParamsType

from bot.core.domain import ErrorLogRow, ListingTarget, MallLogRow, PushResult, StockPush
from bot.core.engine import ChangedTargets
from bot.infra.sheet.budget import MAX_REQUEST_BYTES, json_size, split_by_size
from bot.infra.sheet.cells import cell_text, column_letter
from bot.infra.sheet.client import (
    CommitOutcomeUnknown,
    SheetError,
    SheetStopped,
    api_message,
    resend_unless_landed,
)
from bot.infra.sheet.headers import HeaderMap
from bot.infra.sheet.listing_book import ListingBook, listing_header, misplaced
from bot.infra.sheet.listing_writes import ListingTab, Piece, listing_pieces
from bot.infra.sheet.logs import LogTabs, append_cells
from bot.infra.sheet.rows import error_row, mall_row
from bot.infra.sheet.spec import Template
from bot.infra.sheet.state import state_columns, state_dict
from bot.infra.sheet.tabs import ERROR_LOG, LISTINGS, MALL_LOG, STATE, Request
from bot.infra.sheet.values import entered, update_cells

log = logging.getLogger(__name__)

RECORD_FIELDS = (
    "updatedSpreadsheet(sheets(properties/sheetId,"
    "data(startRow,startColumn,rowData/values/userEnteredValue)))"
)
"""The part of a record's answer that is read: the cells asked back, nothing else."""
BODY_RESERVE = 4_096
"""Bytes kept free in each batchUpdate for the marker, the flags and the tail ranges."""
TRIM_RESERVE = 256
"""Bytes a log piece keeps for the deleteDimension its append may need."""


class RecordIncomplete(SheetError):
    """A record stopped part-way: the batchUpdates before it landed, these rows did not."""

    def __init__(
        self,
        message: str,
        mall_logs: Sequence[MallLogRow],
        errors: Sequence[ErrorLogRow],
        requests: int,
    ) -> None:
        super().__init__(message)
        self.mall_logs = list(mall_logs)
        self.errors = list(errors)
        self.requests = requests


@dataclass
class RecordPort:
    """What the record step uses of the gateway."""

    sheet_ids: Mapping[str, int]
    whole: Callable[[str], str]
    template: Template
    logs: LogTabs
    book: ListingBook
    batch_update: Callable[[Mapping[str, Any], ParamsType | None], Any]
    value_ranges: Callable[[Sequence[str]], list[dict[str, Any]]]
    column_count: Callable[[str], int]
    marker_row: int | None
    state_header: HeaderMap | None


class RecordWriter:
    """One record: plans the pieces, packs and sends them, checks what came back."""

    def __init__(self, port: RecordPort, header: HeaderMap | None, commit_id: str) -> None:
        self.port = port
        self.header = header
        self.commit_id = commit_id
        self.sent = 0
        self.batches = 0
        self.repaired = False
        self.strays: set[int] = set()
        """Rows this record wrote a listing's values on that turned out to hold another."""
        self.now: datetime | None = None
        self.pending: list[Piece] = []
        """Log pieces not yet landed (what :class:`RecordIncomplete` hands back)."""

    def write(
        self,
        pushed: Sequence[tuple[StockPush, PushResult]],
        mall_logs: Sequence[MallLogRow],
        targets: Sequence[ListingTarget],
        errors: Sequence[ErrorLogRow],
        now: datetime,
        changed: ChangedTargets | None = None,
    ) -> int:
        """Write the record; returns the requests sent. Raises :class:`RecordIncomplete`.

        ``changed``: which of ``targets`` the engine changed this step (for the book).
        """
        port = self.port
        self.now = now
        label = port.template.mall_label
        port.book.want(targets, pushed, now, label, changed)
        self.pending = [
            *self._log_pieces(MALL_LOG, mall_logs, [mall_row(r, label) for r in mall_logs]),
            *self._log_pieces(ERROR_LOG, errors, [error_row(r) for r in errors]),
        ]
        try:
            try:
                self._first_pass(now)
            except SheetError as err:
                if not _refused(err) or self.header is None:
                    raise
                # A write or a range past the grid's end (rows deleted, the tab made
                # again) is refused whole: read the tab and send the rest again.
                log.info("出品状況 refused a record request; reading it again: %s", err)
                port.book.dirty = True
            if port.book.dirty and not self.repaired and self.header is not None:
                self._repair()
        except SheetError as err:
            port.book.dirty = port.book.dirty or _uncertain(err)
            rows = [r for p in self.pending for r in p.rows]
            raise RecordIncomplete(
                str(err),
                [r for r in rows if isinstance(r, MallLogRow)],
                [r for r in rows if isinstance(r, ErrorLogRow)],
                self.sent,
            ) from err
        return self.sent

    def _first_pass(self, now: datetime) -> None:
        """Everything owed and the log rows; a check when there was nothing to write."""
        if self.port.book.dirty and self.header is not None:
            self._resync()
        self._drain([*self._listing_pieces(), *self.pending])
        if self.batches == 0 and self.header is not None and self.port.book.check_due(now):
            self._check()

    # -- pieces ----------------------------------------------------------------------

    def _listing_pieces(self) -> list[Piece]:
        if self.header is None or LISTINGS not in self.port.sheet_ids:
            return []
        return listing_pieces(self.port.book, self._where(), self.port.template.mall_label)

    def _where(self) -> ListingTab:
        assert self.header is not None
        return ListingTab(
            self.port.template.tab(LISTINGS),
            self.port.sheet_ids[LISTINGS],
            self.port.whole(LISTINGS),
            self.header,
            lambda: self.port.column_count(LISTINGS),
        )

    def _log_pieces(
        self, key: str, originals: Sequence[Any], rows: Sequence[Mapping[str, Any]]
    ) -> list[Piece]:
        """A log tab's rows as pieces; each trims the tab when its batchUpdate is built."""
        port = self.port
        if not rows or key not in port.sheet_ids:
            return []
        kept = port.logs.within_retention(key, rows)
        originals = originals[len(originals) - len(kept) :]
        tab, sheet_id = port.template.tab(key), port.sheet_ids[key]
        head, row_data = port.logs.layout(
            tab, sheet_id, kept, port.logs.header(tab, None), lambda: port.column_count(key)
        )
        pieces = []
        for part in split_by_size(range(len(kept)), lambda i: json_size(row_data[i])):
            reqs = [
                *(head if part[0] == 0 else []),
                append_cells(sheet_id, [row_data[i] for i in part]),
            ]
            size = sum(json_size(r) + 2 for r in reqs) + TRIM_RESERVE
            piece_rows = [kept[i] for i in part]

            def build(
                reqs: list[Request] = reqs, piece_rows: list[Any] = piece_rows
            ) -> list[Request]:
                return [*port.logs.trim(key, sheet_id, piece_rows), *reqs]

            pieces.append(Piece(key, size, build, rows=tuple(originals[i] for i in part)))
        return pieces

    # -- sending ---------------------------------------------------------------------

    def _drain(self, queue: list[Piece]) -> None:
        """Send the pieces in batchUpdates within the byte budget, in order."""
        while queue:
            chunk, queue = _take(queue)
            grown = sum(p.appended[0] for p in chunk if p.appended is not None)
            final = self._final_ranges(self.port.book.end + grown) if not queue else []
            self.port.logs.pending = []
            try:
                reply = self._send_chunk(chunk, final)
            except (SheetError, SheetStopped):
                self.port.logs.settle(applied=False)
                raise
            self.port.logs.settle(applied=True)
            sent = {id(p) for p in chunk}
            self.pending = [p for p in self.pending if id(p) not in sent]
            if not self._landed(chunk, final, reply):
                self.port.book.dirty = True
                queue = [p for p in queue if p.tab != LISTINGS]  # planned on stale rows

    def _send_chunk(self, chunk: Sequence[Piece], final: Sequence[str]) -> dict[str, Any] | None:
        reqs = [r for piece in chunk for r in piece.requests()]
        self.batches += 1
        marker = None
        if self.port.marker_row is not None:
            marker = f"{self.commit_id}/record/{self.batches}"
            _, value_col = state_columns(self.port.state_header)
            row = self.port.marker_row
            reqs.append(update_cells(self.port.sheet_ids[STATE], row, value_col, [[marker]]))
        body: dict[str, Any] = {"requests": reqs}
        ranges = [r for piece in chunk for r in piece.ranges] + list(final)
        params: ParamsType | None = None
        if ranges:
            body.update(
                includeSpreadsheetInResponse=True,
                responseIncludeGridData=True,
                responseRanges=ranges,
            )
            params = {"fields": RECORD_FIELDS}
        return self._send(body, params, marker)

    def _send(
        self, body: Mapping[str, Any], params: ParamsType | None, marker: str | None
    ) -> dict[str, Any] | None:
        """One batchUpdate; a lost answer is settled by the marker (as the commit's is)."""
        try:
            self.sent += 1
            return dict(self.port.batch_update(body, params))
        except CommitOutcomeUnknown as lost:
            if marker is None:
                # Without a marker a resend could duplicate log rows; the lesser harm is
                # to take it as landed (出品状況 is checked again at the next record).
                log.warning("record batch may not have landed (%s)", lost)
                self.port.book.dirty = True
                return None
            resent, answer = resend_unless_landed(
                lost,
                lambda: self._marked(marker),
                lambda: self._sent(self.port.batch_update(body, params)),
                f"record {marker}",
            )
            if not resent:
                self.port.book.dirty = True  # nothing came back to check
            return answer
        except APIError as err:
            raise SheetError(api_message(err)) from err

    def _marked(self, marker: str) -> bool:
        """Whether _state holds ``marker`` as the last record (one read)."""
        self.sent += 1
        rows = self.port.value_ranges([self.port.whole(STATE)])[0].get("values", [])
        return state_dict(rows).get("last_record") == marker

    def _sent(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        self.sent += 1
        return dict(answer)

    # -- what came back ----------------------------------------------------------------

    def _landed(
        self, chunk: Sequence[Piece], final: Sequence[str], reply: Mapping[str, Any] | None
    ) -> bool:
        """Take a landed batchUpdate into the book; False when rows were not where meant."""
        book = self.port.book
        cells = self._listing_cells(reply) if reply is not None else None
        ok = True
        if cells is not None and self.header is not None:
            checks = [c for p in chunk for c in p.checks]
            wrong = misplaced(cells, checks, self.header, self.port.template)
            if wrong:  # (the usual answer has every row where meant: no set of them made)
                in_place = {r for p in chunk if p.appended is None for r, _ in p.checks}
                self.strays.update(r for r in wrong if r in in_place)
            ok = not wrong
        for piece in chunk:  # (an answer lost after landing: taken as landed, unchecked)
            if piece.tab != LISTINGS or not ok:
                continue
            book.landed_all(piece.writes)
            for row in piece.cleared:
                book.flags.pop(row, None)
                book.clears.discard(row)
            if piece.appended is not None:
                book.appended(*piece.appended)
        if final and cells is not None and ok:
            ok = self._take_final(cells)
            book.checked_at = self.now
        return ok

    def _listing_cells(self, reply: Mapping[str, Any]) -> dict[tuple[int, int], Any] | None:
        """出品状況's cells in a batchUpdate's answer (None when it asked nothing back)."""
        sheet_id = self.port.sheet_ids.get(LISTINGS)
        for sheet in (reply.get("updatedSpreadsheet") or {}).get("sheets") or []:
            props = sheet.get("properties") or {}
            if props.get("sheetId", 0) != sheet_id:
                continue
            return _grid_cells(sheet.get("data") or [])
        return None

    def _final_ranges(self, end: int) -> list[str]:
        """The 再送 column and the tail (row ``end`` - 1 and below), asked back last."""
        if self.header is None or LISTINGS not in self.port.sheet_ids:
            return []
        ranges = []
        resend = self.header.col("resend")
        title = self.port.whole(LISTINGS)
        if resend is not None:
            letter = column_letter(resend)
            ranges.append(f"{title}!{letter}2:{letter}")
        cols = [c for c in (self.header.col("mall"), self.header.col("code")) if c is not None]
        if len(cols) == 2:  # open-ended: never past the grid's end, blank rows cost nothing
            lo, hi = column_letter(min(cols)), column_letter(max(cols))
            ranges.append(f"{title}!{lo}{end}:{hi}")
        return ranges

    def _take_final(self, cells: Mapping[tuple[int, int], Any]) -> bool:
        """Ticks from the 再送 column; False when the tail is not where the book has it."""
        assert self.header is not None
        book = self.port.book
        resend = self.header.col("resend")
        end = book.end
        keys = [c for c in (self.header.col("mall"), self.header.col("code")) if c is not None]
        column: dict[int, Any] = {}
        after = False
        for (r, c), v in cells.items():  # one walk for both (a thousand rows' cells)
            if c == resend:
                column[r] = v
            if not after and r >= end and c in keys and cell_text(v):
                after = True
        if resend is not None:
            book.take_flags(column, self.port.template)
        tail = tuple(cell_text(cells.get((end - 1, c))) for c in keys)
        if (end > 1 and tail != book.tail) or after:
            log.info("出品状況 rows moved or were deleted; reading it again")
            return False
        return True

    # -- reading 出品状況 again ------------------------------------------------------------

    def _check(self) -> None:
        """Nothing to write: read the 再送 column and the tail (one small batchGet)."""
        ranges = self._final_ranges(self.port.book.end)
        if not ranges:
            return
        self.sent += 1
        got = self.port.value_ranges(ranges)
        cells: dict[tuple[int, int], Any] = {}
        for spec, value_range in zip(ranges, got, strict=False):
            r0, c0 = _origin(spec)
            for i, row in enumerate(value_range.get("values") or []):
                for j, value in enumerate(row):
                    if value not in (None, ""):
                        cells[(r0 + i, c0 + j)] = value
        if not self._take_final(cells):
            self.port.book.dirty = True
        self.port.book.checked_at = self.now

    def _resync(self) -> None:
        """Read 出品状況 whole and owe every row that is not as the book has it."""
        self.sent += 1
        (value_range,) = self.port.value_ranges([self.port.whole(LISTINGS)])
        grid = value_range.get("values") or []
        self.header = listing_header(grid, self.port.template)
        owed = self.port.book.resync(grid, self.port.template, self.strays)
        self.strays = set()
        log.info("出品状況 read again: %d rows to write", owed)

    def _repair(self) -> None:
        """Rows moved under a write: read the tab once and write what is not right."""
        self.repaired = True
        self._resync()
        self._drain([*self._listing_pieces(), *self.pending])
        if self.batches and self.port.book.dirty:
            log.warning("出品状況 rows kept moving; it is read again at the next record")


def _take(queue: list[Piece]) -> tuple[list[Piece], list[Piece]]:
    """As many pieces from the front of ``queue`` as one batchUpdate holds (at least one).

    The usual record fits one batchUpdate by its pieces' bounds (a thousand scattered
    rows: well under 1 MB): then nothing is built only to be measured. Otherwise the
    pieces are measured as they are packed; either way the split is the one exact
    sizes give (a bound is never below the bytes sent).
    """
    total = BODY_RESERVE
    for piece in queue:
        total += piece.bound if piece.bound is not None else piece.measured()
        if total > MAX_REQUEST_BYTES:
            break
    else:
        return queue, []
    total = BODY_RESERVE
    for i, piece in enumerate(queue):
        total += piece.measured()
        if total > MAX_REQUEST_BYTES and i > 0:
            return queue[:i], queue[i:]
    return queue, []


def _grid_cells(blocks: Sequence[Mapping[str, Any]]) -> dict[tuple[int, int], Any]:
    """(row, col) → value of every cell with a value in a sheet's GridData blocks.

    One pass with the usual cell (a ``stringValue`` alone: a key cell written by the
    bot) taken in place; any other value as :func:`entered` reads it.
    """
    cells: dict[tuple[int, int], Any] = {}
    for data in blocks:
        r, c0 = int(data.get("startRow", 0)), int(data.get("startColumn", 0))
        for row in data.get("rowData") or ():
            c = c0
            for cell in row.get("values") or ():
                got = cell.get("userEnteredValue") if cell else None
                if got:
                    value = got.get("stringValue") if len(got) == 1 else None
                    if value is None:
                        value = entered(got)
                    if value is not None:
                        cells[(r, c)] = value
                c += 1
            r += 1
    return cells


def _origin(a1: str) -> tuple[int, int]:
    """0-based (row, col) of an A1 range's top-left cell (``'t'!H2:H`` → (1, 7))."""
    cell = a1.rsplit("!", 1)[-1].split(":", 1)[0]
    letters = "".join(ch for ch in cell if ch.isalpha())
    digits = "".join(ch for ch in cell if ch.isdigit())
    col = 0
    for ch in letters.upper():
        col = col * 26 + (ord(ch) - ord("A") + 1)
    return (int(digits) - 1 if digits else 0), col - 1


def _uncertain(err: SheetError) -> bool:
    """A failure after which 出品状況 may not be as the book has it."""
    return isinstance(err, CommitOutcomeUnknown) or _refused(err)


def _refused(err: SheetError) -> bool:
    """Google refused the request (400): nothing of it was applied."""
    cause = err.__cause__
    return isinstance(cause, APIError) and cause.response.status_code == 400
