"""The only user of gspread: one snapshot read, one atomic commit, one record write.

Per cycle the gateway costs (ARCHITECTURE.md §6): one ``values:batchGet`` for the
snapshot, one ``values:batchGet`` re-reading 商品マスタ and 入出庫 just before the
commit (rows are located by 商品コード, never by number, and a 在庫数 staff changed in
between is taken as a stocktake), one ``spreadsheets:batchUpdate`` carrying every
change of the cycle (all-or-nothing on Google's side), and one ``batchUpdate`` with the
push results. gspread's own retry client never gives up (6.2.1), so ours is bounded,
jittered and waits on the worker's stop event.

The commit's batchUpdate also answers with the key columns as it left them, so rows
staff moved in the moment before it landed are noticed at no extra request and put
right by one more batchUpdate (:meth:`SheetGateway._repair_misplaced`).

A write whose answer is lost may or may not have landed: each batch also writes a
marker in ``_state`` (``last_commit`` / ``last_record``), which is read back before the
batch is sent again, so nothing is applied twice.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import gspread
import requests
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient, ParamsType
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL

from bot.core.domain import (
    ErrorLogRow,
    ListingTarget,
    MallLogRow,
    OpLogRow,
    PushReason,
    PushResult,
    SaleKind,
    SaleLogRow,
    StockPush,
)
from bot.core.engine import LedgerEntry, Plan
from bot.core.errors import RateLimited, Stopped, TransientError, ZaikoError
from bot.infra.clock import JST, Clock, RealClock, format_jst
from bot.infra.retry import Backoff, RetryPolicy
from bot.infra.sheet import layout
from bot.infra.sheet.layout import SheetRead

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth retrying; google-sheets.md §1 (never 400/403/404)."""

# Tab keys of sheets_template/template.json.
PRODUCTS = "products"
SETS = "sets"
MOVEMENTS = "movements"
SETTINGS = "settings"
LISTINGS = "listings"
OPS_LOG = "ops_log"
SALES_LOG = "sales_log"
MALL_LOG = "mall_log"
ERROR_LOG = "error_log"
STATE = "state"

CYCLE_TABS = (PRODUCTS, SETS, MOVEMENTS, SETTINGS, LISTINGS, STATE)
LOG_TABS = (OPS_LOG, SALES_LOG, MALL_LOG, ERROR_LOG)

READ_BACK_COLUMNS = {PRODUCTS: ("sku", "stock", "status", "updated_at")}
"""Columns a commit asks back, per tab: 商品コード and the columns the bot writes; 入出庫
(not listed) gives back all its template columns, its fingerprint and 反映."""
READ_BACK_FIELDS = (
    "spreadsheetId,replies,updatedSpreadsheet(sheets(properties/sheetId,"
    "data(startRow,startColumn,rowData/values/userEnteredValue)))"
)
"""The only part of a commit's answer that is read: without this mask a 10,000-row
商品マスタ would come back with every cell's formats (tens of MB)."""
MAX_REPAIRS = 3
"""Repair batchUpdates after one commit before giving up (staff kept moving rows)."""

CellAt = tuple[str, int, int]
"""(tab key, grid row, column) of one cell."""
Placed = dict[CellAt, tuple[str | None, Any]]
"""Cells one batchUpdate writes: where → (key of the row it is meant for, value)."""


# --------------------------------------------------------------------------- errors


class SheetError(ZaikoError):
    """The sheet could not be read or written (after bounded retries)."""


SheetStopped = Stopped
"""The stop event was set while waiting to retry: the one Stopped of bot.core.errors."""


class SheetRateLimited(SheetError, RateLimited):
    """Google answered 429 (per-minute quota); retried, then reported."""


class SheetUnavailable(SheetError, TransientError):
    """408/5xx or a lost connection on a read; retried, then reported."""


class CommitOutcomeUnknown(SheetError):
    """A write was sent but its answer was lost (timeout); it may have been applied."""


class SheetLayoutError(SheetError):
    """A tab the bot needs is missing; ``init-sheet`` creates it."""


# --------------------------------------------------------------------------- http


class RetryingHTTPClient(HTTPClient):
    """gspread HTTP client on the shared retry policy, waiting on a stop event.

    gspread 6.2.1's BackOffHTTPClient retries forever with a sticky counter
    (google-sheets.md §5); this one makes at most ``max_tries`` attempts within
    ``max_seconds`` of backoff (:mod:`bot.infra.retry`) and never retries a write whose
    answer was lost: that is reported as :class:`CommitOutcomeUnknown` so the caller
    can check before resending.
    """

    clock: Clock = RealClock()
    stop: threading.Event | None = None
    rng: random.Random = random.Random()
    max_tries: int = 5
    max_seconds: float = 90.0
    BACKOFF = Backoff(base=2.0, cap=32.0, jitter=0.125)
    """2, 4, 8, 16 s … each with up to 1/8 more at random."""

    def configure(
        self,
        *,
        clock: Clock,
        stop: threading.Event | None,
        rng: random.Random | None = None,
        max_tries: int = 5,
        max_seconds: float = 90.0,
    ) -> None:
        """Inject the clock, stop event and limits (gspread builds the instance)."""
        self.clock = clock
        self.stop = stop
        self.rng = rng or random.Random()
        self.max_tries = max_tries
        self.max_seconds = max_seconds

    def request(
        self,
        method: str,
        endpoint: str,
        params: Any = None,
        data: Any = None,
        json: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one API call, retrying 408/429/5xx and lost connections within limits."""
        tries = 0

        def attempt() -> requests.Response:
            nonlocal tries
            tries += 1
            return self._attempt(method, endpoint, params, data, json, files, headers)

        def on_retry(error: ZaikoError, tries: int, delay: float) -> None:
            log.warning("sheets %s on %s; retry %d in %.1fs", error, _path(endpoint), tries, delay)

        policy = RetryPolicy(self.BACKOFF, max_tries=self.max_tries, max_seconds=self.max_seconds)
        try:
            return policy.run(
                attempt, clock=self.clock, stop=self.stop, rng=self.rng, on_retry=on_retry
            )
        except (SheetRateLimited, SheetUnavailable) as last:
            raise SheetUnavailable(
                f"Google Sheets: {last} after {tries} tries ({_path(endpoint)})"
            ) from last

    def _attempt(
        self,
        method: str,
        endpoint: str,
        params: Any,
        data: Any,
        json: Mapping[str, Any] | None,
        files: Any,
        headers: MutableMapping[str, str] | None,
    ) -> requests.Response:
        """One call, its failure translated to the error tree."""
        try:
            return super().request(method, endpoint, params, data, json, files, headers)
        except APIError as err:
            status = err.response.status_code
            if status == 429:
                raise SheetRateLimited(f"HTTP {status}", _retry_after(err.response)) from err
            if status in RETRY_STATUSES:
                raise SheetUnavailable(f"HTTP {status}") from err
            raise SheetError(_api_message(err)) from err
        except (requests.Timeout, requests.ConnectionError) as err:
            if method.upper() != "GET":
                raise CommitOutcomeUnknown(
                    f"no answer to {method} {_path(endpoint)}: {type(err).__name__}"
                ) from err
            raise SheetUnavailable(type(err).__name__) from err


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _path(endpoint: str) -> str:
    return endpoint.split("/spreadsheets/", 1)[-1].split("?", 1)[0]


def _api_message(err: APIError) -> str:
    return f"Google Sheets {err.response.status_code}: {err.error.get('message', '')}"


def make_client(
    auth: Any = None,
    *,
    session: requests.Session | None = None,
    clock: Clock,
    stop: threading.Event | None,
    rng: random.Random | None = None,
    timeout: tuple[float, float] = (5.0, 30.0),
    max_tries: int = 5,
    max_seconds: float = 90.0,
) -> gspread.Client:
    """A gspread client with our retry and explicit timeouts (its default is none)."""
    client = gspread.Client(auth=auth, session=session, http_client=RetryingHTTPClient)
    http = client.http_client
    assert isinstance(http, RetryingHTTPClient)
    http.configure(clock=clock, stop=stop, rng=rng, max_tries=max_tries, max_seconds=max_seconds)
    client.set_timeout(timeout)
    return client


# --------------------------------------------------------------------------- cells


def _update_cells(sheet_id: int, row: int, col: int, rows: list[list[Any]]) -> dict[str, Any]:
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": row, "columnIndex": col},
            "rows": [{"values": [layout.cell_data(v) for v in r]} for r in rows],
            "fields": "userEnteredValue",
        }
    }


def _column_runs(cells: Mapping[tuple[int, int], Any]) -> Iterable[tuple[int, int, list[Any]]]:
    """Group single-cell writes into vertical runs (fewer, smaller sub-requests)."""
    by_col: dict[int, list[tuple[int, Any]]] = {}
    for (row, col), value in cells.items():
        by_col.setdefault(col, []).append((row, value))
    for col, items in sorted(by_col.items()):
        items.sort()
        start, run = items[0][0], [items[0][1]]
        for row, value in items[1:]:
            if row == start + len(run):
                run.append(value)
            else:
                yield start, col, run
                start, run = row, [value]
        yield start, col, run


# --------------------------------------------------------------------------- gateway


@dataclass
class CommitResult:
    """What :meth:`SheetGateway.commit` did."""

    read: SheetRead
    """The read the commit was built from (re-read just before it)."""
    conflict: bool = False
    """Staff changed the sheet between the snapshot and the commit: run the engine again."""
    requests: int = 0


@dataclass
class StartupData:
    """What the worker needs once, at start-up, to rebuild the engine state."""

    ledger: list[LedgerEntry]
    listings: dict[tuple[str, str], int]
    state: dict[str, str]


@dataclass
class SheetGateway:
    """Reads the snapshot and writes the cycle's changes; see the module docstring."""

    spreadsheet: gspread.Spreadsheet
    malls: Sequence[str]
    canonical: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    sheet_ids: dict[str, int] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    log_headers: dict[str, layout.HeaderMap] = field(default_factory=dict)
    """Header maps of the log tabs as read at start-up (a fallback: every cycle's read
    carries the log tabs' header rows, so staff may reorder them while the bot runs)."""
    retention: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    """Log tab key → (max data rows, min days kept); defaults from the template."""
    log_rows: dict[str, int] = field(default_factory=dict, repr=False)
    """Data rows per log tab, counted at start-up and kept up to date by every write."""
    sales_dates: deque[datetime | None] = field(default_factory=deque, repr=False)
    """日時 of each 販売ログ row, oldest first (販売ログ keeps the cancellation window)."""
    _pending_logs: list[tuple[str, int, int, list[datetime | None]]] = field(
        default_factory=list, repr=False
    )
    _state_layout: dict[str, int] = field(default_factory=dict, repr=False)
    """_state key → grid row as the last successful commit wrote it (for record's marker)."""

    @classmethod
    def open(
        cls,
        client: gspread.Client,
        sheet_id: str,
        *,
        malls: Sequence[str],
        canonical: Mapping[str, Callable[[str], str]] | None = None,
    ) -> SheetGateway:
        """Open the spreadsheet and cache its tab ids.

        Start-up only: gspread's ``open_by_key`` reads the metadata once, the tab map
        once more; cycles never read metadata again.
        """
        try:
            spreadsheet = client.open_by_key(sheet_id)
        except SheetStopped:
            raise
        except (SheetError, APIError, gspread.exceptions.SpreadsheetNotFound) as err:
            # Our HTTP client turns 403/404 into SheetError before gspread can name them.
            raise SheetError(
                f"スプレッドシートを開けません（ID {sheet_id}）: {err}"
                "（IDと、サービスアカウントに編集者として共有されているかを確認してください）"
            ) from err
        gateway = cls(spreadsheet=spreadsheet, malls=list(malls), canonical=dict(canonical or {}))
        gateway.refresh_metadata()
        return gateway

    # -- metadata -------------------------------------------------------------

    def refresh_metadata(self) -> None:
        """Map tab keys to titles and sheet ids (one metadata read; cached after)."""
        meta = self._metadata()
        ids = {s["properties"]["title"]: s["properties"]["sheetId"] for s in meta["sheets"]}
        template = layout.load_template()
        missing = []
        for tab in template.tabs:
            if tab.title in ids:
                self.sheet_ids[tab.key] = ids[tab.title]
                self.titles[tab.key] = tab.title
            else:
                missing.append(tab.title)
        if missing:
            raise SheetLayoutError(
                "シートにタブがありません: "
                + "、".join(missing)
                + "（`python -m bot init-sheet` で作成できます）"
            )

    def _metadata(self) -> dict[str, Any]:
        try:
            meta = self.spreadsheet.fetch_sheet_metadata()
        except APIError as err:
            raise SheetError(_api_message(err)) from err
        return dict(meta)

    def _column_count(self, key: str) -> int:
        """A tab's current grid width (one metadata read: only on the rare repair path)."""
        for sheet in self._metadata()["sheets"]:
            props = sheet["properties"]
            if props["sheetId"] == self.sheet_ids[key]:
                return int(props.get("gridProperties", {}).get("columnCount", 26))
        raise SheetLayoutError(f"タブ『{self.titles[key]}』が見つかりません")

    # -- reads ---------------------------------------------------------------

    def _batch_get(self, ranges: Sequence[str]) -> list[list[list[Any]]]:
        try:
            reply = self.spreadsheet.values_batch_get(
                list(ranges),
                params={"valueRenderOption": "FORMULA", "dateTimeRenderOption": "SERIAL_NUMBER"},
            )
        except APIError as err:
            raise SheetError(_api_message(err)) from err
        return [vr.get("values", []) for vr in reply.get("valueRanges", [])]

    def _whole(self, key: str) -> str:
        return layout.quote_title(self.titles[key])

    def read(self, bot_stock: Mapping[str, int] | None = None) -> SheetRead:
        """The cycle's snapshot: one ``values:batchGet`` over the tabs that drive it.

        The same call carries the header row of every log tab, so rows appended this
        cycle follow the columns as staff have them now (no extra request).
        """
        ranges = [self._whole(k) for k in CYCLE_TABS]
        ranges += [f"{self._whole(k)}!1:1" for k in LOG_TABS]
        values = self._batch_get(ranges)
        return self._parse(dict(zip((*CYCLE_TABS, *LOG_TABS), values, strict=True)), bot_stock)

    def _parse(
        self, values: Mapping[str, list[list[Any]]], bot_stock: Mapping[str, int] | None
    ) -> SheetRead:
        return layout.parse_sheet(
            values, malls=self.malls, canonical=self.canonical, bot_stock=bot_stock
        )

    def load_startup(self) -> StartupData:
        """Ledger, pushed numbers and _state for rebuilding the engine (start-up only)."""
        tabs = (SALES_LOG, LISTINGS, STATE, OPS_LOG, MALL_LOG, ERROR_LOG)
        # The ledger, 出品状況 and _state in full; of the other logs their headers and
        # first column (to count rows for trimming).
        ranges = [self._whole(k) for k in tabs[:3]] + [f"{self._whole(k)}!1:1" for k in tabs[3:]]
        ranges += [f"{self._whole(k)}!A:A" for k in tabs[3:]]
        got = self._batch_get(ranges)
        values = dict(zip(tabs, got[: len(tabs)], strict=True))
        for key, column in zip(tabs[3:], got[len(tabs) :], strict=True):
            self.log_rows[key] = max(0, len(column) - 1)
        template = layout.load_template()
        for tab in template.tabs:
            if tab.retention is not None and tab.key not in self.retention:
                self.retention[tab.key] = (tab.retention.max_rows, tab.retention.min_days)
        for key in LOG_TABS:
            rows = values.get(key) or [[]]
            self.log_headers[key] = layout.header_map(template.tab(key), rows[0] if rows else [])
        sales = values.get(SALES_LOG) or []
        self.log_rows[SALES_LOG] = max(0, len(sales) - 1)
        at_col = self.log_headers[SALES_LOG].col("at")
        self.sales_dates = deque(_date(_at(row, at_col)) for row in sales[1:])
        ledger = _parse_ledger(sales, self.log_headers[SALES_LOG])
        listing_header = layout.header_map(
            template.tab(LISTINGS), (values.get(LISTINGS) or [[]])[0]
        )
        listings: dict[tuple[str, str], int] = {}
        for row in (values.get(LISTINGS) or [])[1:]:
            mall_text = _text(_at(row, listing_header.col("mall")))
            mall = layout.mall_key(mall_text) or mall_text
            code = _text(_at(row, listing_header.col("code")))
            qty = _at(row, listing_header.col("quantity"))
            if mall and code and isinstance(qty, int | float) and not isinstance(qty, bool):
                listings[(mall, code)] = int(qty)
        state = _state_dict(values.get(STATE) or [])
        return StartupData(ledger=ledger, listings=listings, state=state)

    # -- commit ----------------------------------------------------------------

    def reread(self, previous: SheetRead, bot_stock: Mapping[str, int] | None) -> SheetRead:
        """Re-read 商品マスタ and 入出庫 just before a commit (one request)."""
        fresh = self._batch_get([self._whole(PRODUCTS), self._whole(MOVEMENTS)])
        values = dict(previous.raw)
        values[PRODUCTS], values[MOVEMENTS] = fresh
        return self._parse(values, bot_stock)

    def commit(
        self,
        plan: Plan,
        read: SheetRead,
        state_values: Mapping[str, str],
        *,
        bot_stock: Mapping[str, int] | None,
        commit_id: str,
    ) -> CommitResult:
        """Write the plan in ONE atomic batchUpdate, after re-reading positions.

        If staff changed the sheet in between (a 在庫数, a new 入出庫 row, a row fixed or
        broken), nothing is written and ``conflict`` tells the worker to run the engine
        again on the returned read. Sorting, inserting or deleting rows is not a conflict:
        cells are located by 商品コード in the re-read.
        """
        fresh = self.reread(read, bot_stock)
        if _meaning(fresh) != _meaning(read):
            return CommitResult(read=fresh, conflict=True, requests=1)
        self._pending_logs = []
        placed = self._placed_cells(plan, fresh)
        requests_, layout_ = self._commit_requests(plan, fresh, placed, state_values, commit_id)
        read_back = self._read_back_columns(fresh, {tab for tab, _, _ in placed})
        try:
            sent, reply = self._send(requests_, "last_commit", commit_id, read_back)
        except SheetError:
            self._settle_logs(applied=False)
            raise
        self._settle_logs(applied=True)
        self._state_layout = layout_
        if reply is not None and placed:  # (an answer lost in transit cannot be checked)
            sent += self._repair_misplaced(reply, placed, fresh, read_back)
        return CommitResult(read=fresh, requests=1 + sent)

    def _send(
        self,
        requests_: list[dict[str, Any]],
        marker_key: str,
        marker: str | None,
        read_back: Mapping[str, Sequence[int]] | None = None,
    ) -> tuple[int, dict[str, Any] | None]:
        """Send a batchUpdate; returns the requests it took and its answer.

        With ``read_back`` (tab key → columns) the answer carries those columns as the
        batch left them, read in the same atomic step (None when it was lost).

        When the answer is lost (timeout, reset connection) the change may or may not
        be in the sheet: the batch also wrote ``marker`` under ``marker_key`` in _state,
        so _state is read and the batch is sent again only if the marker is not there.
        Raises :class:`CommitOutcomeUnknown` when that cannot be settled (the caller
        must then re-read the sheet before trusting what it believes it holds).
        """
        if not requests_:
            return 0, None
        body: dict[str, Any] = {"requests": requests_}
        params: ParamsType | None = None
        if read_back:
            body["includeSpreadsheetInResponse"] = True
            body["responseIncludeGridData"] = True
            body["responseRanges"] = self._ranges(read_back)
            params = {"fields": READ_BACK_FIELDS}
        try:
            return 1, self._batch_update(body, params)
        except CommitOutcomeUnknown as lost:
            if marker is None:
                raise
            try:
                state = _state_dict(self._batch_get([self._whole(STATE)])[0])
            except SheetStopped:
                raise
            except SheetError as err:
                raise CommitOutcomeUnknown(
                    f"{lost}; _state could not be read to check whether it was applied: {err}"
                ) from err
            if state.get(marker_key) == marker:
                log.warning("write %s was applied although its answer was lost", marker)
                return 2, None
            log.warning("write %s was not applied; sending it again", marker)
            return 3, self._batch_update(body, params)
        except APIError as err:
            raise SheetError(_api_message(err)) from err

    def _batch_update(self, body: Mapping[str, Any], params: ParamsType | None) -> Any:
        """``spreadsheets:batchUpdate`` (gspread's own wrapper cannot pass ``fields``)."""
        url = SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet.id
        return self.spreadsheet.client.request("post", url, json=body, params=params).json()

    # -- verify and repair -----------------------------------------------------

    def _repair_misplaced(
        self,
        reply: Mapping[str, Any],
        placed: Placed,
        read: SheetRead,
        read_back: Mapping[str, Sequence[int]],
    ) -> int:
        """Put the commit's cells back on their rows if staff moved rows as it was sent.

        Sheets v4 has no compare-and-set (google-sheets.md §2) and updateCells addresses
        rows by position, taken from the re-read just before the commit. A sort, insert
        or delete in that moment lands 在庫数/状態/最終更新 on another product, or a 反映
        mark on another 入出庫 row: one movement shows 済 but was never applied, the
        right one stays unmarked and is applied again next cycle.

        The commit's answer holds the key columns as it left them (same atomic call, no
        extra request). If a written row no longer holds the 商品コード / fingerprint it
        was meant for, one more batchUpdate writes every intended value on the row that
        now holds its key, and gives each row written by mistake back what the re-read
        saw in it (blank for a row the re-read did not have, so a number meant for
        another product never passes for a stocktake). The repair's own answer is
        checked the same way. Never raises: the commit itself has landed.
        Returns the requests sent (0 when nothing moved).
        """
        wanted = {
            (tab, key, col): value
            for (tab, _, col), (key, value) in placed.items()
            if key is not None
        }
        before: dict[str, dict[str, list[int]]] | None = None
        sent = 0
        for _ in range(MAX_REPAIRS):
            grids = self._grids_after(reply, read, read_back)
            if grids is None:
                log.error("commit not verified: its answer shows other headers (columns moved?)")
                return sent
            written = {row for tab, row, _ in placed if tab == PRODUCTS}
            keys = self._row_keys(grids, written)
            wrong = [cell for cell, (key, _) in placed.items() if keys[cell[0]].get(cell[1]) != key]
            if not wrong:
                return sent
            keys = self._row_keys(grids)  # every row: where the keys went
            rows_of = _rows_by_key(keys)
            if before is None:
                before = _rows_by_key(self._row_keys(read.raw))
            fixes: dict[CellAt, Any] = {}
            for tab, row, col in wrong:
                key = keys[tab].get(row)
                if key is None:  # a blank row staff inserted: nothing of ours belongs there
                    fixes[(tab, row, col)] = None
                else:
                    was = _value_before(read.raw.get(tab) or [], before[tab].get(key, []), col)
                    wanted.setdefault((tab, key, col), was)
            for (tab, key, col), value in wanted.items():
                for row in rows_of[tab].get(key, []):
                    if not _same(_grid_at(grids[tab], row, col), value):
                        fixes[(tab, row, col)] = value
            if not fixes:
                return sent
            log.warning(
                "rows moved while the commit was sent (%s); putting %d cells back on their rows",
                ", ".join(f"{self.titles[t]}!{layout.a1(r, c)}" for t, r, c in wrong[:10]),
                len(fixes),
            )
            try:
                n, answer = self._send(self._cell_requests(fixes), "", None, read_back)
            except CommitOutcomeUnknown:
                sent += 1
                continue  # same fixes again: they are absolute values, safe to resend
            except SheetError as err:
                log.error("could not repair rows moved during the commit: %s", err)
                return sent + 1
            sent += n
            assert answer is not None  # without a marker, _send answers or raises
            reply = answer
            placed = {cell: (keys[cell[0]].get(cell[1]), v) for cell, v in fixes.items()}
        log.error("rows kept moving during %d repairs of the commit; check 商品マスタ/入出庫", sent)
        return sent

    def _read_back_columns(self, read: SheetRead, tabs: Iterable[str]) -> dict[str, list[int]]:
        """Columns locating the cells written to ``tabs``: keys and bot-written columns."""
        out: dict[str, list[int]] = {}
        for tab in (PRODUCTS, MOVEMENTS):
            if tab not in tabs:
                continue
            header = read.headers[tab]
            keys = READ_BACK_COLUMNS.get(tab) or [c.key for c in header.tab.columns]
            out[tab] = sorted({c for k in keys if (c := header.col(k)) is not None})
        return out

    def _ranges(self, columns: Mapping[str, Sequence[int]]) -> list[str]:
        """Whole-column A1 ranges, adjacent columns merged (``'商品マスタ'!O:P``)."""
        ranges: list[str] = []
        for tab, cols in columns.items():
            for first, last in _spans(cols):
                letters = f"{layout.column_letter(first)}:{layout.column_letter(last)}"
                ranges.append(f"{self._whole(tab)}!{letters}")
        return ranges

    def _grids_after(
        self,
        reply: Mapping[str, Any],
        read: SheetRead,
        read_back: Mapping[str, Sequence[int]],
    ) -> dict[str, list[list[Any]]] | None:
        """The read-back columns as value grids under the re-read's header rows.

        None when a header cell differs from the re-read (staff moved columns: the
        rows cannot be checked).
        """
        tab_of = {self.sheet_ids[tab]: tab for tab in read_back}
        grids: dict[str, list[list[Any]]] = {tab: [[]] for tab in read_back}
        for sheet in reply.get("updatedSpreadsheet", {}).get("sheets", []):
            tab = tab_of.get(sheet.get("properties", {}).get("sheetId", 0))
            if tab is None:
                continue
            for data in sheet.get("data", []):
                r0, c0 = data.get("startRow", 0), data.get("startColumn", 0)
                for i, row_data in enumerate(data.get("rowData", [])):
                    for j, cell in enumerate(row_data.get("values", [])):
                        value = _entered(cell.get("userEnteredValue"))
                        if value is not None:  # formatted blank rows run to the grid's end
                            _put(grids[tab], r0 + i, c0 + j, value)
        for tab, grid in grids.items():
            header = read.raw[tab][0] if read.raw.get(tab) else []
            if any(
                layout.cell_text(_grid_at(grid, 0, c)) != layout.cell_text(_at(header, c))
                for c in read_back[tab]
            ):
                return None
            grid[0] = list(header)
        return grids

    def _row_keys(
        self, grids: Mapping[str, list[list[Any]]], product_rows: Collection[int] | None = None
    ) -> dict[str, dict[int, str]]:
        """Grid row → the key the commit locates it by: 商品コード, or 入出庫's fingerprint.

        Both come from layout's own parser, so a row is recognised exactly as the
        re-read recognised it. 反映 is blanked first: the parser passes over rows marked
        済, and the mark is no part of the fingerprint. ``product_rows`` limits
        商品マスタ to those rows (checking a commit needs only the rows it wrote, and a
        10,000-row parse is not free); 入出庫 is always whole, as a fingerprint counts
        the identical rows above it.
        """
        values: dict[str, list[list[Any]]] = {}
        if PRODUCTS in grids:
            rows = grids[PRODUCTS]
            if product_rows is not None:
                rows = [r if i == 0 or i in product_rows else [] for i, r in enumerate(rows)]
            values[PRODUCTS] = rows
        if MOVEMENTS in grids:
            rows = grids[MOVEMENTS]
            mark = layout.header_map(layout.load_template().tab(MOVEMENTS), rows[0]).col("applied")
            values[MOVEMENTS] = [rows[0], *(_without(r, mark) for r in rows[1:])]
        parsed = layout.parse_sheet(values, malls=self.malls, canonical=self.canonical)
        return {
            PRODUCTS: {row: sku for sku, rows in parsed.sku_rows.items() for row in rows},
            MOVEMENTS: {row: key for key, row in parsed.movement_rows.items()},
        }

    def _placed_cells(self, plan: Plan, read: SheetRead) -> Placed:
        """Where the plan's 在庫数/状態/最終更新 and 反映 cells go, and for which row key."""
        placed: Placed = {}
        products = read.headers[PRODUCTS]
        stock_col = products.col("stock")
        status_col = products.col("status")
        updated_col = products.col("updated_at")
        for sku, value in plan.stock.items():
            row = read.product_rows.get(sku)
            if row is not None and stock_col is not None:
                placed[(PRODUCTS, row, stock_col)] = (sku, value)
        for sku in plan.touched:
            row = read.product_rows.get(sku)
            if row is not None and updated_col is not None:
                placed[(PRODUCTS, row, updated_col)] = (sku, format_jst(plan.now))
        if status_col is not None:
            for sku, status in plan.statuses.items():
                for row in read.rows_of(sku):
                    if read.status_at(row) != status:
                        placed[(PRODUCTS, row, status_col)] = (sku, status)
        mark_col = read.headers[MOVEMENTS].col("applied")
        if mark_col is not None:
            wanted = {key: f"エラー: {p.message}" for key, p in read.movement_problems.items()}
            wanted.update(plan.movement_marks)
            for key, text in wanted.items():
                row = read.movement_rows.get(key)
                if row is not None and read.movement_mark_at(row) != text:
                    placed[(MOVEMENTS, row, mark_col)] = (key, text)
        return placed

    def _cell_requests(self, cells: Mapping[CellAt, Any]) -> list[dict[str, Any]]:
        """The requests writing ``cells`` (updateCells in vertical runs, 商品マスタ first)."""
        reqs: list[dict[str, Any]] = []
        for tab in (PRODUCTS, MOVEMENTS):
            mine = {(row, col): v for (t, row, col), v in cells.items() if t == tab}
            for start, col, run in _column_runs(mine):
                reqs.append(_update_cells(self.sheet_ids[tab], start, col, [[v] for v in run]))
        return reqs

    def _commit_requests(
        self,
        plan: Plan,
        read: SheetRead,
        placed: Placed,
        state_values: Mapping[str, str],
        commit_id: str,
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        reqs = self._cell_requests({cell: value for cell, (_, value) in placed.items()})
        reqs.extend(self._append(SALES_LOG, [_sale_row(r) for r in plan.sales_log], read))
        reqs.extend(self._append(OPS_LOG, [_op_row(r) for r in plan.ops_log], read))
        reqs.extend(self._append(ERROR_LOG, [_error_row(r) for r in plan.error_log], read))
        state = {k: v for k, v in read.state.items() if _chunk_base(k) not in state_values}
        for state_key, text in state_values.items():
            state.update(_chunks(state_key, text))
        state["last_commit"] = commit_id
        state.setdefault("last_record", "")  # a fixed row for record()'s own marker
        state_req, state_layout = self._state_request(state, read)
        reqs.extend(state_req)
        return reqs, state_layout

    def _state_request(
        self, state: Mapping[str, str], read: SheetRead
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Rewrite _state sorted by key, clearing every row it held before (duplicates too)."""
        key_col, value_col = _state_columns(read.headers.get(STATE))
        previous_rows = max(len(read.raw.get(STATE) or []) - 1, 0)
        rows: list[list[Any]] = [[k, v] for k, v in sorted(state.items())]
        rows += [[None, None]] * max(0, previous_rows - len(rows))
        rows_of = {k: i for i, (k, _) in enumerate(sorted(state.items()), start=1)}
        sheet_id = self.sheet_ids[STATE]
        if value_col == key_col + 1:  # the usual layout: one block of [キー, 値] rows
            return [_update_cells(sheet_id, 1, key_col, rows)], rows_of
        return [
            _update_cells(sheet_id, 1, key_col, [[k] for k, _ in rows]),
            _update_cells(sheet_id, 1, value_col, [[v] for _, v in rows]),
        ], rows_of

    def _trim_request(self, key: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Delete the oldest rows of a log tab past its retention, in the same atomic call.

        Logs are trimmed in steps (5 % of the limit at once) so a busy tab is not
        trimmed on every cycle; 販売ログ never loses a row younger than its minimum
        days, because it is the ledger a restart is rebuilt from (§3).
        """
        dates = [_date(row.get("at")) for row in rows]
        if key not in self.log_rows or key not in self.retention:
            self._pending_logs.append((key, len(rows), 0, dates))
            return []
        max_rows, min_days = self.retention[key]
        excess = self.log_rows[key] + len(rows) - max_rows
        if excess <= max(1, max_rows // 20):
            self._pending_logs.append((key, len(rows), 0, dates))
            return []
        if key == SALES_LOG and min_days is not None:
            newest = max((d for d in dates if d is not None), default=None)
            if newest is not None:
                horizon = newest - timedelta(days=min_days)
                old = 0
                for when in self.sales_dates:
                    if old >= excess or (when is not None and when >= horizon):
                        break
                    old += 1
                excess = old
        excess = min(excess, self.log_rows[key])
        self._pending_logs.append((key, len(rows), excess, dates))
        if excess <= 0:
            return []
        log.info("trimming %d oldest rows of %s", excess, key)
        return [
            {
                "deleteDimension": {
                    "range": {
                        "sheetId": self.sheet_ids[key],
                        "dimension": "ROWS",
                        "startIndex": 1,
                        "endIndex": 1 + excess,
                    }
                }
            }
        ]

    def _settle_logs(self, applied: bool) -> None:
        """After a write: count what it appended and trimmed (nothing if it failed)."""
        pending, self._pending_logs = self._pending_logs, []
        if not applied:
            return
        for key, added, trimmed, dates in pending:
            if key in self.log_rows:
                self.log_rows[key] += added - trimmed
            if key == SALES_LOG:
                for _ in range(min(trimmed, len(self.sales_dates))):
                    self.sales_dates.popleft()
                self.sales_dates.extend(dates)

    def _append(
        self, key: str, rows: Sequence[Mapping[str, Any]], read: SheetRead | None
    ) -> list[dict[str, Any]]:
        """The appendCells request placing each value under its header as the tab has it now.

        A template column missing from the header (staff deleted or renamed it) is put
        back after the last header in the same atomic call, so no value is dropped: for
        販売ログ that would break the ledger a restart is rebuilt from.
        """
        if not rows:
            return []
        trim = self._trim_request(key, rows)
        tab = layout.load_template().tab(key)
        grid_rows = read.raw.get(key) if read is not None else None
        if grid_rows is not None:
            header = layout.header_map(tab, grid_rows[0] if grid_rows else [])
        else:
            header = self.log_headers.get(key) or layout.default_header_map(tab)
        columns = dict(header.columns)
        width = header.width
        reqs: list[dict[str, Any]] = trim
        missing = [c for c in tab.columns if c.key not in columns]
        if missing:
            need = width + len(missing)
            have = self._column_count(key)
            if need > have:
                reqs.append(
                    {
                        "appendDimension": {
                            "sheetId": self.sheet_ids[key],
                            "dimension": "COLUMNS",
                            "length": need - have,
                        }
                    }
                )
            reqs.append(_update_cells(self.sheet_ids[key], 0, width, [[c.header for c in missing]]))
            for i, spec in enumerate(missing):
                columns[spec.key] = width + i
            width = need
            log.warning(
                "%s: header %s missing; put back", tab.title, "、".join(c.header for c in missing)
            )
        grid: list[list[Any]] = []
        for row in rows:
            line: list[Any] = [None] * width
            for col_key, value in row.items():
                col = columns.get(col_key)
                if col is not None:
                    line[col] = value
            grid.append(line)
        reqs.append(
            {
                "appendCells": {
                    "sheetId": self.sheet_ids[key],
                    "rows": [{"values": [layout.cell_data(v) for v in r]} for r in grid],
                    "fields": "userEnteredValue",
                }
            }
        )
        return reqs

    # -- record ------------------------------------------------------------------

    def record(
        self,
        read: SheetRead,
        pushed: Sequence[tuple[StockPush, PushResult]],
        mall_logs: Sequence[MallLogRow],
        targets: Sequence[ListingTarget],
        errors: Sequence[ErrorLogRow],
        now: datetime,
        commit_id: str,
    ) -> int:
        """Push results → モール更新ログ and 出品状況 in one batchUpdate; returns requests sent."""
        self._pending_logs = []
        reqs = self._append(MALL_LOG, [_mall_row(r) for r in mall_logs], read)
        reqs.extend(self._append(ERROR_LOG, [_error_row(r) for r in errors], read))
        header = read.headers[LISTINGS]
        result_of = {(p.mall, p.code): (p, r) for p, r in pushed}
        cells: dict[tuple[int, int], Any] = {}
        new_rows: list[dict[str, Any]] = []
        for target in targets:
            key = (target.mall, target.code)
            row = read.listing_rows.get(key)
            entry = result_of.get(key)
            if entry is None and row is not None:
                # Not pushed: the row already says what the mall shows; only a change of
                # reason (連動 turned off or on) is written.
                col = header.col("reason")
                if col is not None and read.listing_reasons.get(key) != str(target.reason):
                    cells[(row, col)] = str(target.reason)
                continue
            values: dict[str, Any] = {
                "mall": _mall_label(target.mall),
                "code": target.code,
                "sku": target.sku,
            }
            if entry is not None:
                push, result = entry
                values.update(
                    quantity=push.quantity,
                    reason=str(push.reason),
                    at=format_jst(now),
                    result=_result_label(result),
                    resend=False,
                )
            else:
                shown = None if target.reason is PushReason.STOPPED else target.quantity
                values.update(quantity=shown, reason=str(target.reason), resend=False)
            if row is None:
                new_rows.append(values)
                continue
            for col_key, value in values.items():
                col = header.col(col_key)
                if col is not None:
                    cells[(row, col)] = value
        for start, col, run in _column_runs(cells):
            reqs.append(_update_cells(self.sheet_ids[LISTINGS], start, col, [[v] for v in run]))
        if new_rows:
            reqs.extend(self._append(LISTINGS, new_rows, read))
        marker: str | None = None
        row = self._state_layout.get("last_record")
        if reqs and row is not None:
            marker = commit_id + "/record"
            _, value_col = _state_columns(read.headers.get(STATE))
            reqs.append(_update_cells(self.sheet_ids[STATE], row, value_col, [[marker]]))
        try:
            sent, _ = self._send(reqs, "last_record", marker)
            self._settle_logs(applied=True)
            return sent
        except CommitOutcomeUnknown:
            self._settle_logs(applied=False)
            if marker is None:
                # Without a marker a resend could duplicate log rows; push results are
                # re-derivable (listing state), so a lost record is the lesser harm.
                log.warning("push results for %s may not have been recorded", commit_id)
                return 1
            raise


# --------------------------------------------------------------------------- rows


def _meaning(read: SheetRead) -> tuple[Any, ...]:
    """What the engine would see, ignoring where rows sit (sorting is not a conflict)."""
    snap = read.snapshot
    return (
        {sku: p.model_dump(exclude={"row"}) for sku, p in snap.products.items()},
        snap.invalid_skus,
        tuple(sorted(m.key for m in snap.movements)),
    )


def _result_label(result: PushResult) -> str:
    return {
        "applied": "反映済",
        "accepted": "受付済（反映待ち）",
        "rejected": "エラー",
        "unknown_code": "コードなし",
    }[str(result.status)] + (f": {result.message}" if result.message else "")


def _mall_label(mall: str) -> str:
    """Staff read 楽天, not rakuten; layout.mall_key maps it back when reading."""
    return layout.load_template().mall_label(mall)


def _sale_row(r: SaleLogRow) -> dict[str, Any]:
    return {
        "at": format_jst(r.at),
        "mall": _mall_label(r.mall),
        "order_id": r.order_id,
        "line_id": r.line_id,
        "kind": str(r.kind),
        "code": r.code,
        "sku": r.sku,
        "qty": r.qty,
        "before": r.before,
        "after": r.after,
        "key": r.key,
        "applied": r.applied,
    }


def _op_row(r: OpLogRow) -> dict[str, Any]:
    return {
        "at": format_jst(r.at),
        "kind": r.kind,
        "sku": r.sku,
        "field": r.field,
        "before": r.before,
        "after": r.after,
        "memo": r.memo,
    }


def _error_row(r: ErrorLogRow) -> dict[str, Any]:
    return {"at": format_jst(r.at), "where": r.where, "message": r.message, "detail": r.detail}


def _mall_row(r: MallLogRow) -> dict[str, Any]:
    return {
        "at": format_jst(r.at),
        "mall": _mall_label(r.mall),
        "code": r.code,
        "sku": r.sku,
        "quantity": r.quantity,
        "result": r.result,
        "detail": r.detail,
    }


def _at(row: Sequence[Any], col: int | None) -> Any:
    return row[col] if col is not None and col < len(row) else None


def _grid_at(grid: Sequence[Sequence[Any]], row: int, col: int) -> Any:
    return _at(grid[row], col) if row < len(grid) else None


def _put(grid: list[list[Any]], row: int, col: int, value: Any) -> None:
    while len(grid) <= row:
        grid.append([])
    line = grid[row]
    if len(line) <= col:
        line.extend([None] * (col + 1 - len(line)))
    line[col] = value


def _without(row: Sequence[Any], col: int | None) -> list[Any]:
    """``row`` with cell ``col`` blanked."""
    out = list(row)
    if col is not None and col < len(out):
        out[col] = None
    return out


def _entered(value: Mapping[str, Any] | None) -> Any:
    """An ExtendedValue as a ``valueRenderOption=FORMULA`` read shows it."""
    if not value:
        return None
    if "formulaValue" in value:
        return value["formulaValue"]
    for kind in ("stringValue", "numberValue", "boolValue"):
        if kind in value:
            return value[kind]
    return None  # errorValue: only formulas produce it


def _same(a: Any, b: Any) -> bool:
    """Two cell values that read the same (9 and 9.0, None and "")."""
    return layout.cell_text(a) == layout.cell_text(b)


def _spans(cols: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted column indexes as inclusive runs: [0, 2, 14, 15] → [(0, 0), (2, 2), (14, 15)]."""
    spans: list[tuple[int, int]] = []
    for col in cols:
        if spans and spans[-1][1] == col - 1:
            spans[-1] = (spans[-1][0], col)
        else:
            spans.append((col, col))
    return spans


def _rows_by_key(keys: Mapping[str, Mapping[int, str]]) -> dict[str, dict[str, list[int]]]:
    """Tab → row key → its grid rows (several for a duplicated 商品コード)."""
    out: dict[str, dict[str, list[int]]] = {}
    for tab, by_row in keys.items():
        rows = out.setdefault(tab, {})
        for row, key in by_row.items():
            rows.setdefault(key, []).append(row)
    return out


def _value_before(grid: Sequence[Sequence[Any]], rows: Sequence[int], col: int) -> Any:
    """What the re-read saw in ``col`` of a key's ``rows``; None if unknown.

    Several rows (a duplicated 商品コード) count only if they agree; a key the re-read
    did not have (a row staff just added) has nothing to go back to.
    """
    seen = [_grid_at(grid, row, col) for row in rows]
    if not seen or any(not _same(v, seen[0]) for v in seen):
        return None
    return seen[0]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    try:
        return int(str(value).strip() or 0)
    except ValueError:
        return 0


def _state_columns(header: layout.HeaderMap | None) -> tuple[int, int]:
    """(キー, 値) columns of _state; A and B unless its header says otherwise."""
    if header is None:
        return 0, 1
    key_col, value_col = header.col("key"), header.col("value")
    if key_col is None or value_col is None or key_col == value_col:
        return 0, 1
    return key_col, value_col


CELL_CHARS = 45_000
"""Longest _state value put in one cell; Google refuses more than 50,000 characters per
cell (google-sheets.md §1), and the alert conditions of a big shop can pass that."""

_CHUNK = re.compile(r"^(.*)#(\d+)$")


def _chunk_base(key: str) -> str:
    """``conditions#2`` → ``conditions`` (continuation rows of a long _state value)."""
    m = _CHUNK.match(key)
    return m.group(1) if m else key


def _chunks(key: str, value: str) -> dict[str, str]:
    """One long _state value as rows ``key``, ``key#1``, ``key#2``, … of ≤ CELL_CHARS each."""
    parts = [value[i : i + CELL_CHARS] for i in range(0, len(value), CELL_CHARS)] or [""]
    return {key if i == 0 else f"{key}#{i}": part for i, part in enumerate(parts)}


def _state_dict(rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    """_state rows as キー → 値, long values joined back from their ``#n`` rows.

    The first row of a key wins, as in layout.parse_sheet.
    """
    header = layout.header_map(layout.load_template().tab(STATE), rows[0] if rows else [])
    key_col, value_col = _state_columns(header)
    raw: dict[str, str] = {}
    for row in rows[1:]:
        key = _text(_at(row, key_col))
        if key and key not in raw:
            value = _at(row, value_col)
            raw[key] = "" if value is None else str(value)
    out: dict[str, str] = {}
    for key, value in raw.items():
        m = _CHUNK.match(key)
        if m and m.group(1) in raw:
            continue
        parts = [value]
        n = 1
        while f"{key}#{n}" in raw:
            parts.append(raw[f"{key}#{n}"])
            n += 1
        out[key] = "".join(parts)
    return out


def _when(value: Any) -> datetime | None:
    """A log timestamp: the bot's JST text, or a date serial if the cell became a date."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
        seconds = round(float(value) * 86400)  # the sheet's time zone is Asia/Tokyo
        return datetime(1899, 12, 30, tzinfo=JST) + timedelta(seconds=seconds)
    return layout.parse_jst(_text(value))


def _date(value: Any) -> datetime | None:
    """A log 日時 cell (our JST text, or a serial if Sheets turned it into a date)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A serial day number (days since 1899-12-30, google-sheets.md §3), in JST.
        return datetime(1899, 12, 30, tzinfo=JST) + timedelta(days=float(value))
    return layout.parse_jst(_text(value)) if value else None


def _parse_ledger(rows: list[list[Any]], header: layout.HeaderMap) -> list[LedgerEntry]:
    kinds = {k.value: k for k in SaleKind}
    entries: list[LedgerEntry] = []
    for row in rows[1:]:
        key = _text(_at(row, header.col("key")))
        kind = kinds.get(_text(_at(row, header.col("kind"))))
        if not key or kind is None:
            continue
        entries.append(
            LedgerEntry(
                key=key,
                mall=layout.mall_key(_text(_at(row, header.col("mall"))))
                or _text(_at(row, header.col("mall"))),
                order_id=_text(_at(row, header.col("order_id"))),
                line_id=_text(_at(row, header.col("line_id"))),
                code=_text(_at(row, header.col("code"))),
                sku=_text(_at(row, header.col("sku"))),
                kind=kind,
                qty=_int(_at(row, header.col("qty"))),
                applied=_int(_at(row, header.col("applied"))),
                at=_when(_at(row, header.col("at"))),
            )
        )
    return entries


def state_values(
    cursors: Mapping[str, datetime], conditions: Iterable[str], stock: Mapping[str, int]
) -> dict[str, str]:
    """The _state rows the worker keeps.

    Order cursors, raised alert conditions, and the negative stocks the bot wrote (so
    after a restart they still read as the truth of an oversell, not as a negative
    number typed by staff).
    """
    values = {f"cursor:{mall}": when.isoformat() for mall, when in cursors.items()}
    values["conditions"] = json.dumps(sorted(conditions), ensure_ascii=False)
    negative = {sku: qty for sku, qty in sorted(stock.items()) if qty < 0}
    values["negative_stock"] = json.dumps(negative, ensure_ascii=False)
    return values
