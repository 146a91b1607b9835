"""One cycle (ARCHITECTURE.md §1): collect → read → engine → commit → push → record → alert.

The worker is the imperative shell around :mod:`bot.core.engine`. It owns the I/O order and
the health of each source (:mod:`bot.shell.health`), nothing else: every decision about
stock is the engine's. A crash at any point leaves the sheet in a state the next start
completes without double counting, because an order line is applied exactly when its
販売ログ row exists and the two are written in one atomic call; cursors advance in that
same call.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import compress
from operator import attrgetter
from typing import TypeVar

from adapters.base import MallAdapter, MallError
from bot.core import engine, words
from bot.core.domain import (
    Alert,
    AlertKind,
    ErrorLogRow,
    MallLogRow,
    OrderLine,
    PushResult,
    ShopSettings,
    StockPush,
)
from bot.core.errors import Stopped
from bot.core.health import State
from bot.infra.alerts import AlertSink
from bot.infra.clock import Clock
from bot.infra.settings import Settings
from bot.infra.sheet.gateway import (
    CommitOutcomeUnknown,
    RecordIncomplete,
    SheetError,
    SheetGateway,
    state_values,
)
from bot.infra.sheet.layout import SheetRead
from bot.infra.sheet.state import state_dict
from bot.infra.sheet.tabs import STATE
from bot.shell import heap, late
from bot.shell.drift_slices import DriftSlices
from bot.shell.health import MallHealth, SheetHealth, mall_label
from bot.shell.health_memory import health_rows, restore_health
from bot.shell.push_log import push_log_rows
from bot.shell.state_rows import NegativeStocks, holds, holds_json, json_list, negative_stock
from bot.shell.status import status_board
from bot.shell.summary import expiry_alert, summary_alert
from bot.shell.tokens import TokenVault

log = logging.getLogger(__name__)
_T = TypeVar("_T")

INCIDENTS = frozenset(
    {
        AlertKind.AUTH_FAILED,
        AlertKind.MALL_DOWN,
        AlertKind.MALL_RECOVERED,
        AlertKind.SHEET_ERROR,
        AlertKind.SHEET_RECOVERED,
    }
)
"""Alerts about the bot's own connections, also kept in エラーログ."""
INCIDENT_BACKLOG = 200
DRIFT_CHECK = timedelta(minutes=10)
"""How often each listing's number is read back from its mall."""
_RESTOCKS = attrgetter("mall_restocks")
"""Whether an order line is a cancel its mall restocked itself (``_apply``)."""
DRIFT_SLICE_LISTINGS = 1_000
"""Up to this many listings are read back in one burst every DRIFT_CHECK (a few bulk
calls); a bigger shop's read-back is spread over the cycles, a slice per cycle."""


@dataclass(frozen=True)
class WorkerConfig:
    """Non-secret knobs of the cycle (from config/zaiko.toml)."""

    order_overlap: timedelta = timedelta(minutes=2)
    cancel_window: timedelta = timedelta(days=60)
    first_lookback: timedelta = timedelta(minutes=2)
    park_retry: timedelta = timedelta(minutes=10)
    credential_warn: timedelta = timedelta(days=14)
    max_commit_attempts: int = 3
    drift_check: timedelta = DRIFT_CHECK
    """How often every listing's number is read back from malls with a bulk read."""
    drift_slices: int = 40
    """The read-back is spread over this many cycles (``drift_check`` / the interval):
    each cycle reads one slice of the listings, each listing once per ``drift_check``,
    instead of every listing in one burst (issue 10)."""
    shortfall_timeout: timedelta = engine.SHORTFALL_TIMEOUT
    """How long a read-back shortfall waits for its orders before it is drift (§4.5)."""


def worker_config(settings: Settings) -> WorkerConfig:
    """The cycle's knobs from validated settings."""
    return WorkerConfig(
        order_overlap=timedelta(seconds=settings.sync.order_overlap_seconds),
        cancel_window=timedelta(days=settings.sync.cancel_window_days),
        credential_warn=timedelta(days=settings.alerts.credential_warn_days),
        drift_slices=max(1, round(DRIFT_CHECK / timedelta(seconds=settings.sync.interval_seconds))),
    )


@dataclass
class CycleReport:
    """What one cycle did (for logs, `once`, the demo and the benchmarks)."""

    at: datetime
    lines: int = 0
    sales_rows: int = 0
    stock_changes: int = 0
    pushes: dict[str, int] = field(default_factory=dict)
    push_failures: dict[str, int] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    sheet_requests: int = 0
    committed: bool = False
    error: str = ""
    stuck_units: int = 0
    """Units malls show below their target for longer than the shortfall time-out."""

    def summary(self) -> dict[str, object]:
        """JSON-friendly digest."""
        return {
            "at": self.at.isoformat(),
            "committed": self.committed,
            "order_lines": self.lines,
            "sales_rows": self.sales_rows,
            "stock_changes": self.stock_changes,
            "pushes": self.pushes,
            "push_failures": self.push_failures,
            "alerts": [a.title for a in self.alerts],
            "sheet_requests": self.sheet_requests,
            "error": self.error,
            "stuck_units": self.stuck_units,
        }


@dataclass(frozen=True)
class _Unrecorded:
    """Push results whose record step failed, re-sent with the next record."""

    pushed: tuple[tuple[StockPush, PushResult], ...] = ()
    mall_logs: tuple[MallLogRow, ...] = ()
    errors: tuple[ErrorLogRow, ...] = ()

    MAX_ROWS = 1000
    """Log rows kept across a long sheet outage (oldest dropped first)."""

    @classmethod
    def keep(
        cls,
        pushed: Sequence[tuple[StockPush, PushResult]],
        mall_logs: Sequence[MallLogRow],
        errors: Sequence[ErrorLogRow],
    ) -> _Unrecorded:
        latest = {(push.mall, push.code): (push, result) for push, result in pushed}
        return cls(
            pushed=tuple(latest.values()),
            mall_logs=tuple(mall_logs[-cls.MAX_ROWS :]),
            errors=tuple(errors[-cls.MAX_ROWS :]),
        )


@dataclass
class _Run:
    """One cycle in progress: its time, its report and the alerts it gathers."""

    at: datetime
    report: CycleReport
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class _Collected:
    """What the collect step brought: order lines, the cursors they advance, read-backs."""

    lines: list[OrderLine]
    cursors: dict[str, datetime]
    drift_logs: list[MallLogRow]
    fresh: bool
    """Start-up: the read-back waits until the targets are known (see _apply)."""


class Worker:
    """Runs cycles against one sheet and a set of mall adapters."""

    def __init__(
        self,
        *,
        gateway: SheetGateway,
        adapters: Mapping[str, MallAdapter],
        alerts: AlertSink,
        clock: Clock,
        stop: threading.Event | None = None,
        config: WorkerConfig | None = None,
        parallel: bool = True,
        tokens: TokenVault | None = None,
    ) -> None:
        self.gateway = gateway
        self.tokens = tokens or TokenVault(None)
        self.adapters = dict(adapters)
        self.alerts = alerts
        self.clock = clock
        self.stop = stop or threading.Event()
        self.config = config or WorkerConfig()
        self.parallel = parallel
        self.state = engine.EngineState()
        self.cursors: dict[str, datetime] = {}
        self.health: dict[str, MallHealth] = {
            key: MallHealth(key, type(adapter).channel, self.config.park_retry)
            for key, adapter in self.adapters.items()
        }
        """One health object per mall (and ``sheet_health`` for the sheet)."""
        self.sheet_health = SheetHealth()
        self.settings = ShopSettings()
        self.started = False
        self._cycle_no = 0
        self._heap = heap.Heap()
        self._next_drift_check: datetime | None = None
        self._drift_slice = -1
        self._slices = DriftSlices()
        """The slice of listings the last read-back read (see WorkerConfig.drift_slices)."""
        self._negative = NegativeStocks()
        """The next state's negative stocks for _state, found again from what changed."""
        self._restocks_seen: dict[str, frozenset[str]] = {}
        """Per mall, keys of restocking cancelled lines already taken into account."""
        self._unrecorded = _Unrecorded()
        self._incidents: list[ErrorLogRow] = []
        """Mall and sheet failures waiting for the next record to reach エラーログ."""
        self._labels: Mapping[str, str] = {key: mall_label(key) for key in self.adapters}
        self._day: Counter[tuple[str, str]] = Counter()
        """販売ログ rows by (mall, kind) since the last daily summary."""

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        """Rebuild the engine state from the sheet alone (ledger, 出品状況, _state)."""
        data = self.gateway.load_startup()
        now = self.clock.now()
        self.state = engine.rebuild(
            data.ledger,
            data.listings,
            json_list(data.state, "conditions"),
            window_start=now - self.config.cancel_window,
        )
        self.state = engine.replace_stock(self.state, negative_stock(data.state))
        self.tokens.load(data.state)
        restore_health(self.health, data.state, now)
        self.state = engine.restore_holds(self.state, holds(data.state))
        for key, value in data.state.items():
            if key.startswith("cursor:"):
                try:
                    self.cursors[key.removeprefix("cursor:")] = datetime.fromisoformat(value)
                except ValueError:
                    log.warning("_state %s unreadable; starting that mall fresh", key)
        self.started = True
        log.info(
            "started: %d ledger lines, %d listings, cursors %s",
            len(self.state.lines),
            len(self.state.listings),
            {m: c.isoformat() for m, c in self.cursors.items()},
        )

    def request_push(self, skus: set[str] | None) -> set[str]:
        """Re-push every listing (None) or those of ``skus`` in the next cycle (`push`).

        Returns the codes 商品マスタ does not have (nothing is re-pushed for them).
        """
        if skus is None:
            self.state = engine.replace_listings(self.state, {}, fresh=True)
            return set()
        read = self.gateway.read(self.state.stock)
        keys = self._listing_keys(skus, read)
        listings = {k: v for k, v in self.state.listings.items() if k not in keys}
        self.state = engine.replace_listings(self.state, listings)
        return skus - set(read.snapshot.products)

    @staticmethod
    def _listing_keys(skus: set[str], read: SheetRead) -> set[tuple[str, str]]:
        return {
            (mall, code)
            for sku in skus
            if sku in read.snapshot.products
            for mall, codes in read.snapshot.products[sku].codes.items()
            for code in codes
        }

    # ------------------------------------------------------------------ cycle

    def cycle(self) -> CycleReport:
        """One full cycle; never raises for a mall or sheet failure (they are reported).

        Raises :class:`~bot.core.errors.Stopped` when the stop event cut a sheet call
        short; the next cycle (if any) then rebuilds from the sheet.
        """
        now = self.clock.now()
        run = _Run(at=now, report=CycleReport(at=now))
        if not self.started:
            try:
                self.start()
            except SheetError as err:  # Google down at start: said once, tried next cycle
                self._sheet_failed(err, run)
                self._deliver(run)
                return run.report
        self._cycle_no += 1
        with self._heap.cycle():
            self._steps(run)
        run.report.stuck_units = engine.stuck_units(
            self.state, run.at, self.config.shortfall_timeout
        )
        return run.report

    def _steps(self, run: _Run) -> None:
        collected = self._collect(run)  # 1. collect (and read back what malls show)
        committed = self._commit(collected, run)  # 2.–4. read, engine, atomic commit
        if committed is not None:
            plan, read = committed
            pushed = self._push(plan.pushes, run)  # 5. push
            self._record(read, plan, collected.drift_logs, pushed, run)  # 6. record
            # the catalogue is in memory: keep the collector off it
            self._heap.settle_if_large(len(read.snapshot.products))
        self._deliver(run)  # 7. alert

    def _commit_id(self, now: datetime) -> str:
        return f"{now.isoformat()}#{self._cycle_no}"

    def _commit(self, collected: _Collected, run: _Run) -> tuple[engine.Plan, SheetRead] | None:
        """Read, plan and commit; None when the sheet failed (reported, retried next cycle)."""
        try:
            plan, read = self._read_plan_commit(collected.lines, collected.cursors, run)
        except Stopped:
            self.started = False  # whatever landed, the sheet decides at the next start
            raise
        except SheetError as err:
            if isinstance(err, CommitOutcomeUnknown):
                # The commit may have landed: what we hold in memory may be stale, so
                # the next cycle rebuilds from the sheet (the ledger decides).
                log.warning("commit outcome unknown; rebuilding from the sheet next cycle")
                self.started = False
            self._sheet_failed(err, run)
            return None
        run.alerts.extend(self.sheet_health.succeeded(run.at))
        self._apply(plan, read, collected, run)
        return plan, read

    def _read_plan_commit(
        self,
        lines: Sequence[OrderLine],
        new_cursors: Mapping[str, datetime],
        run: _Run,
    ) -> tuple[engine.Plan, SheetRead]:
        read = self.gateway.read(self.state.stock)
        run.report.sheet_requests += 1
        for channel in self.tokens.sync(state_dict(read.raw.get(STATE) or [])):
            if channel in self.health:
                self.health[channel].credentials_changed(run.at)
        for _attempt in range(self.config.max_commit_attempts):
            plan = engine.step(
                self.state,
                read.snapshot,
                lines,
                run.at,
                pending_window=self.config.cancel_window,
                shortfall_timeout=self.config.shortfall_timeout,
                orders_from=self._orders_current(new_cursors),
            )
            held = bool(read.snapshot.broken_tabs & {"products", "sets"})
            cursors = self.cursors if held else {**self.cursors, **new_cursors}
            result = self.gateway.commit(
                plan,
                read,
                {
                    **state_values(
                        cursors, plan.next_state.conditions, self._negative(plan.next_state.stock)
                    ),
                    "holds": holds_json(plan.next_state),
                    **health_rows(self.health),
                    **self.tokens.rows(),
                },
                bot_stock=self.state.stock,
                commit_id=self._commit_id(run.at),
                status=status_board(run.at, self.health),
            )
            run.report.sheet_requests += result.requests
            read = result.read
            if not result.conflict:
                return plan, read
            log.info("sheet changed during the cycle; planning again on the new values")
        raise SheetError(words.say("shell.sheet_busy"))

    def _apply(self, plan: engine.Plan, read: SheetRead, collected: _Collected, run: _Run) -> None:
        """Take a landed commit into memory: cursors, engine state, settings, report."""
        if not plan.held:
            self.cursors.update(collected.cursors)
        self.state = engine.committed(plan)
        # Few lines are restocking cancels: picked out once, in C (a busy cycle brings
        # thousands of lines, looked at per mall in Python before).
        lines = collected.lines
        restocking = list(compress(lines, map(_RESTOCKS, lines)))
        for mall in collected.cursors:
            self._restocks_seen[mall] = frozenset(ln.key for ln in restocking if ln.mall == mall)
        if collected.fresh:  # the read-back held back at start-up (see _collect)
            ceiling = {(t.mall, t.code): t.quantity for t in plan.targets}
            collected.drift_logs.extend(self._check_drift(collected.lines, run, ceiling=ceiling))
        self.settings = read.snapshot.settings
        run.alerts.extend(plan.alerts)
        run.report.committed = True
        run.report.sales_rows = len(plan.sales_log)
        for row in plan.sales_log:
            self._day[(row.mall, str(row.kind))] += 1
        run.report.stock_changes = len(plan.stock)

    def _record(
        self,
        read: SheetRead,
        plan: engine.Plan,
        drift_logs: list[MallLogRow],
        pushed: late.Pushed,
        run: _Run,
    ) -> None:
        """Push results to 出品状況 and the log tabs, with whatever earlier cycles could not.

        A channel sent very many listings (a cold start) gets one summary row in
        モール更新ログ (:mod:`bot.shell.push_log`). 再送 ticks the record saw are pushed
        in the next cycle.
        """
        pending = self._unrecorded
        results = [*pending.pushed, *pushed.late, *pushed.results]  # newer results win
        pushes = push_log_rows(pushed.results, pushed.mall_logs, run.at, self._labels)
        mall_logs = [*pending.mall_logs, *drift_logs, *pushed.late_logs, *pushes]
        errors = [*pending.errors, *self._incidents, *pushed.errors]
        try:
            run.report.sheet_requests += self.gateway.record(
                read,
                results,
                mall_logs,
                plan.targets,
                errors,
                run.at,
                self._commit_id(run.at),
                plan.changed_targets,
            )
        except RecordIncomplete as err:
            # The batches before the failed one landed; 出品状況 rows not written stay
            # owed in the gateway, the log rows not written go with the next record.
            log.warning("push results recorded in part: %s", err)
            run.report.sheet_requests += err.requests
            self._sheet_failed(err, run)
            self._unrecorded = _Unrecorded.keep((), err.mall_logs, err.errors)
        except SheetError as err:
            # The listing state holds the results; 出品状況 gets them with the next record.
            log.warning("could not record push results: %s", err)
            self._sheet_failed(err, run)
            self._unrecorded = _Unrecorded.keep(results, mall_logs, errors)
        else:
            self._unrecorded = _Unrecorded()
        self._incidents = []
        self._resend(self.gateway.listing_book.ticked())

    def _resend(self, keys: set[tuple[str, str]]) -> None:
        """Listings ticked 再送: forget what they show, so the next cycle pushes them.

        Like a restock the mall made itself (``_forget_restocked``), only ``expected``
        (and a refused number) is dropped; holds and sales seen are kept.
        """
        if not keys:  # the usual cycle: nothing to forget
            return
        known = self.state.listings
        changes: dict[tuple[str, str], engine.ListingState] = {}
        for key in keys:
            listing = known.get(key)
            if listing is not None and (listing.expected is not None or listing.failed is not None):
                changes[key] = replace(listing, expected=None, failed=None)
        if changes:
            log.info("再送 ticked for %d listings; pushing them next cycle", len(keys))
            self.state = engine.replace_listings(self.state, engine.with_changes(known, changes))

    # ------------------------------------------------------------------ malls

    def _call_malls(
        self, malls: Sequence[str], call: Callable[[str], _T], run: _Run
    ) -> dict[str, _T | MallError | Stopped]:
        """One call per mall in parallel; each outcome goes to that mall's health."""

        def guarded(mall: str) -> tuple[str, _T | MallError | Stopped]:
            try:
                return mall, call(mall)
            except (MallError, Stopped) as err:
                return mall, err

        outcomes = dict(self._map(guarded, malls))
        for mall, outcome in outcomes.items():
            if isinstance(outcome, Stopped):
                log.info("%s: call abandoned for shutdown", mall)
            elif isinstance(outcome, MallError):
                run.alerts.extend(self.health[mall].failed(outcome, run.at))
            else:
                run.alerts.extend(self.health[mall].succeeded(run.at))
        return outcomes

    def _map(self, fn: Callable[[str], _T], items: Sequence[str]) -> list[_T]:
        """One call per mall, in parallel: one slow or failing mall never stops the others."""
        if not self.parallel or len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="mall") as pool:
            return list(pool.map(fn, items))

    def _may_call(self, mall: str, run: _Run) -> bool:
        """False while the mall is parked, except for a due probe that succeeds."""
        health = self.health[mall]
        if health.state is not State.PARKED:
            return True
        if not health.probe_due(run.at):
            return False
        try:
            result = self.adapters[mall].check()
        except (MallError, Stopped):
            return False
        if not result.ok:  # quiet unless new credentials are refused past their grace
            run.alerts.extend(health.refused(result.message, run.at))
            return False
        run.alerts.extend(health.succeeded(run.at))
        return True

    # ------------------------------------------------------------------ collect

    def _collect(self, run: _Run) -> _Collected:
        """Order lines from every mall that may be called, then the periodic read-back."""
        malls = [m for m in self.adapters if self._may_call(m, run)]
        malls = [m for m in malls if self.settings.mall(m).fetch_orders]

        def fetch(mall: str) -> list[OrderLine]:
            cursor = self.cursors.get(mall, run.at - self.config.first_lookback)
            return self.adapters[mall].fetch_order_lines(cursor - self.config.order_overlap, run.at)

        lines: list[OrderLine] = []
        cursors: dict[str, datetime] = {}
        for mall, outcome in self._call_malls(malls, fetch, run).items():
            if isinstance(outcome, list):
                lines.extend(outcome)
                cursors[mall] = run.at
        run.report.lines = len(lines)
        self._forget_restocked(lines)
        # On start-up 出品状況 may lag behind the malls (a stop between push and
        # record), so the read-back waits until the targets are known (_apply).
        fresh = self.state.fresh
        drift_logs = [] if fresh else self._check_drift(lines, run)
        return _Collected(lines, cursors, drift_logs, fresh)

    # ------------------------------------------------------------------ drift

    def _forget_restocked(self, lines: Sequence[OrderLine]) -> None:
        """A cancel the mall restocked itself, seen for the first time: push over it.

        The mall raised its own number when the order was cancelled. If the engine
        applies the cancel, the new target is pushed anyway; if it does not (an order
        the bot never applied, e.g. placed before go-live), the mall now shows units
        that do not exist. Either way the listing's ``expected`` no longer holds: it is
        forgotten, so the engine pushes the target and the read-back does not mistake
        the restock for a hand edit (§4.5).
        """
        seen = frozenset().union(*self._restocks_seen.values())
        new = {(ln.mall, ln.code) for ln in lines if ln.mall_restocks and ln.key not in seen}
        known = self.state.listings
        forgotten = {
            key: replace(listing, expected=None)
            for key in new
            if (listing := known.get(key)) is not None and listing.expected is not None
        }
        # Most cycles see no new restocking cancel; the others layer the few listings
        # forgotten on the shared map (engine.with_changes), not a copy of 100,000.
        if forgotten:
            self.state = engine.replace_listings(self.state, engine.with_changes(known, forgotten))

    def _orders_current(self, fetched: Mapping[str, datetime]) -> frozenset[str]:
        """Malls whose sales this cycle's lines cover: only their shortfalls time out.

        A mall whose fetch failed may still send the orders a hold waits for; one whose
        order fetch staff switched off never will, so its holds time out as usual.
        """
        off = {m for m in self.adapters if not self.settings.mall(m).fetch_orders}
        return frozenset(fetched) | off

    def _check_drift(
        self,
        lines: Sequence[OrderLine],
        run: _Run,
        *,
        ceiling: Mapping[tuple[str, str], int] | None = None,
    ) -> list[MallLogRow]:
        """Every ``drift_check``, read back what malls show (bulk reads only).

        ``ceiling`` (start-up): a number at or below what the listing is about to be
        pushed is no hand edit, whatever 出品状況 says — after an unclean stop it may
        not hold the bot's own last push.
        """
        slices = self._drift_slices()
        if ceiling is None and slices > 1:
            self._drift_slice = (self._drift_slice + 1) % slices
        elif self._next_drift_check is not None and run.at < self._next_drift_check:
            return []
        else:
            self._next_drift_check = run.at + self.config.drift_check
        # A cancel the mall restocked itself raises its number before the engine has
        # applied the cancel: that is not a hand edit. Cancels already in the ledger are.
        skip = frozenset(
            (ln.mall, ln.code)
            for ln in lines
            if ln.mall_restocks
            and (prior := self.state.lines.get(ln.key)) is not None
            and prior.applied > ln.units
        )
        whole = ceiling is not None or slices <= 1
        readings = self._read_listings(run, None if whole else (self._drift_slice, slices))
        if ceiling is not None:
            readings = {
                key: qty
                for key, qty in readings.items()
                if key not in ceiling or qty > ceiling[key]
            }
        self.state, logs, drift_alerts = engine.detect_drift(
            self.state,
            readings,
            run.at,
            skip=skip,
            labels=self._labels,
            shortfalls=ceiling is None,  # 出品状況 may lag behind a start-up
        )
        run.alerts.extend(drift_alerts)
        return logs

    def _drift_slices(self) -> int:
        """Slices the read-back is spread over: one burst for a small shop."""
        need = -(-len(self.state.listings) // DRIFT_SLICE_LISTINGS)
        return max(1, min(self.config.drift_slices, need))

    def _read_listings(self, run: _Run, part: tuple[int, int] | None) -> dict[tuple[str, str], int]:
        """What every mall that may be called shows for the bot's listings (bulk reads).

        ``part`` (slice, slices): only that slice of the listings (a stable hash of
        mall and code picks each listing's slice); None: all of them.
        """
        by_mall: dict[str, list[str]] = defaultdict(list)
        listings = self.state.listings
        for mall, code in listings if part is None else self._slices.part(listings, *part):
            by_mall[mall].append(code)
        malls = [m for m in by_mall if m in self.adapters and self._may_call(m, run)]

        def read(mall: str) -> dict[str, int]:
            return self.adapters[mall].read_stock(by_mall[mall])

        return {
            (mall, code): qty
            for mall, outcome in self._call_malls(malls, read, run).items()
            if isinstance(outcome, dict)
            for code, qty in outcome.items()
        }

    # ------------------------------------------------------------------ push

    def _push(self, pushes: Sequence[StockPush], run: _Run) -> late.Pushed:
        """Send each mall its batch; a failed batch is logged and sent again next cycle."""
        by_mall: dict[str, list[StockPush]] = defaultdict(list)
        for push in pushes:
            if push.mall in self.adapters:
                by_mall[push.mall].append(push)
        # A mall with pushes still PENDING is called for their outcomes (adapters.base).
        waiting = [m for m, a in self.adapters.items() if m not in by_mall and late.waiting(a)]

        def send(mall: str) -> late.Sent:
            return late.send(self.adapters[mall], by_mall.get(mall, []))

        pushed = late.Pushed()
        malls = [m for m in [*by_mall, *waiting] if self._may_call(m, run)]
        for mall, outcome in self._call_malls(malls, send, run).items():
            batch = by_mall.get(mall, [])
            if isinstance(outcome, Stopped):
                log.info("%s: push abandoned for shutdown; it is sent again at start-up", mall)
            elif isinstance(outcome, MallError):
                pushed.errors.append(self._push_failed(mall, len(batch), outcome, run))
            else:
                self.state = pushed.learn(self.state, outcome.learnt, run, self._labels)
                if batch:
                    self._pushed(mall, batch, outcome.results, pushed, run)
        return pushed

    def _pushed(
        self,
        mall: str,
        batch: Sequence[StockPush],
        results: Sequence[PushResult],
        pushed: late.Pushed,
        run: _Run,
    ) -> None:
        self.state, mall_logs, push_alerts = engine.after_push(
            self.state, batch, results, run.at, labels=self._labels
        )
        pushed.mall_logs.extend(mall_logs)
        pushed.results.extend(zip(batch, results, strict=True))
        run.alerts.extend(push_alerts)
        run.report.pushes[mall] = len(batch)

    def _push_failed(self, mall: str, count: int, err: MallError, run: _Run) -> ErrorLogRow:
        run.report.push_failures[mall] = count
        return ErrorLogRow(
            at=run.at,
            where=words.say("shell.push_where", label=self._labels[mall]),
            message=words.say("shell.push_failed", n=count),
            detail=str(err),
        )

    # ------------------------------------------------------------------ alert

    def _sheet_failed(self, err: SheetError, run: _Run) -> None:
        run.report.error = str(err)
        run.alerts.extend(self.sheet_health.failed(err, run.at))

    def _deliver(self, run: _Run) -> None:
        """Send the cycle's alerts; connection incidents also wait for エラーログ."""
        run.report.alerts = run.alerts
        self._incidents.extend(
            ErrorLogRow(at=run.at, where=self._where(alert), message=alert.title, detail=alert.text)
            for alert in run.alerts
            if alert.kind in INCIDENTS
        )
        del self._incidents[:-INCIDENT_BACKLOG]
        if run.alerts:
            self.alerts.send(run.alerts)

    def _where(self, alert: Alert) -> str:
        """エラーログ's 発生箇所 of an incident: the mall's name, else the sheet."""
        if alert.mall:
            return self._labels.get(alert.mall) or mall_label(alert.mall)
        return self.sheet_health.where

    # ------------------------------------------------------------------ checks

    def daily(self) -> list[Alert]:
        """The daily job: credential expiry checks, then one summary message (§7)."""
        alerts = self.check_credentials()
        summary = self.daily_summary()
        self.alerts.send([summary])
        return [*alerts, summary]

    def daily_summary(self) -> Alert:
        """What happened since the last summary and what needs attention now."""
        alert = summary_alert(
            self.clock.now(), self._day, self.state.conditions, self.health, self._labels
        )
        self._day.clear()
        return alert

    def check_credentials(self) -> list[Alert]:
        """Ask every mall for its credential expiry; alert once when it comes close."""
        now = self.clock.now()
        run = _Run(at=now, report=CycleReport(at=now))
        for mall, adapter in self.adapters.items():
            try:
                result = adapter.check()
            except (MallError, Stopped) as err:
                # A refused key answers ok=False; only a failed call is a health event.
                run.alerts.extend(self.health[mall].failed(err, now))
                continue
            if result.ok:
                self._credential_expiry(mall, result.credential_expires_at, run)
        if run.alerts:
            self.alerts.send(run.alerts)
        return run.alerts

    def _credential_expiry(self, mall: str, expires: datetime | None, run: _Run) -> None:
        """Raise (once) or clear the ``expiring:<mall>`` condition."""
        self.health[mall].expires = expires
        key = f"expiring:{mall}"
        conditions = self.state.conditions
        if expires is None or expires - run.at > self.config.credential_warn:
            if key in conditions:
                self.state = engine.replace_conditions(self.state, conditions - {key})
            return
        if key in conditions:
            return
        hint = type(self.adapters[mall]).channel.auth_hint
        run.alerts.append(expiry_alert(mall, key, expires, run.at, self._labels[mall], hint))
        self.state = engine.replace_conditions(self.state, conditions | {key})


__all__ = ["CycleReport", "Worker", "WorkerConfig", "mall_label", "worker_config"]
