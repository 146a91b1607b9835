"""The only user of gspread: one snapshot read, one atomic commit, the record writes.

Per cycle (ARCHITECTURE.md §1, §6): one ``values:batchGet`` (mostly 商品マスタ's two hot
columns, :mod:`bot.infra.sheet.hot`), one ``values:batchGetByDataFilter`` re-reading
what the commit overwrites, one all-or-nothing ``spreadsheets:batchUpdate`` that also
answers with the written rows' keys (rows staff moved meanwhile are put right:
:mod:`bot.infra.sheet.repair`), and the record's batchUpdates (each ≤ 2 MB). A write
whose answer is lost is sent again only if its ``_state`` marker is not there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import gspread
from gspread.exceptions import APIError
from gspread.http_client import ParamsType
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL

from bot.core.domain import (
    ErrorLogRow,
    ListingTarget,
    MallLogRow,
    Product,
    PushResult,
    StockPush,
)
from bot.core.engine import ChangedTargets, Plan
from bot.core.words import say
from bot.infra.sheet import layout
from bot.infra.sheet.access import open_spreadsheet
from bot.infra.sheet.budget import MAX_REQUEST_BYTES, json_size, split_by_size
from bot.infra.sheet.client import (
    CommitOutcomeUnknown,
    RetryingHTTPClient,
    SheetError,
    SheetLayoutError,
    SheetStopped,
    api_message,
    decoded,
    make_client,
    resend_unless_landed,
)
from bot.infra.sheet.commit import (
    READ_BACK_COLUMNS,
    READ_BACK_FIELDS,
    StatusesShown,
    cell_requests,
    column_ranges,
    cosmetic_apart,
    encoded_cell_requests,
    narrow_movements,
    placed_cells,
    read_back_columns,
    row_key_columns,
    state_rows,
    statuses_shown,
)
from bot.infra.sheet.encoded import AnyRequest
from bot.infra.sheet.fetch import columns_now, filtered_ranges
from bot.infra.sheet.formats import TextKeeper
from bot.infra.sheet.hot import (
    GridCache,
    Reread,
    answer_cells,
    grid_cells,
    row_runs,
    rows_of_runs,
    value_cells,
)
from bot.infra.sheet.known_span import KnownSpan, KnownTexts
from bot.infra.sheet.layout import SheetRead
from bot.infra.sheet.listing_book import ListingBook
from bot.infra.sheet.logs import LogTabs
from bot.infra.sheet.movement_ledger import next_ledger_rows, with_ledger
from bot.infra.sheet.movements_read import movements_tail
from bot.infra.sheet.parse_products import ProductsMemo
from bot.infra.sheet.parse_tabs import MovementsPrefix
from bot.infra.sheet.record import RecordIncomplete, RecordPort, RecordWriter
from bot.infra.sheet.repair import RowRepair, repair_misplaced
from bot.infra.sheet.rows import directory, error_row, log_rows, meaning
from bot.infra.sheet.snapshot_read import SnapshotReader
from bot.infra.sheet.spec import Template, load_template, registered_channels
from bot.infra.sheet.startup import StartupData, load_startup
from bot.infra.sheet.state import state_dict, state_request, state_values
from bot.infra.sheet.status import StatusBoard, status_requests
from bot.infra.sheet.tab_watch import TabWatch, missing_titles
from bot.infra.sheet.tabs import (
    CYCLE_TABS,
    ERROR_LOG,
    LISTINGS,
    LOG_TABS,
    MALL_LOG,
    MOVEMENTS,
    OPS_LOG,
    PRODUCTS,
    SALES_LOG,
    SETS,
    SETTINGS,
    STATE,
    CellAt,
    Placed,
)
from bot.infra.sheet.template import plan_tabs

if TYPE_CHECKING:
    from adapters.base import Channel

log = logging.getLogger(__name__)

SheetsClient: TypeAlias = gspread.Client
"""What the composition root holds without importing gspread itself."""


__all__ = [
    "CYCLE_TABS",
    "ERROR_LOG",
    "LISTINGS",
    "LOG_TABS",
    "MALL_LOG",
    "MOVEMENTS",
    "OPS_LOG",
    "PRODUCTS",
    "READ_BACK_COLUMNS",
    "READ_BACK_FIELDS",
    "SALES_LOG",
    "SETS",
    "SETTINGS",
    "STATE",
    "CellAt",
    "CommitOutcomeUnknown",
    "CommitResult",
    "Placed",
    "RecordIncomplete",
    "RetryingHTTPClient",
    "SheetError",
    "SheetGateway",
    "SheetLayoutError",
    "SheetStopped",
    "StartupData",
    "make_client",
    "state_values",
]


@dataclass
class CommitResult:
    """What :meth:`SheetGateway.commit` did."""

    read: SheetRead
    """The read the commit was built from (re-read just before it)."""
    conflict: bool = False
    """Staff changed the sheet between the snapshot and the commit: run the engine again."""
    requests: int = 0


@dataclass
class SheetGateway:
    """Reads the snapshot and writes the cycle's changes; see the module docstring."""

    spreadsheet: gspread.Spreadsheet
    malls: Sequence[str]
    """The enabled malls: only their code columns are read and required."""
    canonical: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    channels: tuple[Channel, ...] | None = None
    """The channels the sheet knows (code columns, 設定 rows, names in モール cells);
    None: every registered channel."""
    sheet_ids: dict[str, int] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    logs: LogTabs = field(default_factory=LogTabs, repr=False)
    """Row counts, retention and header fallbacks of the log tabs."""
    tabs: TabWatch = field(default_factory=TabWatch, repr=False)
    """Tabs deleted or renamed while the worker runs."""
    text: TextKeeper = field(default_factory=TextKeeper, repr=False)
    """TEXT columns of the staff tabs, formatted again when their grid grows."""
    settings_columns: int = 26
    """設定's grid width as last seen in the metadata (the status block may widen it)."""
    products: Mapping[str, Product] = field(default_factory=dict, repr=False)
    """商品マスタ as last read, rows with a problem too (Slack names and links products)."""
    cache: GridCache = field(default_factory=GridCache, repr=False)
    """商品マスタ and セット構成 as last read whole (most cycles read two columns)."""
    memo: ProductsMemo = field(default_factory=ProductsMemo, repr=False)
    """商品マスタ's rows as last parsed (a parse reads only rows that changed)."""
    moves_prefix: MovementsPrefix | None = field(default=None, repr=False)
    """入出庫's settled top as last parsed (most cycles read and parse only below it)."""
    _whole_read: bool = field(default=True, repr=False)
    """Whether 入出庫 was read whole (parsed from the top, not after moves_prefix)."""
    _moves_stale: bool = field(default=False, repr=False)
    """moves_prefix was found changed: the next read takes 入出庫 whole."""
    listing_book: ListingBook = field(default_factory=ListingBook, repr=False)
    """出品状況 as the bot last read or wrote it (not read every cycle)."""
    _state_layout: dict[str, int] = field(default_factory=dict, repr=False)
    """_state key → grid row as the last successful commit wrote it (for record's marker)."""
    _shown: StatusesShown | None = field(default=None, repr=False)
    """What the last landed commit left in the 状態 cells (``commit.placed_cells``)."""

    @classmethod
    def open(
        cls,
        client: gspread.Client,
        sheet_id: str,
        *,
        malls: Sequence[str] | None = None,
        canonical: Mapping[str, Callable[[str], str]] | None = None,
        channels: Sequence[Channel] | None = None,
        account: str = "",
    ) -> SheetGateway:
        """Open the spreadsheet and cache its tab ids.

        ``channels`` are the channels the sheet knows (default: every registered
        channel); ``malls`` the keys of the enabled ones (default: all of
        ``channels``). Start-up only: gspread's ``open_by_key`` reads the metadata
        once, the tab map once more; cycles never read metadata again. ``account``
        (the service account's e-mail) is named when the sheet is not shared with it.
        """
        # 403 (not shared), 404 (wrong id) and a refused key each say what to fix.
        spreadsheet = open_spreadsheet(client, sheet_id, account)
        known = registered_channels() if channels is None else tuple(channels)
        gateway = cls(
            spreadsheet=spreadsheet,
            malls=[c.key for c in known] if malls is None else list(malls),
            canonical=dict(canonical or {}),
            channels=known,
        )
        gateway.refresh_metadata()
        return gateway

    # -- log tabs (kept by self.logs) -------------------------------------------

    @property
    def retention(self) -> dict[str, tuple[int, int | None]]:
        """Log tab key → (max data rows, min days kept); defaults from the template."""
        return self.logs.retention

    @property
    def log_rows(self) -> dict[str, int]:
        """Data rows per log tab, counted at start-up and kept up to date by every write."""
        return self.logs.rows

    @property
    def sales_dates(self) -> Sequence[datetime | None]:
        """日時 of each 販売ログ row, oldest first (販売ログ keeps the cancellation window)."""
        return self.logs.sales_dates

    @property
    def template(self) -> Template:
        """The sheet definition for this gateway's channels."""
        return load_template(self.channels)

    # -- metadata -------------------------------------------------------------

    def refresh_metadata(self, *, opening: bool = True) -> bool:
        """Map tab keys to titles and sheet ids (one metadata read; cached after).

        Bot tabs that are missing are created again; missing staff tabs are noted in
        ``self.tabs`` (see :mod:`bot.infra.sheet.tab_watch`). On opening, a sheet
        without 商品マスタ is not set up: SheetLayoutError says to run init-sheet.
        Returns whether the tabs differ from what was cached.
        """
        before = (dict(self.sheet_ids), set(self.tabs.missing))
        meta = self._metadata()
        tpl = self.template
        ids, absent = self.tabs.scan(meta, tpl)
        self.settings_columns = _grid_width(meta, ids.get(SETTINGS), self.settings_columns)
        if opening and PRODUCTS not in ids:
            missing = [t.title for t in tpl.tabs if t.key not in ids]
            raise SheetLayoutError(say("sheet.tabs_missing", tabs="、".join(missing)))
        if absent:
            log.warning("tabs %s missing; creating them again", missing_titles(tpl, absent))
            self._batch_update({"requests": plan_tabs(meta, absent, self.channels)}, None)
            ids, _ = self.tabs.scan(self._metadata(), tpl)
            for key in absent:
                self.logs.forget(key, tpl.tab(key))
            self.tabs.recreated.update({k: tpl.tab(k).title for k in absent})
            self.text.formatted.clear()
        self.sheet_ids = ids
        self.titles = {t.key: t.title for t in tpl.tabs}
        return bool(absent) or before != (ids, self.tabs.missing)

    def _tabs_changed(self, err: SheetError) -> bool:
        """After a refused call: whether a tab went missing or came back (one read)."""
        cause = err.__cause__
        if not isinstance(cause, APIError) or cause.response.status_code != 400:
            return False  # a missing tab is a 400 ("Unable to parse range", "No grid")
        return self.refresh_metadata(opening=False)

    def _metadata(self) -> dict[str, Any]:
        try:
            meta = self.spreadsheet.fetch_sheet_metadata()
        except APIError as err:
            raise SheetError(api_message(err)) from err
        return dict(meta)

    def _column_count(self, key: str) -> int:
        """A tab's current grid width (one metadata read: only on the rare repair path)."""
        for sheet in self._metadata()["sheets"]:
            props = sheet["properties"]
            if props["sheetId"] == self.sheet_ids[key]:
                return int(props.get("gridProperties", {}).get("columnCount", 26))
        raise SheetLayoutError(say("sheet.tab_gone", title=self.titles[key]))

    # -- reads ---------------------------------------------------------------

    def _batch_get(self, ranges: Sequence[str]) -> list[list[list[Any]]]:
        return [vr.get("values", []) for vr in self._value_ranges(ranges)]

    def _value_ranges(
        self,
        ranges: Sequence[str],
        major: str = "ROWS",
        keep: KnownSpan | None = None,
        texts: KnownTexts | None = None,
    ) -> list[dict[str, Any]]:
        params: ParamsType = {
            "valueRenderOption": "FORMULA",
            "dateTimeRenderOption": "SERIAL_NUMBER",
        }
        if major != "ROWS":
            params["majorDimension"] = major
        http = self.spreadsheet.client
        try:
            if keep is not None and isinstance(http, RetryingHTTPClient):
                reply = http.values_batch_get(
                    self.spreadsheet.id, list(ranges), params, keep, texts
                )
            else:
                reply = self.spreadsheet.values_batch_get(list(ranges), params=params)
        except APIError as err:
            raise SheetError(api_message(err)) from err
        got = list(reply.get("valueRanges", []))
        self.cache.count(value_cells(got))
        return got

    def _whole(self, key: str) -> str:
        return layout.quote_title(self.titles[key])

    def read(self, bot_stock: Mapping[str, int] | None = None) -> SheetRead:
        """The cycle's snapshot: one ``values:batchGet`` over the tabs that drive it.

        Most cycles read 商品マスタ's 商品コード and 在庫数 columns and lay them over
        its last whole read (:mod:`bot.infra.sheet.hot`); the tabs are read whole on a
        cadence and whenever rows or columns moved. The same call carries the header
        row of every log tab, so rows appended this cycle follow the columns as staff
        have them now (no extra request).
        """
        if self.tabs.missing:
            self.refresh_metadata(opening=False)  # back yet?
        try:
            values = self._read_tabs()
        except SheetError as err:
            if not self._tabs_changed(err):
                raise
            self.cache.forget()
            values = self._read_tabs()
        self.tabs.remember(values)
        read = self._parse(values, bot_stock)
        self.products = directory(read)
        return read

    def _read_tabs(self) -> dict[str, list[list[Any]]]:
        reader = SnapshotReader(
            self._value_ranges,
            self._whole,
            self.cache,
            self.text,
            self.tabs.missing,
            self.template,
            self.malls,
        )
        got = reader.read(None if self._moves_stale else self.moves_prefix)
        self._whole_read, self._moves_stale = got.movements_whole, got.movements_stale
        return got.values

    def _parse(
        self, values: Mapping[str, list[list[Any]]], bot_stock: Mapping[str, int] | None = None
    ) -> SheetRead:
        self.memo.changes = self.cache.rows_changed(self.memo.grid)
        read = layout.parse_sheet(
            self.tabs.fill(values),
            malls=self.malls,
            canonical=self.canonical,
            bot_stock=bot_stock,
            channels=self.channels,
            memo=self.memo,
            movements_prefix=None if self._whole_read else self.moves_prefix,
        )
        self.cache.parsed(self.memo.grid)
        self.moves_prefix = read.movements_prefix
        problems, broken = self.tabs.problems(self.template)
        if problems or broken:
            snap = read.snapshot
            read.snapshot = snap.model_copy(
                update={
                    "problems": (*snap.problems, *problems),
                    "broken_tabs": snap.broken_tabs | broken,
                }
            )
        return read

    def _parse_apart(
        self, values: Mapping[str, list[list[Any]]], prefix: MovementsPrefix | None = None
    ) -> SheetRead:
        """A parse of a few tabs or rows that leaves the cycle's memo alone."""
        return layout.parse_sheet(
            values,
            malls=self.malls,
            canonical=self.canonical,
            channels=self.channels,
            movements_prefix=prefix,
        )

    def load_startup(self) -> StartupData:
        """Ledger, pushed numbers and _state for rebuilding the engine (start-up only).

        出品状況 is not read again each cycle: the listing book starts from this read.
        """
        return load_startup(
            self._batch_get, self._whole, self.template, self.logs, self.listing_book
        )

    def merge_state(self, values: Mapping[str, str]) -> None:
        """Add or replace ``_state`` rows outside a cycle (``auth``): one read, one write.

        A running worker takes rows written this way into its next commit instead of
        overwriting them (bot.shell.tokens.TokenVault.sync).
        """
        read = self.read()
        state = state_dict(read.raw.get(STATE) or []) | dict(values)
        requests_, _ = state_request(self.sheet_ids[STATE], state, read)
        self._batch_update({"requests": requests_}, None)

    # -- commit ----------------------------------------------------------------

    def reread(
        self, previous: SheetRead, bot_stock: Mapping[str, int] | None, rows: Collection[int] = ()
    ) -> SheetRead:
        """Re-read what a commit will overwrite, just before it (one request).

        商品マスタ's header and the grid ``rows`` the commit writes, and 入出庫 (below
        its settled top when there is one).
        Returns ``previous`` itself when none of it changed; otherwise a new read to
        plan again on (read whole when rows or columns moved meanwhile).
        """
        title = self._whole(PRODUCTS)
        products = PRODUCTS not in self.tabs.missing and bool(previous.raw.get(PRODUCTS))
        runs = row_runs(rows) if products else []
        ranges = [f"{title}!1:1", *(f"{title}!{a + 1}:{b + 1}" for a, b in runs)]
        if not products:
            ranges = []
        moves = MOVEMENTS not in self.tabs.missing and MOVEMENTS in previous.raw
        tail = movements_tail(self.moves_prefix, self._whole(MOVEMENTS)) if moves else None
        if moves:
            ranges.append(tail or self._whole(MOVEMENTS))
        if not ranges:
            return previous
        try:
            got = filtered_ranges(self.spreadsheet, ranges)
            self.cache.count(grid_cells(got))
        except SheetError as err:
            if not self._tabs_changed(err):
                raise
            self.cache.forget()
            return self.read(bot_stock)
        fresh = rows_of_runs(runs, got[1:])
        header = got[0][0] if products and got[0] else []
        movements = got[-1] if moves else None
        if movements is not None and tail and self.moves_prefix is not None:
            joined = self.moves_prefix.join(movements)
            if joined is None:  # rows moved above the settled top: read it all again
                self.cache.forget()
                self.moves_prefix = None
                return self.read(bot_stock)
            movements = cast(list[list[Any]], joined)
        check = Reread(previous, header, fresh, movements, products)
        if check.unchanged():
            return previous
        if check.moved():
            log.info("商品マスタ rows moved before the commit; reading it whole")
            self.cache.forget()
            return self.read(bot_stock)
        self.cache.replace_rows(fresh)
        values = dict(previous.raw)
        values[PRODUCTS] = self.cache.grids.get(PRODUCTS, values.get(PRODUCTS, []))
        if check.movements is not None:
            values[MOVEMENTS] = check.movements
        return self._parse(values, bot_stock)

    def commit(
        self,
        plan: Plan,
        read: SheetRead,
        state_values: Mapping[str, str],
        *,
        bot_stock: Mapping[str, int] | None,
        commit_id: str,
        status: StatusBoard | None = None,
    ) -> CommitResult:
        """Write the plan in ONE atomic batchUpdate, after re-reading positions.

        If staff changed the sheet in between (a 在庫数, a new 入出庫 row, a row fixed or
        broken), nothing is written and ``conflict`` tells the worker to run the engine
        again on the returned read. Sorting, inserting or deleting rows is not a conflict:
        cells are located by 商品コード in the re-read. ``status`` is written to 設定's
        status block in the same batchUpdate (:mod:`bot.infra.sheet.status`).
        """
        shown, self._shown = self._shown, None
        placed = placed_cells(plan, read, shown)
        # A cold start's 100k rows of 状態/最終更新 (sent after the commit) are not re-read
        rows = {row for tab, row, _ in cosmetic_apart(placed, read)[0] if tab == PRODUCTS}
        fresh = self.reread(read, bot_stock, rows)
        if fresh is not read:
            if meaning(fresh) != meaning(read):
                self._shown = shown  # nothing written: the 状態 cells show what they did
                return CommitResult(read=fresh, conflict=True, requests=1)
            placed = placed_cells(plan, fresh, shown)  # rows only moved: placed by 商品コード
        self.logs.pending = []
        placed, later = cosmetic_apart(placed, fresh)
        requests_, layout_ = self._commit_requests(plan, fresh, placed, state_values, commit_id)
        requests_.extend(self._status_requests(fresh, status))
        read_back = read_back_columns(fresh, {tab for tab, _, _ in placed})
        written = {(r, c): v for (tab, r, c), (_, v) in placed.items() if tab == PRODUCTS}
        moves = narrow_movements(fresh.movements_prefix, placed)
        narrow = {PRODUCTS: {row for row, _ in written}, **moves}
        try:
            sent, reply = self._send(
                requests_, "last_commit", commit_id, read_back, narrow, row_key_columns(fresh)
            )
        except SheetError as err:
            self.logs.settle(applied=False)
            self.text.settle(applied=False)
            if self._tabs_changed(err):  # a tab vanished meanwhile: nothing was applied
                return CommitResult(read=self.read(bot_stock), conflict=True, requests=3)
            raise
        self.tabs.recreated = {}
        self.logs.settle(applied=True)
        self.text.settle(applied=True)
        self._state_layout = layout_
        self._remember_written(fresh, written)
        moved_rows = [r for (tab, r, _) in placed if tab == MOVEMENTS]
        if self.moves_prefix is not None and self.moves_prefix.covers(moved_rows):
            self.moves_prefix = None
        if reply is not None and placed:  # (an answer lost in transit cannot be checked)
            repaired = self._repair_misplaced(reply, placed, fresh, read_back, bool(moves))
            if repaired:
                self.cache.forget()  # rows moved: read 商品マスタ whole next cycle
            sent += repaired
        sent += self._send_later(fresh, later)
        self._shown = statuses_shown(plan, fresh)
        return CommitResult(read=fresh, requests=1 + sent)

    def _send_later(self, read: SheetRead, cells: Placed) -> int:
        """状態/最終更新 cells kept out of a very large commit, in requests under 2 MB."""
        sent, rows = 0, sorted(cells.items(), key=lambda item: item[0][1])
        runs = (dict((c, v) for c, (_, v) in rows[i : i + 2000]) for i in range(0, len(rows), 2000))
        reqs = (r for run in runs for r in self._cell_requests(run))  # built as they are sent
        for chunk in split_by_size(reqs, json_size, MAX_REQUEST_BYTES // 2):
            try:
                sent += self._send(chunk, "", None)[0]
            except SheetError as err:
                log.warning("状態/最終更新 of a large commit not written yet: %s", err)
                self.cache.forget()
                return sent + 1
        self._remember_written(read, {(r, c): v for (_, r, c), (_, v) in cells.items()})
        return sent

    def _remember_written(self, read: SheetRead, written: Mapping[tuple[int, int], Any]) -> None:
        """The cache and the row memo take in the commit's own 商品マスタ cells."""
        changes = self.cache.patch(written)
        header = read.headers.get(PRODUCTS)
        if header is None or not changes:
            return
        own = frozenset(c for k in ("status", "updated_at") if (c := header.col(k)) is not None)
        self.memo.adopt(changes, own, header.col("status"))

    def _commit_requests(
        self,
        plan: Plan,
        read: SheetRead,
        placed: Placed,
        state_values: Mapping[str, str],
        commit_id: str,
    ) -> tuple[list[AnyRequest], dict[str, int]]:
        reqs = encoded_cell_requests(self.sheet_ids, placed)  # (the body's bulk: as JSON text)
        sales = [*self.tabs.restored_sales(plan), *plan.sales_log]
        sale_rows, op_rows = log_rows(sales, plan.ops_log, self.template.mall_label)
        reqs.extend(self._append(SALES_LOG, sale_rows, read))
        reqs.extend(self._append(OPS_LOG, op_rows, read))
        errors = [*plan.error_log, *self.tabs.log_rows(plan.now)]
        reqs.extend(self._append(ERROR_LOG, [error_row(r) for r in errors], read))
        movements = read.snapshot.movements if MOVEMENTS in read.raw else None
        ledger = next_ledger_rows(read.state, movements, plan.movement_marks, plan.now)
        state = with_ledger(state_rows(read, state_values, commit_id), ledger)
        state_req, state_layout = state_request(
            self.sheet_ids[STATE], state, read, grid_rows=self.text.height.get(STATE)
        )
        reqs.extend(state_req)
        reqs.extend(self.text.requests(self.template.tabs, read.headers, self.sheet_ids))
        return reqs, state_layout

    def _status_requests(self, read: SheetRead, status: StatusBoard | None) -> list[dict[str, Any]]:
        """設定's status block, when 設定 is there to hold it."""
        grid = read.raw.get(SETTINGS)
        if status is None or grid is None or SETTINGS not in self.sheet_ids:
            return []
        reqs = status_requests(self.sheet_ids[SETTINGS], grid, status, self.settings_columns)
        self.settings_columns += sum(
            r["appendDimension"]["length"] for r in reqs if "appendDimension" in r
        )
        return reqs

    def _cell_requests(self, cells: Mapping[CellAt, Any]) -> list[dict[str, Any]]:
        """The requests writing ``cells`` (updateCells in vertical runs, 商品マスタ first)."""
        return cell_requests(self.sheet_ids, cells)

    def _append(
        self, key: str, rows: Sequence[Mapping[str, Any]], read: SheetRead | None
    ) -> list[AnyRequest]:
        """The appendCells request for a log tab (see :meth:`LogTabs.append`)."""
        tab = self.template.tab(key)
        return self.logs.append(
            tab, self.sheet_ids[key], rows, read, lambda: self._column_count(key)
        )

    def _send(
        self,
        requests_: Sequence[AnyRequest],
        marker_key: str,
        marker: str | None,
        read_back: Mapping[str, Sequence[int]] | None = None,
        rows: Mapping[str, Collection[int]] | None = None,
        keys: Mapping[str, int] | None = None,
    ) -> tuple[int, dict[str, Any] | None]:
        """Send a batchUpdate; returns the requests it took and its answer.

        With ``read_back`` (tab key → columns) the answer carries those columns as the
        batch left them, read in the same atomic step (None when it was lost); a tab in
        ``rows`` only on its header and those grid rows (in its ``keys`` column only).

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
            body["responseRanges"] = column_ranges(self._whole, read_back, rows, keys)
            params = {"fields": READ_BACK_FIELDS}
        try:
            return 1, self._batch_update(body, params)
        except CommitOutcomeUnknown as lost:
            if marker is None:
                raise

            def landed() -> bool:
                state = state_dict(self._batch_get([self._whole(STATE)])[0])
                return state.get(marker_key) == marker

            resent, answer = resend_unless_landed(
                lost, landed, lambda: self._batch_update(body, params), f"write {marker}"
            )
            return (3 if resent else 2), answer
        except APIError as err:
            raise SheetError(api_message(err)) from err

    def _batch_update(self, body: Mapping[str, Any], params: ParamsType | None) -> Any:
        """``spreadsheets:batchUpdate`` (gspread's own wrapper cannot pass ``fields``)."""
        url = SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet.id
        response = self.spreadsheet.client.request("post", url, json=body, params=params)
        reply = decoded(response)
        self.cache.count(answer_cells(reply))
        return reply

    # -- verify and repair -----------------------------------------------------

    def _repair_misplaced(
        self,
        reply: Mapping[str, Any],
        placed: Placed,
        read: SheetRead,
        read_back: Mapping[str, Sequence[int]],
        narrow_moves: bool,
    ) -> int:
        """Put the commit's cells back on their rows if staff moved rows as it was sent.

        See :func:`bot.infra.sheet.repair.repair_misplaced`; returns the requests sent.
        """
        prefix = read.movements_prefix if narrow_moves else None
        return repair_misplaced(
            RowRepair(read, read_back, self.sheet_ids, self._parse_apart, placed, prefix),
            reply,
            placed,
            where=lambda t, r, c: f"{self.titles[t]}!{layout.a1(r, c)}",
            columns_now=lambda: self._columns_now(read_back),
            send=lambda fixes: self._send(self._cell_requests(fixes), "", None, read_back),
        )

    def _columns_now(self, columns: Mapping[str, Sequence[int]]) -> dict[str, Any]:
        now = columns_now(self.spreadsheet, column_ranges(self._whole, columns))
        self.cache.count(answer_cells(now))
        return now

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
        changed: ChangedTargets | None = None,
    ) -> int:
        """Push results → 出品状況, モール更新ログ and エラーログ; returns requests sent.

        In batchUpdates within Google's recommended size (:mod:`bot.infra.sheet.record`);
        raises :class:`RecordIncomplete` with the log rows not written when one fails.
        ``changed``: the plan's ``changed_targets`` (which of ``targets`` changed).
        """
        port = RecordPort(
            sheet_ids=self.sheet_ids,
            whole=self._whole,
            template=self.template,
            logs=self.logs,
            book=self.listing_book,
            batch_update=self._batch_update,
            value_ranges=self._value_ranges,
            column_count=self._column_count,
            marker_row=self._state_layout.get("last_record"),
            state_header=read.headers.get(STATE),
        )
        writer = RecordWriter(port, read.headers.get(LISTINGS), commit_id)
        return writer.write(pushed, mall_logs, targets, errors, now, changed)


def _grid_width(meta: Mapping[str, Any], sheet_id: int | None, default: int) -> int:
    """A tab's column count in the metadata (``default`` when it is not there)."""
    for sheet in meta.get("sheets") or []:
        props = sheet.get("properties", {})
        if sheet_id is not None and props.get("sheetId") == sheet_id:
            return int(props.get("gridProperties", {}).get("columnCount", default) or default)
    return default
