"""A whole shop for end-to-end tests: sheet emulator + 楽天 simulator + the real worker.

The wiring is bot/demo.py's (`build_worker`): real gspread on the Sheets emulator, the
real 楽天 adapter over httpx on the RMS simulator, the real engine and worker, all on
one VirtualClock. Tests drive it like a shop does — customers order on the mall, staff
type into cells and append 入出庫 rows — and read the outcome back from the sheet, the
mall and the alert sink.

Two taps sit in the transports so a test can make the process die at any I/O step:
:class:`SheetTap` (a requests adapter around the emulator) and :class:`MallTap` (an
httpx transport around the simulator). Each raises :class:`Crash` before a chosen call
reaches its server, or after the server handled it (the answer never comes back). A
crash is not an error the worker may handle: it escapes ``Worker.cycle`` like a killed
process, and :meth:`Shop.restart` builds a new worker from the sheet alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
import pytest
import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

from bot.bootstrap import World, build
from bot.core.domain import Alert, AlertKind
from bot.infra.alerts import AlertSink
from bot.infra.clock import JST, format_jst
from bot.infra.sheet.gateway import make_client
from bot.infra.sheet.layout import column_letter
from bot.infra.sheet.template import init_sheet
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SHEETS_PREFIX, SheetsEmulator
from bot.sandbox.simulators.rakuten import RakutenSimulator
from bot.sandbox.wiring import sandbox_settings
from bot.shell.worker import CycleReport, Worker, WorkerConfig

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
SECRET = "SP123456_e2e"
KEY = "SL123456_e2e_key1"
NEW_KEY = "SL123456_e2e_key2"
CYCLE_SECONDS = 15.0

MASTER = "商品マスタ"
SETS_TAB = "セット構成"
MOVES = "入出庫"
SETTINGS_TAB = "設定"
LISTINGS = "出品状況"
SALES = "販売ログ"
OPS = "操作ログ"
ERRORS = "エラーログ"
MALL_LOG = "モール更新ログ"
STATE = "_state"

APPLYING_KINDS = ("販売", "キャンセル", "数量変更")
"""販売ログ 種別 whose 数量 changed on-hand stock."""

# 商品コード, 商品名, 在庫数, 楽天コード
PRODUCTS: list[tuple[str, str, int, str]] = [
    ("TS-M", "Tシャツ M", 10, "tshirt:m"),
    ("TS-L", "Tシャツ L", 8, "tshirt:l"),
    ("MUG", "マグカップ", 6, "mug:blue"),
    ("SOAP", "石けん", 24, "soap:single"),
    ("GIFT", "ギフト（マグ＋石けん2個）", 0, "gift:set"),
    ("SCARF", "マフラー（楽天コード未登録）", 5, ""),
]
SETS: list[tuple[str, str, int]] = [("GIFT", "MUG", 1), ("GIFT", "SOAP", 2)]
SET_SKUS = frozenset(s for s, _, _ in SETS)
COMPONENTS: dict[str, list[tuple[str, int]]] = {"GIFT": [("MUG", 1), ("SOAP", 2)]}
# What 楽天 shows before the bot's first push; the unmapped scarf exists only on 楽天.
MALL_STOCK: dict[str, int] = {
    "tshirt:m": 10,
    "tshirt:l": 8,
    "mug:blue": 6,
    "soap:single": 24,
    "gift:set": 6,
    "scarf:wool": 5,
}
CODE_OF = {sku: code for sku, _, _, code in PRODUCTS if code}


class Crash(Exception):
    """The process dies here: nothing in the bot may catch this."""


# --------------------------------------------------------------------------- taps

When = Literal["before", "after"]


@dataclass
class _Arm:
    match: Callable[[str], bool]
    nth: int
    when: When
    seen: int = 0


class SheetTap(BaseAdapter):
    """A requests adapter in front of the emulator that can crash around one call."""

    def __init__(self, emu: SheetsEmulator) -> None:
        super().__init__()
        self.emu = emu
        self.armed: _Arm | None = None
        self.fired = False

    def arm(self, op: str, *, nth: int = 1, when: When) -> None:
        """Crash at the ``nth`` next call of ``op`` (``values.batchGet`` …)."""
        self.armed = _Arm(match=lambda o: o == op, nth=nth, when=when)
        self.fired = False

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        crash = self._due(sheet_op(request))
        if crash == "before":
            raise Crash(f"before {request.method} {request.url}")
        response = self.emu.send(request, stream, timeout, verify, cert, proxies)
        if crash == "after":
            raise Crash(f"after {request.method} {request.url}")
        return response

    def _due(self, op: str) -> When | None:
        arm = self.armed
        if arm is None or not arm.match(op):
            return None
        arm.seen += 1
        if arm.seen < arm.nth:
            return None
        self.armed = None
        self.fired = True
        return arm.when

    def close(self) -> None:
        """The emulator outlives every session."""


def sheet_op(request: PreparedRequest) -> str:
    """The Sheets API method a request calls (as the emulator's RequestRecord.op names it)."""
    path = (request.url or "").split("?", 1)[0]
    if path.endswith("values:batchGet"):
        return "values.batchGet"
    if path.endswith("values:batchGetByDataFilter"):
        return "values.batchGetByDataFilter"
    if path.endswith("values:batchUpdate"):
        return "values.batchUpdate"
    if path.endswith(":batchUpdate"):
        return "spreadsheets.batchUpdate"
    return f"{request.method} other"


class MallTap(httpx.BaseTransport):
    """An httpx transport in front of the 楽天 simulator that can crash around one call.

    ``lose_answer`` plays the other half of a timeout: the simulator handled the call
    but the adapter sees ``httpx.ReadTimeout`` (the simulator's own ``timeout`` fault
    drops the request instead).
    """

    def __init__(self, sim: RakutenSimulator) -> None:
        self.sim = sim
        self.armed: _Arm | None = None
        self.fired = False
        self.lost: list[str] = []
        self.hooks: list[tuple[str, Callable[[], object]]] = []

    def before_next(self, path_part: str, callback: Callable[[], object]) -> None:
        """Run ``callback`` just before the next call to ``path_part`` reaches 楽天."""
        self.hooks.append((path_part, callback))

    def arm(self, path_part: str, *, nth: int = 1, when: When) -> None:
        """Crash at the ``nth`` next call whose path contains ``path_part``."""
        self.armed = _Arm(match=lambda p: path_part in p, nth=nth, when=when)
        self.fired = False

    def lose_answer(self, path_part: str, times: int = 1) -> None:
        """The next ``times`` calls to ``path_part`` are served, then time out."""
        self.lost.extend([path_part] * times)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for i, (part, callback) in enumerate(self.hooks):
            if part in path:
                del self.hooks[i]
                callback()
                break
        crash: When | None = None
        arm = self.armed
        if arm is not None and arm.match(path):
            arm.seen += 1
            if arm.seen >= arm.nth:
                crash = arm.when
                self.armed = None
                self.fired = True
        if crash == "before":
            raise Crash(f"before {request.method} {path}")
        response = self.sim.transport.handle_request(request)
        if crash == "after":
            raise Crash(f"after {request.method} {path}")
        for i, part in enumerate(self.lost):
            if part in path:
                del self.lost[i]
                response.read()
                raise httpx.ReadTimeout("answer lost after the mall applied it", request=request)
        return response


# --------------------------------------------------------------------------- the shop


_TEMPLATE: dict[str, Any] = {}


def _template_book() -> tuple[SheetsEmulator, str]:
    """init-sheet is the slow part of a set-up (formats on every row): do it once."""
    if "emu" not in _TEMPLATE:
        emu = SheetsEmulator()
        sid = emu.create_spreadsheet("zaiko-bot e2e", sheets=("Sheet1",))
        clock = VirtualClock(START)
        init_sheet(make_client(session=emu.session(), clock=clock, stop=None).open_by_key(sid))
        _TEMPLATE["emu"], _TEMPLATE["sid"] = emu, sid
    return _TEMPLATE["emu"], _TEMPLATE["sid"]


def fresh_sheet() -> tuple[SheetsEmulator, str]:
    """A new emulator holding a copy of the initialised template spreadsheet."""
    template, sid = _template_book()
    emu = SheetsEmulator()
    # The emulator has no public "copy a book" control; its book clone is the same
    # all-or-nothing copy it makes for every write.
    emu._books[sid] = template._snapshot(sid)
    return emu, sid


@dataclass
class Shop:
    """The simulated world plus the helpers a test needs to play staff, customers and ops."""

    clock: VirtualClock
    emu: SheetsEmulator
    sid: str
    sim: RakutenSimulator
    alerts: AlertSink
    sheet_tap: SheetTap
    mall_tap: MallTap
    worker: Worker = field(init=False)
    license_key: str = KEY
    config: WorkerConfig = field(default_factory=WorkerConfig)
    sheet_retry_tries: int = 5
    reports: list[CycleReport] = field(default_factory=list)
    initial: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.worker = self.build_worker()

    # -- wiring ------------------------------------------------------------------

    def build_worker(self) -> Worker:
        """A new process: bootstrap.build, the production wiring, around the doubles."""
        session = requests.Session()
        session.trust_env = False
        self.emu.mount(session)
        session.mount(SHEETS_PREFIX, self.sheet_tap)
        settings = sandbox_settings(
            sheet_id=self.sid,
            sheet={"retry_max_tries": self.sheet_retry_tries},
            malls={
                "rakuten": {
                    "enabled": True,
                    "service_secret": SECRET,
                    "license_key": self.license_key,
                }
            },
        )
        world = World(
            transports={"rakuten": self.mall_tap},
            sheets_session=session,
            clock=self.clock,
            alerts=self.alerts,
            parallel=False,
        )
        return build(settings, world, config=self.config).worker

    def restart(self, license_key: str | None = None) -> Worker:
        """A new process: fresh gateway, adapter and worker; only the sheet is kept."""
        if license_key is not None:
            self.license_key = license_key
        self.worker = self.build_worker()
        return self.worker

    # -- time and cycles ---------------------------------------------------------

    def cycle(self) -> CycleReport:
        """One worker cycle, then the gap until the next one."""
        report = self.worker.cycle()
        self.reports.append(report)
        self.clock.advance(CYCLE_SECONDS)
        return report

    def run_until_quiet(self, max_cycles: int = 8) -> list[CycleReport]:
        """Cycle until one commits and has nothing left to apply or push."""
        done: list[CycleReport] = []
        for _ in range(max_cycles):
            report = self.cycle()
            done.append(report)
            if (
                report.committed
                and not report.error
                and not report.sales_rows
                and not report.stock_changes
                and not report.pushes
                and not report.push_failures
            ):
                return done
        raise AssertionError(f"not quiet after {max_cycles} cycles: {done[-1].summary()}")

    def wait(self, seconds: float) -> None:
        """Time passes with no cycle (the worker is between ticks, or down)."""
        self.clock.advance(seconds)

    # -- customers (楽天) --------------------------------------------------------

    def order(self, *lines: tuple[str, int]) -> str:
        """A customer order on 楽天; the shop page must accept it."""
        number = self.sim.place_order(list(lines))
        assert number is not None, f"楽天 refused the order {lines}"
        return number

    def cancel(self, number: str) -> None:
        """The shop cancels an order in RMS (楽天 restocks it: restockOnCancel default)."""
        self.sim.cancel_order(number)

    # -- staff (the sheet) -------------------------------------------------------

    def grid(self, tab: str) -> list[list[Any]]:
        """A tab's values as the API returns them (unformatted)."""
        return self.emu.get_values(self.sid, tab)

    def formulas(self, tab: str) -> list[list[Any]]:
        """A tab's cells with formulas as typed."""
        return self.emu.get_values(self.sid, tab, render="FORMULA")

    def rows(self, tab: str) -> list[dict[str, Any]]:
        """Data rows of a tab as {header: value} (blank rows included as empty dicts)."""
        grid = self.grid(tab)
        if not grid:
            return []
        header = [str(h) for h in grid[0]]
        return [
            {h: (row[i] if i < len(row) else None) for i, h in enumerate(header) if h}
            for row in grid[1:]
        ]

    def _product_row(self, sku: str, *, nth: int = 0) -> int:
        """1-based sheet row of the ``nth`` 商品マスタ row holding ``sku``."""
        header = self.grid(MASTER)[0]
        col = header.index("商品コード")
        found = [
            i
            for i, row in enumerate(self.grid(MASTER)[1:], start=2)
            if len(row) > col and row[col] == sku
        ]
        if len(found) <= nth:
            raise KeyError(sku)
        return found[nth]

    def cell(self, tab: str, header: str, row: int) -> str:
        """A1 name of the cell under ``header`` on 1-based ``row``."""
        return f"{column_letter(self.grid(tab)[0].index(header))}{row}"

    def type(self, sku: str, header: str, value: Any, *, nth: int = 0) -> str:
        """Staff type ``value`` into a 商品マスタ cell (parsed like the UI); returns its A1."""
        a1 = self.cell(MASTER, header, self._product_row(sku, nth=nth))
        self.emu.set_values(self.sid, MASTER, a1, [[value]])
        return a1

    def add_product(self, values: Mapping[str, Any]) -> int:
        """Staff add a 商品マスタ row at the bottom; returns its 1-based row."""
        header = self.grid(MASTER)[0]
        row = len(self.grid(MASTER)) + 1
        line: list[Any] = [None] * len(header)
        for name, value in values.items():
            line[header.index(name)] = value
        self.emu.set_values(self.sid, MASTER, f"A{row}", [line])
        return row

    def movement(self, sku: str, qty: Any, kind: str = "入荷", memo: str = "") -> int:
        """Staff append a 入出庫 row; returns its 1-based row."""
        row = len(self.grid(MOVES)) + 1
        self.emu.set_values(
            self.sid, MOVES, f"A{row}", [[format_jst(self.clock.now()), sku, qty, kind, memo]]
        )
        return row

    def setting(self, label: str, value: Any) -> None:
        """Staff change one 設定 row (項目 ``label``)."""
        for i, row in enumerate(self.grid(SETTINGS_TAB)[1:], start=2):
            if row and row[0] == label:
                self.emu.set_values(self.sid, SETTINGS_TAB, f"B{i}", [[value]])
                return
        raise KeyError(label)

    def rename_header(self, tab: str, old: str, new: str) -> str:
        """Staff rename a column header; returns its A1."""
        a1 = f"{column_letter(self.grid(tab)[0].index(old))}1"
        self.emu.set_values(self.sid, tab, a1, [[new]])
        return a1

    # -- reading the outcome -----------------------------------------------------

    def stock(self, sku: str, *, nth: int = 0) -> Any:
        """在庫数 of a product as the sheet holds it."""
        return self.product(sku, nth=nth).get("在庫数")

    def stocks(self) -> dict[str, Any]:
        """在庫数 of every product row with a 商品コード (first row wins)."""
        out: dict[str, Any] = {}
        for row in self.rows(MASTER):
            if row.get("商品コード"):
                out.setdefault(str(row["商品コード"]), row.get("在庫数"))
        return out

    def product(self, sku: str, *, nth: int = 0) -> dict[str, Any]:
        """One 商品マスタ row as {header: value}."""
        return self.rows(MASTER)[self._product_row(sku, nth=nth) - 2]

    def status(self, sku: str, *, nth: int = 0) -> str:
        """状態 of a product row."""
        return str(self.product(sku, nth=nth).get("状態") or "")

    def sales(self, kind: str | None = None) -> list[dict[str, Any]]:
        """販売ログ rows (of one 種別)."""
        return [r for r in self.rows(SALES) if kind is None or r.get("種別") == kind]

    def ops(self) -> list[dict[str, Any]]:
        """操作ログ rows."""
        return self.rows(OPS)

    def errors(self) -> list[dict[str, Any]]:
        """エラーログ rows."""
        return self.rows(ERRORS)

    def state(self) -> dict[str, str]:
        """_state as {キー: 値}."""
        return {str(r["キー"]): str(r.get("値") or "") for r in self.rows(STATE) if r.get("キー")}

    def listing(self, code: str) -> dict[str, Any]:
        """The 出品状況 row of one 楽天 listing."""
        rows = [r for r in self.rows(LISTINGS) if r.get("モール商品コード") == code]
        assert len(rows) == 1, f"{len(rows)} 出品状況 rows for {code}"
        return rows[0]

    def live(self, code: str) -> int | None:
        """What 楽天 shows for a listing now."""
        return self.sim.stock(code)

    def sent_alerts(self) -> list[Alert]:
        """Every alert the worker handed to the sink (MemoryAlerts shops only)."""
        assert isinstance(self.alerts, MemoryAlerts)
        return self.alerts.alerts

    def alerts_of(self, kind: AlertKind) -> list[Alert]:
        """Alerts of one kind sent so far."""
        return [a for a in self.sent_alerts() if a.kind is kind]

    def mall_calls(self, part: str) -> int:
        """How many requests 楽天 received whose path contains ``part``."""
        return sum(part in r.path for r in self.sim.requests)


def make_shop(
    *,
    alerts: AlertSink | None = None,
    config: WorkerConfig | None = None,
    latency: float = 0.05,
    sheet_retry_tries: int = 5,
    products: Sequence[tuple[str, str, int, str]] = PRODUCTS,
) -> Shop:
    """A shop with the template sheet filled in and 楽天 listing the same products."""
    clock = VirtualClock(START)
    emu, sid = fresh_sheet()
    header = emu.get_values(sid, MASTER)[0]
    rows: list[list[Any]] = []
    for sku, name, stock, code in products:
        row: list[Any] = [None] * len(header)
        row[header.index("商品コード")] = sku
        row[header.index("商品名")] = name
        row[header.index("在庫数")] = stock
        row[header.index("連動停止")] = False
        row[header.index("在庫切れ時注文受付")] = False
        row[header.index("楽天コード")] = code
        rows.append(row)
    emu.set_values(sid, MASTER, "A2", rows)
    emu.set_values(sid, SETS_TAB, "A2", [list(s) for s in SETS])
    sim = RakutenSimulator(
        clock=clock, service_secret=SECRET, license_key=KEY, latency=latency, push_lag=0.0
    )
    for code, qty in MALL_STOCK.items():
        manage_number, variant = code.split(":")
        sim.add_item(manage_number, variant, qty)
    shop = Shop(
        clock=clock,
        emu=emu,
        sid=sid,
        sim=sim,
        alerts=alerts if alerts is not None else MemoryAlerts(),
        sheet_tap=SheetTap(emu),
        mall_tap=MallTap(sim),
        config=config or WorkerConfig(),
        sheet_retry_tries=sheet_retry_tries,
    )
    shop.initial = {sku: stock for sku, _, stock, _ in products}
    return shop


@pytest.fixture
def shop() -> Iterator[Shop]:
    """A started shop: the first cycle already took the sheet as the truth and pushed."""
    s = make_shop()
    s.cycle()
    yield s
    s.alerts.close()


FILLER = [(f"FILL{i:03d}", "まとめ買い用の商品", 1, "") for i in range(300)]


@pytest.fixture
def big() -> Iterator[Shop]:
    """A started shop of 306 products: too big to read 商品マスタ whole every cycle.

    Its first cycle read the tabs whole; later ones read the hot columns, a window of
    rows (the sweep) and 入出庫 below its settled top (bot/infra/sheet/hot.py).
    """
    s = make_shop(products=[*PRODUCTS, *FILLER])
    s.cycle()
    yield s
    s.alerts.close()


# --------------------------------------------------------------------------- checks


def expected_display(stock: int) -> int:
    """What 楽天 should show for on-hand ``stock`` (every test product has a blank rule)."""
    return max(stock, 0)


def set_stock(stocks: Mapping[str, Any], set_sku: str) -> int:
    """min over components of floor(component stock / qty), never negative."""
    return min(max(int(stocks[c]), 0) // q for c, q in COMPONENTS[set_sku])


@dataclass(frozen=True)
class Baseline:
    """Where a check starts: 在庫数 as the sheet held it and how long the logs were."""

    stocks: Mapping[str, int]
    sales: int
    ops: int

    @classmethod
    def take(cls, shop: Shop) -> Baseline:
        """Now, after staff typed what they typed (stocktakes are part of the start)."""
        return cls(
            stocks={k: int(v) for k, v in shop.stocks().items()},
            sales=len(shop.sales()),
            ops=len(shop.ops()),
        )


def assert_ledger_consistent(shop: Shop, since: Baseline | None = None) -> None:
    """販売ログ, 操作ログ and 商品マスタ tell one story (§4.1, §4.2).

    For every plain product: on-hand = start + the signed 数量 of every 販売ログ row
    since + every 入出庫 applied since. Without a baseline the start is the initial count,
    or the last 棚卸 in 操作ログ (orders seen in the same cycle count after it). No order
    line is applied twice: one 販売 row per (キー, 商品コード), and no line gives back more
    than it took. Set rows show what their components allow.
    """
    stocks = shop.stocks()
    all_sales = shop.sales()
    all_ops = shop.ops()

    sale_rows = Counter((r["キー"], r["商品コード"]) for r in all_sales if r["種別"] == "販売")
    twice = {k: n for k, n in sale_rows.items() if n > 1}
    assert not twice, f"order lines applied twice: {twice}"
    applied: Counter[tuple[str, str]] = Counter()
    for r in all_sales:
        if r["種別"] in APPLYING_KINDS:
            applied[(str(r["キー"]), str(r["商品コード"]))] += int(r["数量"])
    gave_back = {k: v for k, v in applied.items() if v > 0}
    assert not gave_back, f"lines gave back more than they took: {gave_back}"

    sales = all_sales[since.sales :] if since else all_sales
    ops = all_ops[since.ops :] if since else all_ops
    for sku in shop.initial:
        if sku in SET_SKUS:
            continue
        start = since.stocks[sku] if since else shop.initial[sku]
        first_op, cut = 0, ""
        if since is None:
            for i, op in enumerate(ops):
                if op.get("商品コード") == sku and op.get("種別") == "棚卸":
                    start, first_op, cut = int(op["変更後"]), i + 1, str(op["日時"])
        sold = sum(
            int(r["数量"])
            for r in sales
            if r["種別"] in APPLYING_KINDS and r["商品コード"] == sku and str(r["日時"]) >= cut
        )
        moved = sum(
            int(op["変更後"]) - int(op["変更前"])
            for op in ops[first_op:]
            if op.get("商品コード") == sku and str(op.get("種別", "")).startswith("入出庫")
        )
        assert stocks[sku] == start + sold + moved, (
            f"{sku}: sheet {stocks[sku]} != {start} {sold:+} (販売ログ) {moved:+} (入出庫)"
        )
    for set_sku in SET_SKUS:
        assert stocks[set_sku] == set_stock(stocks, set_sku), set_sku


def assert_mall_matches_sheet(shop: Shop) -> None:
    """After the final push 楽天 and 出品状況 show what the sheet's stock says."""
    stocks = shop.stocks()
    for sku, code in CODE_OF.items():
        want = expected_display(int(stocks[sku]))
        assert shop.live(code) == want, f"楽天 {code} shows {shop.live(code)}, want {want}"
        assert shop.listing(code)["表示在庫"] == want, code


def is_jst_timestamp(text: str) -> bool:
    """A staff-facing timestamp (``2026-11-23 14:05:09``)."""
    return re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text) is not None


# --------------------------------------------------------------------------- tabs (staff)


def delete_tab(shop: Shop, title: str) -> None:
    """Staff delete a tab in the UI (not counted, not hooked)."""
    sheet_id = int(shop.emu.sheet_properties(shop.sid, title)["sheetId"])
    shop.emu.client().open_by_key(shop.sid).batch_update(
        {"requests": [{"deleteSheet": {"sheetId": sheet_id}}]}
    )


def rename_tab(shop: Shop, title: str, new_title: str) -> None:
    """Staff rename a tab in the UI."""
    sheet_id = int(shop.emu.sheet_properties(shop.sid, title)["sheetId"])
    shop.emu.client().open_by_key(shop.sid).batch_update(
        {
            "requests": [
                {
                    "updateSheetProperties": {
                        "properties": {"sheetId": sheet_id, "title": new_title},
                        "fields": "title",
                    }
                }
            ]
        }
    )
