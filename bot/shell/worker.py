"""One cycle (ARCHITECTURE.md §1): collect → read → engine → commit → push → record → alert.

The worker is the imperative shell around :mod:`bot.core.engine`. It owns the I/O order and
the per-mall health, nothing else: every decision about stock is the engine's. A crash
at any point leaves the sheet in a state the next start completes without double
counting, because an order line is applied exactly when its 販売ログ row exists and the
two are written in one atomic call; cursors advance in that same call.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from adapters.base import AuthError, MallAdapter, MallError
from bot.core import engine
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
from bot.infra.alerts import AlertSink
from bot.infra.clock import Clock, format_jst, to_jst
from bot.infra.settings import Settings
from bot.infra.sheet.gateway import (
    CommitOutcomeUnknown,
    SheetError,
    SheetGateway,
    SheetStopped,
    state_values,
)
from bot.infra.sheet.layout import SheetRead, load_template

log = logging.getLogger(__name__)
_T = TypeVar("_T")


INCIDENTS = frozenset(
    {AlertKind.AUTH_FAILED, AlertKind.MALL_DOWN, AlertKind.MALL_RECOVERED, AlertKind.SHEET_ERROR}
)
"""Alerts about the bot's own connections, also kept in エラーログ."""
INCIDENT_BACKLOG = 200


def mall_label(mall: str) -> str:
    """Staff-facing name of a mall (the template's word for it: 楽天, Yahoo, ...)."""
    return load_template().mall_label(mall)


class Health(StrEnum):
    """Per-mall state, announced only when it changes (HA's coordinator pattern)."""

    OK = "ok"
    DOWN = "down"
    PARKED = "parked"
    """Credentials refused: the mall is left alone until they are fixed."""


@dataclass
class MallStatus:
    """Health of one mall plus when to probe a parked one again."""

    health: Health = Health.OK
    since: datetime | None = None
    retry_at: datetime | None = None
    message: str = ""


@dataclass(frozen=True)
class WorkerConfig:
    """Non-secret knobs of the cycle (from config/zaiko.toml)."""

    order_overlap: timedelta = timedelta(minutes=2)
    cancel_window: timedelta = timedelta(days=60)
    first_lookback: timedelta = timedelta(minutes=2)
    park_retry: timedelta = timedelta(minutes=10)
    credential_warn: timedelta = timedelta(days=14)
    max_commit_attempts: int = 3
    drift_check: timedelta = timedelta(minutes=10)
    """How often every listing's number is read back from malls with a bulk read."""


def worker_config(settings: Settings) -> WorkerConfig:
    """The cycle's knobs from validated settings."""
    return WorkerConfig(
        order_overlap=timedelta(seconds=settings.sync.order_overlap_seconds),
        cancel_window=timedelta(days=settings.sync.cancel_window_days),
        credential_warn=timedelta(days=settings.alerts.credential_warn_days),
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
    ) -> None:
        self.gateway = gateway
        self.adapters = dict(adapters)
        self.alerts = alerts
        self.clock = clock
        self.stop = stop or threading.Event()
        self.config = config or WorkerConfig()
        self.parallel = parallel
        self.state = engine.EngineState()
        self.cursors: dict[str, datetime] = {}
        self.health: dict[str, MallStatus] = {m: MallStatus() for m in self.adapters}
        self.settings = ShopSettings()
        self.sheet_ok = True
        self.started = False
        self._cycle_no = 0
        self._next_drift_check: datetime | None = None
        self._restocks_seen: dict[str, frozenset[str]] = {}
        """Per mall, keys of restocking cancelled lines already taken into account."""
        self._unrecorded = _Unrecorded()
        self._incidents: list[ErrorLogRow] = []
        """Mall and sheet failures waiting for the next record to reach エラーログ."""
        self._labels: Mapping[str, str] = {}
        self._day: Counter[tuple[str, str]] = Counter()
        """販売ログ rows by (mall, kind) since the last daily summary."""

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        """Rebuild the engine state from the sheet alone (ledger, 出品状況, _state)."""
        data = self.gateway.load_startup()
        now = self.clock.now()
        conditions: list[str] = []
        try:
            conditions = list(json.loads(data.state.get("conditions", "[]")))
        except ValueError:
            log.warning("_state conditions unreadable; alerts re-armed")
        self.state = engine.rebuild(
            data.ledger,
            data.listings,
            conditions,
            window_start=now - self.config.cancel_window,
        )
        try:
            negative = {
                str(k): int(v)
                for k, v in json.loads(data.state.get("negative_stock", "{}")).items()
            }
        except (ValueError, AttributeError):
            negative = {}
        self.state = engine.replace_stock(self.state, negative)
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

    def request_push(self, skus: set[str] | None) -> None:
        """Re-push every listing (None) or those of ``skus`` in the next cycle (`push`)."""
        if skus is None:
            self.state = engine.replace_listings(self.state, {}, fresh=True)
            return
        listings = {
            key: value
            for key, value in self.state.listings.items()
            if key not in self._listing_keys(skus)
        }
        self.state = engine.replace_listings(self.state, listings)

    def _listing_keys(self, skus: set[str]) -> set[tuple[str, str]]:
        read = self.gateway.read(self.state.stock)
        return {
            (mall, code)
            for sku in skus
            if sku in read.snapshot.products
            for mall, codes in read.snapshot.products[sku].codes.items()
            for code in codes
        }

    # ------------------------------------------------------------------ cycle

    def cycle(self) -> CycleReport:
        """One full cycle; never raises for a mall or sheet failure (they are reported)."""
        if not self.started:
            self.start()
        self._cycle_no += 1
        now = self.clock.now()
        report = CycleReport(at=now)
        alerts: list[Alert] = []

        # 1. collect (and, every few minutes, read back what malls show)
        lines, new_cursors = self._collect(now, alerts)
        report.lines = len(lines)
        self._forget_restocked(lines)
        # On start-up 出品状況 may lag behind the malls (a stop between push and
        # record), so the read-back waits until the targets are known (see below).
        fresh = self.state.fresh
        drift_logs = [] if fresh else self._check_drift(lines, now, alerts)

        # 2.–4. read, engine, atomic commit (re-run when staff edited meanwhile)
        try:
            plan, read = self._read_plan_commit(lines, new_cursors, now, report)
        except SheetStopped:
            raise
        except SheetError as err:
            if isinstance(err, CommitOutcomeUnknown):
                # The commit may have landed: what we hold in memory may be stale, so
                # the next cycle rebuilds from the sheet (the ledger decides).
                log.warning("commit outcome unknown; rebuilding from the sheet next cycle")
                self.started = False
            self._sheet_failed(err, alerts, report)
            self._deliver(alerts, report)
            return report
        self._sheet_recovered(alerts)
        self._labels = read.snapshot.mall_labels
        if not plan.held:
            self.cursors.update(new_cursors)
        self.state = engine.committed(plan)
        for mall in new_cursors:
            self._restocks_seen[mall] = frozenset(
                ln.key for ln in lines if ln.mall == mall and ln.mall_restocks
            )
        if fresh:
            ceiling = {(t.mall, t.code): t.quantity for t in plan.targets}
            drift_logs = self._check_drift(lines, now, alerts, ceiling=ceiling)
        self.settings = read.snapshot.settings
        alerts.extend(plan.alerts)
        report.committed = True
        report.sales_rows = len(plan.sales_log)
        for row in plan.sales_log:
            self._day[(row.mall, str(row.kind))] += 1
        report.stock_changes = len(plan.stock)

        # 5. push
        pushed, mall_logs, errors = self._push(plan.pushes, now, alerts, report)
        mall_logs = drift_logs + mall_logs

        # 6. record (with whatever an earlier cycle could not record)
        pending = self._unrecorded
        pushed = [*pending.pushed, *pushed]  # a newer result for a listing wins
        mall_logs = [*pending.mall_logs, *mall_logs]
        errors = [*pending.errors, *self._incidents, *errors]
        try:
            report.sheet_requests += self.gateway.record(
                read, pushed, mall_logs, plan.targets, errors, now, self._commit_id(now)
            )
        except SheetStopped:
            raise
        except SheetError as err:
            # The listing state holds the results; 出品状況 gets them with the next record.
            log.warning("could not record push results: %s", err)
            self._sheet_failed(err, alerts, report)
            self._unrecorded = _Unrecorded.keep(pushed, mall_logs, errors)
        else:
            self._unrecorded = _Unrecorded()
        self._incidents = []

        # 7. alert
        self._deliver(alerts, report)
        return report

    def _commit_id(self, now: datetime) -> str:
        return f"{now.isoformat()}#{self._cycle_no}"

    def _read_plan_commit(
        self,
        lines: Sequence[OrderLine],
        new_cursors: Mapping[str, datetime],
        now: datetime,
        report: CycleReport,
    ) -> tuple[engine.Plan, SheetRead]:
        read = self.gateway.read(self.state.stock)
        report.sheet_requests += 1
        for _attempt in range(self.config.max_commit_attempts):
            plan = engine.step(
                self.state,
                read.snapshot,
                lines,
                now,
                pending_window=self.config.cancel_window,
            )
            held = bool(read.snapshot.broken_tabs & {"products", "sets"})
            cursors = self.cursors if held else {**self.cursors, **new_cursors}
            result = self.gateway.commit(
                plan,
                read,
                state_values(cursors, plan.next_state.conditions, plan.next_state.stock),
                bot_stock=self.state.stock,
                commit_id=self._commit_id(now),
            )
            report.sheet_requests += result.requests
            read = result.read
            if not result.conflict:
                return plan, read
            log.info("sheet changed during the cycle; planning again on the new values")
        raise SheetError(
            "シートが編集中のため、この周期の書き込みを見送りました（次の周期で再試行します）"
        )

    # ------------------------------------------------------------------ collect

    def _collect(
        self, now: datetime, alerts: list[Alert]
    ) -> tuple[list[OrderLine], dict[str, datetime]]:
        malls = [m for m in self.adapters if self._may_call(m, now, alerts)]
        malls = [m for m in malls if self.settings.mall(m).fetch_orders]

        def fetch(mall: str) -> tuple[str, list[OrderLine] | MallError | Stopped]:
            cursor = self.cursors.get(mall, now - self.config.first_lookback)
            since = cursor - self.config.order_overlap
            try:
                return mall, self.adapters[mall].fetch_order_lines(since, now)
            except (MallError, Stopped) as err:
                return mall, err

        results = self._map(fetch, malls)
        lines: list[OrderLine] = []
        cursors: dict[str, datetime] = {}
        for mall, outcome in results:
            if isinstance(outcome, MallError | Stopped):
                self._mall_failed(mall, outcome, now, alerts)
                continue
            self._mall_ok(mall, now, alerts)
            lines.extend(outcome)
            cursors[mall] = now
        return lines, cursors

    def _map(self, fn: Callable[[str], _T], items: Sequence[str]) -> list[_T]:
        """One call per mall, in parallel: one slow or failing mall never stops the others."""
        if not self.parallel or len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="mall") as pool:
            return list(pool.map(fn, items))

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
        listings = dict(self.state.listings)
        changed = False
        for key in new:
            listing = listings.get(key)
            if listing is not None and listing.expected is not None:
                listings[key] = replace(listing, expected=None)
                changed = True
        if changed:
            self.state = engine.replace_listings(self.state, listings)

    def _check_drift(
        self,
        lines: Sequence[OrderLine],
        now: datetime,
        alerts: list[Alert],
        *,
        ceiling: Mapping[tuple[str, str], int] | None = None,
    ) -> list[MallLogRow]:
        """Every ``drift_check``, read back what malls show (bulk reads only).

        ``ceiling`` (start-up): a number at or below what the listing is about to be
        pushed is no hand edit, whatever 出品状況 says — after an unclean stop it may
        not hold the bot's own last push.
        """
        if self._next_drift_check is not None and now < self._next_drift_check:
            return []
        self._next_drift_check = now + self.config.drift_check
        # A cancel the mall restocked itself raises its number before the engine has
        # applied the cancel: that is not a hand edit. Cancels already in the ledger are.
        skip = frozenset(
            (ln.mall, ln.code)
            for ln in lines
            if ln.mall_restocks
            and (prior := self.state.lines.get(ln.key)) is not None
            and prior.applied > ln.units
        )
        by_mall: dict[str, list[str]] = defaultdict(list)
        for mall, code in self.state.listings:
            by_mall[mall].append(code)
        malls = [m for m in by_mall if m in self.adapters and self._may_call(m, now, alerts)]

        def read(mall: str) -> tuple[str, dict[str, int] | MallError | Stopped]:
            try:
                return mall, self.adapters[mall].read_stock(by_mall[mall])
            except (MallError, Stopped) as err:
                return mall, err

        readings: dict[tuple[str, str], int] = {}
        for mall, outcome in self._map(read, malls):
            if isinstance(outcome, MallError | Stopped):
                self._mall_failed(mall, outcome, now, alerts)
                continue
            readings.update({(mall, code): qty for code, qty in outcome.items()})
        if ceiling is not None:
            readings = {
                key: qty
                for key, qty in readings.items()
                if key not in ceiling or qty > ceiling[key]
            }
        self.state, logs, drift_alerts = engine.detect_drift(
            self.state, readings, now, skip=skip, labels=self._labels
        )
        alerts.extend(drift_alerts)
        return logs

    # ------------------------------------------------------------------ push

    def _push(
        self,
        pushes: Sequence[StockPush],
        now: datetime,
        alerts: list[Alert],
        report: CycleReport,
    ) -> tuple[list[tuple[StockPush, PushResult]], list[MallLogRow], list[ErrorLogRow]]:
        by_mall: dict[str, list[StockPush]] = defaultdict(list)
        for push in pushes:
            if push.mall in self.adapters:
                by_mall[push.mall].append(push)
        malls = [m for m in by_mall if self._may_call(m, now, alerts)]

        def send(mall: str) -> tuple[str, list[PushResult] | MallError | Stopped]:
            try:
                return mall, self.adapters[mall].push_stock(by_mall[mall])
            except (MallError, Stopped) as err:
                return mall, err

        pushed: list[tuple[StockPush, PushResult]] = []
        logs: list[MallLogRow] = []
        errors: list[ErrorLogRow] = []
        for mall, outcome in self._map(send, malls):
            batch = by_mall[mall]
            if isinstance(outcome, Stopped):
                log.info("%s: push abandoned for shutdown; it is sent again at start-up", mall)
                continue
            if isinstance(outcome, MallError | Stopped):
                self._mall_failed(mall, outcome, now, alerts)
                errors.append(
                    ErrorLogRow(
                        at=now,
                        where=f"{mall_label(mall)} 在庫更新",
                        message=f"{len(batch)}件の在庫を送れませんでした（次の周期で再送します）",
                        detail=str(outcome),
                    )
                )
                report.push_failures[mall] = len(batch)
                continue
            self._mall_ok(mall, now, alerts)
            self.state, mall_logs, push_alerts = engine.after_push(
                self.state, batch, outcome, now, labels=self._labels
            )
            logs.extend(mall_logs)
            alerts.extend(push_alerts)
            pushed.extend(zip(batch, outcome, strict=True))
            report.pushes[mall] = len(batch)
        return pushed, logs, errors

    # ------------------------------------------------------------------ health

    def _may_call(self, mall: str, now: datetime, alerts: list[Alert]) -> bool:
        status = self.health.setdefault(mall, MallStatus())
        if status.health is not Health.PARKED:
            return True
        if status.retry_at is not None and now >= status.retry_at:
            status.retry_at = now + self.config.park_retry
            try:
                result = self.adapters[mall].check()
            except MallError:
                return False
            if result.ok:
                self._mall_ok(mall, now, alerts)
                return True
        return False

    def _mall_failed(
        self, mall: str, err: MallError | Stopped, now: datetime, alerts: list[Alert]
    ) -> None:
        if isinstance(err, Stopped):
            # SIGTERM cut a wait short: the mall is fine, we are leaving (no alert).
            log.info("%s: call abandoned for shutdown", mall)
            return
        status = self.health.setdefault(mall, MallStatus())
        label = mall_label(mall)
        if isinstance(err, AuthError):
            if status.health is not Health.PARKED:
                alerts.append(
                    Alert(
                        kind=AlertKind.AUTH_FAILED,
                        key=f"auth:{mall}",
                        mall=mall,
                        urgent=True,
                        title=f"{label} の認証に失敗しました。{label} との連動を止めています",
                        text=f"{err}\n認証キー（楽天は licenseKey）を確認・更新して、ボットを再起動してください。",
                    )
                )
                log.error("%s parked: %s", mall, err)
            if status.health is not Health.PARKED:
                status.since = now
            status.health = Health.PARKED
            status.retry_at = now + self.config.park_retry
            status.message = str(err)
            return
        if status.health is Health.OK:
            alerts.append(
                Alert(
                    kind=AlertKind.MALL_DOWN,
                    key=f"down:{mall}",
                    mall=mall,
                    title=f"{label} に接続できません（自動で再試行しています）",
                    text=str(err),
                )
            )
            log.warning("%s down: %s", mall, err)
            status.health = Health.DOWN
            status.since = now
        status.message = str(err)

    def _mall_ok(self, mall: str, now: datetime, alerts: list[Alert]) -> None:
        status = self.health.setdefault(mall, MallStatus())
        if status.health is not Health.OK:
            alerts.append(
                Alert(
                    kind=AlertKind.MALL_RECOVERED,
                    key=f"up:{mall}",
                    mall=mall,
                    title=f"{mall_label(mall)} との接続が回復しました",
                )
            )
            log.info("%s recovered", mall)
        self.health[mall] = MallStatus(health=Health.OK, since=now)

    def _sheet_failed(self, err: SheetError, alerts: list[Alert], report: CycleReport) -> None:
        report.error = str(err)
        log.error("sheet: %s", err)
        if self.sheet_ok:
            alerts.append(
                Alert(
                    kind=AlertKind.SHEET_ERROR,
                    key="sheet",
                    urgent=False,
                    title="スプレッドシートの読み書きに失敗しました（自動で再試行しています）",
                    text=str(err),
                )
            )
        self.sheet_ok = False

    def _sheet_recovered(self, alerts: list[Alert]) -> None:
        if not self.sheet_ok:
            alerts.append(
                Alert(
                    kind=AlertKind.MALL_RECOVERED,
                    key="sheet:up",
                    title="スプレッドシートの読み書きが回復しました",
                )
            )
        self.sheet_ok = True

    def _deliver(self, alerts: list[Alert], report: CycleReport) -> None:
        report.alerts = alerts
        for alert in alerts:
            if alert.kind in INCIDENTS:
                self._incidents.append(
                    ErrorLogRow(
                        at=report.at,
                        where=mall_label(alert.mall) if alert.mall else "スプレッドシート",
                        message=alert.title,
                        detail=alert.text,
                    )
                )
        del self._incidents[:-INCIDENT_BACKLOG]
        if alerts:
            self.alerts.send(alerts)

    # ------------------------------------------------------------------ checks

    def daily(self) -> list[Alert]:
        """The daily job: credential expiry checks, then one summary message (§7)."""
        alerts = self.check_credentials()
        summary = self.daily_summary()
        self.alerts.send([summary])
        return [*alerts, summary]

    def daily_summary(self) -> Alert:
        """What happened since the last summary and what needs attention now."""
        now = self.clock.now()
        sales = sum(n for (_, kind), n in self._day.items() if kind == "販売")
        cancels = sum(n for (_, kind), n in self._day.items() if kind == "キャンセル")
        by_mall = Counter[str]()
        for (mall, kind), n in self._day.items():
            if kind == "販売":
                by_mall[mall] += n
        raised = self.state.conditions

        def count(prefix: str) -> int:
            return sum(1 for c in raised if c.startswith(prefix + ":"))

        lines = [
            f"注文の反映 {sales}件"
            + (
                "（" + "、".join(f"{mall_label(m)} {n}" for m, n in sorted(by_mall.items())) + "）"
                if by_mall
                else ""
            )
            + f"、キャンセル {cancels}件",
            f"売り越し {count('oversell')}商品、在庫切れ {count('out_of_stock')}商品、"
            f"在庫下限 {count('low_stock')}商品、未割当の注文 {count('unassigned')}件",
            "モール接続: "
            + "、".join(
                f"{mall_label(m)} {'OK' if st.health is Health.OK else '停止中' if st.health is Health.PARKED else 'エラー'}"
                for m, st in sorted(self.health.items())
            ),
        ]
        self._day.clear()
        return Alert(
            kind=AlertKind.SUMMARY,
            key=f"summary:{format_jst(now)[:10]}",
            title=f"日次サマリー（{format_jst(now)[:10]}）",
            text="\n".join(lines),
        )

    def check_credentials(self) -> list[Alert]:
        """Ask every mall for its credential expiry; alert once when it comes close."""
        now = self.clock.now()
        alerts: list[Alert] = []
        for mall, adapter in self.adapters.items():
            try:
                result = adapter.check()
            except MallError as err:
                self._mall_failed(mall, err, now, alerts)
                continue
            if not result.ok:
                continue
            expires = result.credential_expires_at
            key = f"expiring:{mall}"
            if expires is not None and expires - now <= self.config.credential_warn:
                if key not in self.state.conditions:
                    # Calendar days in Japan, as the date next to it is shown.
                    days = max((to_jst(expires).date() - to_jst(now).date()).days, 0)
                    alerts.append(
                        Alert(
                            kind=AlertKind.CREDENTIAL_EXPIRING,
                            key=key,
                            mall=mall,
                            title=f"{mall_label(mall)} の認証キーの有効期限が近づいています（{format_jst(expires)[:10]}、あと{days}日）",
                            text="期限が切れると在庫連動が止まります。新しいキーを発行して設定を更新してください。",
                        )
                    )
                    self.state = engine.replace_conditions(
                        self.state, self.state.conditions | {key}
                    )
            elif key in self.state.conditions:
                self.state = engine.replace_conditions(self.state, self.state.conditions - {key})
        if alerts:
            self.alerts.send(alerts)
        return alerts
