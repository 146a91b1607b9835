"""The embedded default: the real worker against the sheet emulator and mall simulators.

`python -m bot demo` plays a scripted shop day on the virtual clock — orders, a
cancellation, a stocktake, a receipt, a bad cell, a hand edit on the mall, an
unassigned code, an expired 楽天 licence key and its renewal, a shop-floor sale that
oversells — and prints what the bot did. Everything below the script is production
code: the same gateway (through real gspread), adapter (through httpx), engine and
worker that `run` uses, wired by the same ``bootstrap.build``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from bot.bootstrap import App, World, build
from bot.core.domain import Alert
from bot.infra.clock import JST, format_jst
from bot.infra.sheet.layout import column_letter, mall_key
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator, export_xlsx
from bot.sandbox.simulators.amazon import AmazonSimulator
from bot.sandbox.simulators.base import BaseSimulator
from bot.sandbox.simulators.colorme import ColorMeSimulator
from bot.sandbox.simulators.rakuten import RakutenSimulator
from bot.sandbox.simulators.shopify import ShopifySimulator
from bot.sandbox.simulators.yahoo import YahooSimulator
from bot.sandbox.wiring import sandbox_settings
from bot.shell.auth import authorize
from bot.shell.startup import open_worker
from bot.shell.worker import CycleReport, Worker, mall_label

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
SECRET = "SP123456_demo"
OLD_KEY = "SL123456_demo_old"
NEW_KEY = "SL123456_demo_new"
CYCLE = 15.0
DEMO_SECRET_KEY = "dRHEQor1-mwWNVzO_9j4bNbT22Tkn0yOfFjdxCvzcjE="
"""The demo's own Fernet key for Yahoo's tokens in _state (a real shop sets ZAIKO_SECRET_KEY)."""

# 商品コード, 商品名, 在庫数, 表示在庫設定, 在庫下限, 連動停止, 取り寄せ, 楽天コード, Yahooコード, Amazonコード
PRODUCTS: list[list[Any]] = [
    [
        "TS-WH-M",
        "Tシャツ 白 M",
        12,
        "",
        3,
        False,
        False,
        "tshirt:wh-m",
        "tshirt:wh-m",
        "AMZ-TS-WH-M",
    ],
    ["TS-WH-L", "Tシャツ 白 L", 4, "", 3, False, False, "tshirt:wh-l", "tshirt:wh-l", ""],
    # sold on Amazon both ways: AMZ-MUG-BL ships from the shop, AMZ-MUG-BL-FBA from Amazon
    [
        "MUG-BL",
        "マグカップ 青",
        5,
        "",
        2,
        False,
        False,
        "mug:blue",
        "",
        "AMZ-MUG-BL, AMZ-MUG-BL-FBA",
    ],
    ["TOWEL", "今治タオル", 30, "20", 5, False, False, "towel:std", "towel-std", "AMZ-TOWEL"],
    ["SOAP", "オリーブ石けん", 24, "-2", 6, False, False, "soap:single", "soap", ""],
    ["SOAP-6", "オリーブ石けん 6個入りケース", 0, "", "", False, False, "soap:case6", "", ""],
    [
        "GIFT",
        "ギフトセット（タオル＋石けん2個）",
        0,
        "",
        1,
        False,
        False,
        "gift:set",
        "gift-set",
        "",
    ],
    ["CANDLE", "アロマキャンドル（取り寄せ可）", 0, "+5", "", False, True, "candle:std", "", ""],
    ["SCARF", "ウールマフラー", 6, "", 1, False, False, "", "", ""],
]
PRODUCT_HEADERS = [
    "商品コード",
    "商品名",
    "在庫数",
    "表示在庫設定",
    "在庫下限",
    "連動停止",
    "在庫切れ時注文受付",
    "楽天コード",
    "Yahooコード",
    "Amazonコード",
]
SETS = [["SOAP-6", "SOAP", 6], ["GIFT", "TOWEL", 1], ["GIFT", "SOAP", 2]]
# What each mall shows before the bot first runs (it disagrees with the sheet on purpose).
MALL_STOCK: dict[str, dict[str, int]] = {
    "rakuten": {
        "tshirt:wh-m": 10,
        "tshirt:wh-l": 4,
        "mug:blue": 7,
        "towel:std": 20,
        "soap:single": 20,
        "soap:case6": 4,
        "gift:set": 9,
        "candle:std": 0,
        "scarf:wool": 6,
    },
    "yahoo": {"tshirt:wh-m": 12, "tshirt:wh-l": 2, "towel-std": 20, "soap": 22, "gift-set": 8},
    "amazon": {"AMZ-TS-WH-M": 11, "AMZ-MUG-BL": 5, "AMZ-TOWEL": 18},
}
# The shop's own carts: Shopify (SKUs), BASE (item or item:variation) and カラーミー.
OWN_CART_CODES: dict[str, dict[str, str]] = {
    "TS-WH-M": {"Shopifyコード": "SH-TS-WH-M", "BASEコード": "300001:400001"},
    "MUG-BL": {"Shopifyコード": "SH-MUG-BL", "カラーミーコード": "500000001"},
    "SOAP": {"BASEコード": "300002", "カラーミーコード": "500000002"},
}
OWN_CART_STOCK: dict[str, dict[str, int]] = {
    "shopify": {"SH-TS-WH-M": 12, "SH-MUG-BL": 5},
    "base": {"300001:400001": 10, "300002": 20},
    "colorme": {"500000001": 5, "500000002": 22},
}
AMAZON_FBA = {"AMZ-MUG-BL-FBA": 40}
"""Units Amazon keeps in its own warehouse: never pushed, their sales never counted."""
MALLS = ("rakuten", "yahoo", "amazon", "shopify", "base", "colorme")


@dataclass
class Timeline:
    """What the demo prints as it goes."""

    quiet: bool
    lines: list[str] = field(default_factory=list)

    def say(self, when: datetime, jp: str, en: str = "") -> None:
        text = f"{format_jst(when)[11:]}  {jp}" + (f" / {en}" if en else "")
        self.lines.append(text)
        if not self.quiet:
            print(text)

    def detail(self, text: str) -> None:
        self.lines.append("           " + text)
        if not self.quiet:
            print("           " + text)


@dataclass
class Shop:
    """The simulated world: one spreadsheet, three malls, one worker."""

    clock: VirtualClock
    emu: SheetsEmulator
    sid: str
    sims: dict[str, Any]
    alerts: MemoryAlerts
    worker: Worker
    out: Timeline
    license_key: str = OLD_KEY
    placed: list[tuple[str, str]] = field(default_factory=list)
    alert_log: list[Alert] = field(default_factory=list)
    cycles: int = 0
    max_requests: int = 0
    startup_requests: int = 0
    reports: list[CycleReport] = field(default_factory=list)

    def cycle(self, times: int = 1) -> None:
        for _ in range(times):
            if not self.worker.started:
                # Start-up (rebuild from 販売ログ, 出品状況, _state) is counted apart
                # from the steady per-cycle budget.
                self.emu.reset_counts()
                self.worker.start()
                counts = self.emu.counts()
                self.startup_requests = max(self.startup_requests, counts["read"] + counts["write"])
            self.emu.reset_counts()
            self.alerts.clear()
            report = self.worker.cycle()
            self.reports.append(report)
            self.cycles += 1
            counts = self.emu.counts()
            self.max_requests = max(self.max_requests, counts["read"] + counts["write"])
            self._said_alerts()
            if report.pushes:
                pushed = ", ".join(f"{mall_label(m)} {n}件" for m, n in report.pushes.items())
                self.out.detail(f"在庫を送信 / pushed: {pushed}")
            if report.error:
                self.out.detail(f"エラー: {report.error}")
            self.clock.advance(CYCLE)

    def at(self, hh: int, mm: int) -> datetime:
        when = START.replace(hour=hh, minute=mm)
        if when > self.clock.now():
            self.clock.set(when)
        return self.clock.now()

    @property
    def sim(self) -> RakutenSimulator:
        """楽天, whose licence key the day's script lets expire."""
        rakuten: RakutenSimulator = self.sims["rakuten"]
        return rakuten

    def order(self, lines: Sequence[tuple[str, int]], mall: str = "rakuten") -> str | None:
        number: str | None = self.sims[mall].place_order(list(lines))
        if number is not None:
            self.placed.append((mall, number))
        return number

    def restart(self, license_key: str, *, google_down_for: int = 0) -> None:
        """A new process with a renewed 楽天 key: only the sheet is kept.

        With ``google_down_for``, that many Sheets requests fail (503) first: the process
        waits them out on its start-up backoff instead of exiting (``run``'s path).
        """
        self.license_key = license_key
        if google_down_for:
            self.emu.fail_next(503, times=google_down_for)
        app = build_app(self.emu, self.sid, self.sims, self.clock, self.alerts, license_key)
        self.alerts.clear()
        worker = open_worker(app, say=lambda line: self.out.detail(f"ログ: {line}"))
        assert worker is not None
        self.worker = worker
        self._said_alerts()

    def _said_alerts(self) -> None:
        """Alerts sent since the last look: into the day's log and the timeline."""
        self.alert_log.extend(self.alerts.alerts)
        for alert in self.alerts.alerts:
            mark = "!!" if alert.urgent else "->"
            self.out.detail(f"{mark} Slack: {alert.title}")
        self.alerts.clear()

    def cell_of(self, sku: str, header_text: str) -> Any:
        """What 商品マスタ shows for ``sku`` under ``header_text`` (None if blank)."""
        grid = self.emu.get_values(self.sid, "商品マスタ")
        header = grid[0]
        i_sku, i_col = header.index("商品コード"), header.index(header_text)
        for row in grid[1:]:
            if row and row[i_sku] == sku:
                return row[i_col] if i_col < len(row) else None
        return None

    def stock_of(self, sku: str) -> Any:
        return self.cell_of(sku, "在庫数")

    def status_of(self, sku: str) -> Any:
        return self.cell_of(sku, "状態") or ""

    def set_cell(self, sku: str, header_text: str, value: Any) -> None:
        """A staff member types into 商品マスタ."""
        grid = self.emu.get_values(self.sid, "商品マスタ")
        header = grid[0]
        col = header.index(header_text)
        for i, row in enumerate(grid[1:], start=2):
            if row and row[header.index("商品コード")] == sku:
                self.emu.set_values(self.sid, "商品マスタ", f"{column_letter(col)}{i}", [[value]])
                return
        raise KeyError(sku)

    def _movement_row(self, sku: str) -> tuple[int, int]:
        """(grid row, 反映 column) of the first 入出庫 row for ``sku``."""
        grid = self.emu.get_values(self.sid, "入出庫")
        header = grid[0]
        for i, row in enumerate(grid[1:], start=2):
            if len(row) > 1 and row[header.index("商品コード")] == sku:
                return i, header.index("反映")
        raise KeyError(sku)

    def movement_mark(self, sku: str) -> Any:
        row, col = self._movement_row(sku)
        values = self.emu.get_values(self.sid, "入出庫")[row - 1]
        return values[col] if col < len(values) else None

    def clear_movement_mark(self, sku: str) -> None:
        """A staff member empties the 反映 cell of an applied 入出庫 row."""
        row, col = self._movement_row(sku)
        self.emu.set_values(self.sid, "入出庫", f"{column_letter(col)}{row}", [[""]])

    def movement(self, sku: str, qty: int, kind: str, memo: str) -> None:
        """A staff member appends a 入出庫 row."""
        grid = self.emu.get_values(self.sid, "入出庫")
        row = len(grid) + 1
        self.emu.set_values(
            self.sid,
            "入出庫",
            f"A{row}",
            [[format_jst(self.clock.now()), sku, qty, kind, memo]],
        )


def build_app(
    emu: SheetsEmulator,
    sid: str,
    sims: dict[str, Any],
    clock: VirtualClock,
    alerts: MemoryAlerts,
    license_key: str,
) -> App:
    """The production wiring (bootstrap.build) with simulator transports instead of hosts."""
    tables = {key: sim.config() for key, sim in sims.items()}
    tables["rakuten"] |= {"license_key": license_key}
    # Yahoo's and BASE's tokens come from `auth` (kept encrypted in _state), not the
    # environment.
    del tables["yahoo"]["refresh_token"]
    del tables["base"]["refresh_token"]
    settings = sandbox_settings(sheet_id=sid, secret_key=DEMO_SECRET_KEY, malls=tables)
    world = World(
        transports={key: sim.transport for key, sim in sims.items()},
        sheets_session=emu.session(),
        clock=clock,
        alerts=alerts,
        parallel=False,
    )
    return build(settings, world)


def _simulators(clock: VirtualClock) -> dict[str, Any]:
    """楽天, Yahoo and Amazon as the shop has them before the bot first runs."""
    rakuten = RakutenSimulator(
        clock=clock, service_secret=SECRET, license_key=OLD_KEY, push_lag=1.0, latency=0.2
    )
    for code, qty in MALL_STOCK["rakuten"].items():
        mn, vid = code.split(":")
        rakuten.add_item(mn, vid, qty, back_order=(mn == "candle"))
    yahoo = YahooSimulator(clock=clock, latency=0.2)
    amazon = AmazonSimulator(clock=clock, push_lag=60.0, latency=0.2)
    for code, qty in MALL_STOCK["yahoo"].items():
        yahoo.add_listing(code, qty)
    for code, qty in MALL_STOCK["amazon"].items():
        amazon.add_listing(code, qty)
    for code, qty in AMAZON_FBA.items():
        amazon.add_listing(code, qty, fba=True)
    carts: dict[str, Any] = {
        "shopify": ShopifySimulator(clock=clock, latency=0.2),
        "base": BaseSimulator(clock=clock, latency=0.2),
        "colorme": ColorMeSimulator(clock=clock, latency=0.2),
    }
    for key, listings in OWN_CART_STOCK.items():
        for code, qty in listings.items():
            carts[key].add_listing(code, qty)
    return {"rakuten": rakuten, "yahoo": yahoo, "amazon": amazon, **carts}


def _login(app: App, key: str, sim: Any) -> None:
    """The owner ran `python -m bot auth <key>` once: consent in the browser, paste back."""
    shown: list[str] = []

    def consent(prompt: str) -> str:
        page = httpx.Client(transport=sim.transport).get(shown[-1].splitlines()[-1])
        return str(page.headers["Location"])

    if authorize(app, key, ask=consent, say=shown.append) != 0:
        raise RuntimeError(shown[-1])


def setup(quiet: bool) -> Shop:
    """A new spreadsheet from the template, filled like a small shop's, and three malls."""
    clock = VirtualClock(START)
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("zaiko-bot デモ", sheets=("Sheet1",))
    sims = _simulators(clock)
    alerts = MemoryAlerts()
    app = build_app(emu, sid, sims, clock, alerts, OLD_KEY)
    app.init_sheet()  # the enabled malls' code columns and 設定 rows, nothing else
    for key in ("yahoo", "base"):
        _login(app, key, sims[key])
    header = emu.get_values(sid, "商品マスタ")[0]
    rows = []
    for product in PRODUCTS:
        row: list[Any] = [None] * len(header)
        for name, value in zip(PRODUCT_HEADERS, product, strict=True):
            row[header.index(name)] = value
        rows.append(row)
    for product, row in zip(PRODUCTS, rows, strict=True):
        for name, value in OWN_CART_CODES.get(product[0], {}).items():
            row[header.index(name)] = value
    emu.set_values(sid, "商品マスタ", "A2", rows)
    emu.set_values(sid, "セット構成", "A2", SETS)
    return Shop(
        clock=clock,
        emu=emu,
        sid=sid,
        sims=sims,
        alerts=alerts,
        worker=app.worker,
        out=Timeline(quiet),
    )


def script(shop: Shop) -> None:
    """The shop day, scene by scene."""
    for scene in (
        _morning_orders,
        _other_malls,
        _own_carts,
        _staff_edits,
        _mall_side,
        _order_changes,
        _staff_typing,
        _key_renewal,
        _evening,
    ):
        scene(shop)


def _morning_orders(shop: Shop) -> None:
    say = shop.out.say
    say(
        shop.at(9, 0),
        "開店。ボット起動: シートを正として全商品を楽天へ送信",
        "start: sheet is the truth, push all",
    )
    shop.cycle()

    say(shop.at(9, 5), "楽天で注文3件（Tシャツ1、マグ2、ギフトセット1）", "3 orders on Rakuten")
    shop.order([("tshirt:wh-m", 1)])
    cancel_me = shop.order([("mug:blue", 2)])
    shop.order([("gift:set", 1)])
    shop.cycle()
    shop.out.detail(
        f"在庫数: MUG-BL={shop.stock_of('MUG-BL')} TOWEL={shop.stock_of('TOWEL')} "
        f"SOAP={shop.stock_of('SOAP')} GIFT={shop.stock_of('GIFT')}（セットは自動計算）"
    )

    say(shop.at(9, 20), "楽天でマグ2個の注文がキャンセル", "a cancellation on Rakuten")
    assert cancel_me is not None
    shop.sim.cancel_order(cancel_me)
    shop.cycle()
    shop.out.detail(f"在庫数: MUG-BL={shop.stock_of('MUG-BL')}（戻りました）")


def _other_malls(shop: Shop) -> None:
    say = shop.out.say
    say(
        shop.at(9, 30),
        "Yahoo!ショッピングで石けん3個、Amazon でタオル1枚と FBA のマグ2個が売れる",
        "orders on Yahoo and Amazon (one fulfilled by Amazon)",
    )
    shop.order([("soap", 3)], mall="yahoo")
    shop.order([("AMZ-TOWEL", 1)], mall="amazon")
    shop.sims["amazon"].place_order([("AMZ-MUG-BL-FBA", 2)])  # Amazon's own stock: not ours
    for _ in range(16):  # Amazon's order search is paced to about one call in 3 minutes
        shop.cycle()
    shop.out.detail(
        f"在庫数: SOAP={shop.stock_of('SOAP')} TOWEL={shop.stock_of('TOWEL')} "
        f"MUG-BL={shop.stock_of('MUG-BL')}（FBA の注文は自社在庫を減らしません）"
    )


def _own_carts(shop: Shop) -> None:
    say = shop.out.say
    say(
        shop.at(9, 45),
        "自社カートでも注文: Shopify でマグ1個、BASE で Tシャツ1枚、カラーミーで石けん2個",
        "orders on the shop's own carts (Shopify, BASE, カラーミー)",
    )
    shop.order([("SH-MUG-BL", 1)], mall="shopify")
    shop.order([("300001:400001", 1)], mall="base")
    shop.order([("500000002", 2)], mall="colorme")
    shop.cycle(4)
    shop.out.detail(
        f"在庫数: MUG-BL={shop.stock_of('MUG-BL')} TS-WH-M={shop.stock_of('TS-WH-M')} "
        f"SOAP={shop.stock_of('SOAP')}（全モールに反映）"
    )


def _staff_edits(shop: Shop) -> None:
    say = shop.out.say
    say(
        shop.at(10, 0),
        "スタッフが棚卸: タオルを数えて 在庫数=27 と入力",
        "stocktake typed in the sheet",
    )
    shop.set_cell("TOWEL", "在庫数", 27)
    shop.order([("towel:std", 1)])
    shop.cycle()
    shop.out.detail(f"在庫数: TOWEL={shop.stock_of('TOWEL')}（棚卸27 − 同じ周期の注文1）")

    say(shop.at(10, 30), "入出庫タブに入荷: Tシャツ白L +10", "a receipt row in 入出庫")
    shop.movement("TS-WH-L", 10, "入荷", "11/23 便")
    shop.cycle()
    shop.out.detail(f"在庫数: TS-WH-L={shop.stock_of('TS-WH-L')}、入出庫の行に「済」")

    say(shop.at(11, 0), "スタッフが在庫数に「abc」と入力（誤入力）", "a bad cell typed by staff")
    shop.set_cell("SCARF", "在庫数", "abc")
    shop.cycle()
    shop.out.detail(f"状態: {shop.status_of('SCARF')}（この行は直るまで連動しません）")
    say(shop.at(11, 10), "スタッフが在庫数を 6 に直す", "staff fix the cell")
    shop.set_cell("SCARF", "在庫数", 6)
    shop.cycle()
    shop.out.detail(f"状態: {shop.status_of('SCARF')}（エラーが消え、連動を再開）")


def _mall_side(shop: Shop) -> None:
    say = shop.out.say
    say(
        shop.at(12, 0),
        "楽天の管理画面でマグの在庫が手で 50 に変更された",
        "a hand edit on the mall",
    )
    shop.sim.set_stock("mug:blue", 50)
    shop.clock.advance(600)
    shop.cycle(2)
    shop.out.detail(f"楽天の表示: mug:blue={shop.sim.stock('mug:blue')}（シートの数に戻しました）")

    say(
        shop.at(13, 0),
        "マフラーの楽天コードが未登録のまま注文が入る",
        "an order for a code no row maps",
    )
    shop.order([("scarf:wool", 1)])
    shop.cycle()
    say(shop.at(13, 10), "スタッフが商品マスタに楽天コード scarf:wool を追加", "staff add the code")
    shop.set_cell("SCARF", "楽天コード", "scarf:wool")
    shop.cycle()
    shop.out.detail(f"在庫数: SCARF={shop.stock_of('SCARF')}（未割当の注文を反映）")


def _order_changes(shop: Shop) -> None:
    say = shop.out.say
    say(shop.at(13, 20), "楽天でタオル3枚と石けん2個の注文", "two more orders on Rakuten")
    towels = shop.order([("towel:std", 3)])
    soaps = shop.order([("soap:single", 2)])
    shop.cycle()
    assert towels is not None and soaps is not None
    say(
        shop.at(13, 40),
        "発送前の注文のタオルを3枚→1枚に変更（RMS で注文内容を変更し、確定）",
        "a partial cancel of an older unshipped order",
    )
    shop.sim.change_line_units(towels, 0, 1, via_400=True)
    shop.cycle(2)
    shop.sim.confirm_change(towels)
    shop.cycle(2)
    shop.out.detail(f"在庫数: TOWEL={shop.stock_of('TOWEL')}（2枚戻りました）")
    say(
        shop.at(13, 50),
        "石けんの注文がキャンセル。楽天は在庫を戻さない設定（restoreInventoryFlag 2）",
        "a cancel Rakuten does not restock",
    )
    shop.sim.cancel_order(soaps, restock=False)
    shop.cycle(2)
    shop.out.detail(
        f"在庫数: SOAP={shop.stock_of('SOAP')}、楽天の表示: soap:single="
        f"{shop.sim.stock('soap:single')}（ボットが戻して送信）"
    )


def _staff_typing(shop: Shop) -> None:
    say = shop.out.say
    say(
        shop.at(13, 55),
        "スタッフがマフラーの表示在庫設定に「+20」と入力（ガイドのとおり）",
        "a +20 display rule typed as staff would",
    )
    shop.set_cell("SCARF", "表示在庫設定", "+20")
    shop.cycle()
    shop.out.detail(
        f"表示在庫設定: {shop.cell_of('SCARF', '表示在庫設定')!r}、楽天の表示: scarf:wool="
        f"{shop.sim.stock('scarf:wool')}（在庫数 {shop.stock_of('SCARF')} ＋ 20）"
    )
    say(
        shop.at(13, 58),
        "スタッフが入出庫の入荷の行の「済」を消してしまう",
        "a cleared 済 mark",
    )
    shop.clear_movement_mark("TS-WH-L")
    shop.cycle(2)
    shop.out.detail(
        f"在庫数: TS-WH-L={shop.stock_of('TS-WH-L')}（二重には反映しません）、"
        f"反映: {shop.movement_mark('TS-WH-L')}"
    )


def _key_renewal(shop: Shop) -> None:
    say = shop.out.say
    say(shop.at(14, 0), "楽天のライセンスキーが期限切れ（90日）", "Rakuten licence key expired")
    shop.sim.expire_credentials()
    shop.cycle()
    shop.order([("tshirt:wh-m", 2)])
    shop.cycle()
    say(
        shop.at(14, 30),
        "新しいキーを発行して設定を更新、ボットを再起動（シートだけから復元）。"
        "ちょうど Google に接続できない時間帯",
        "key renewed, worker restarted from the sheet alone while Google is unreachable",
    )
    shop.sim.renew_license(NEW_KEY)
    shop.restart(NEW_KEY, google_down_for=12)
    shop.cycle()
    shop.out.detail(f"在庫数: TS-WH-M={shop.stock_of('TS-WH-M')}（停止中の注文も反映）")


def _evening(shop: Shop) -> None:
    say = shop.out.say
    say(
        shop.at(16, 0),
        "店頭でマグ6個のまとめ買い（入出庫: 店頭販売 −6）。在庫は5個しかない",
        "a shop-floor sale beyond stock",
    )
    shop.movement("MUG-BL", -6, "店頭販売", "レジ（まとめ買い）")
    shop.cycle()

    say(shop.at(18, 0), "閉店 / closing", "")
    shop.cycle()


def summary(shop: Shop) -> dict[str, Any]:
    """Machine-readable outcome (`--json`)."""
    applied = _applied_orders(shop)
    stock = _final_stock(shop)
    set_skus = {s[0] for s in SETS}
    oversold = sum(
        -v for k, v in stock.items() if k not in set_skus and isinstance(v, int | float) and v < 0
    )
    kinds = Counter(str(a.kind) for a in shop.alert_log)
    return {
        "orders_placed": len(shop.placed),
        "orders_applied": len(applied),
        "oversold_units": int(oversold),
        "stuck_units": shop.reports[-1].stuck_units if shop.reports else 0,
        "pushes": sum(sum(r.pushes.values()) for r in shop.reports),
        "cycles": shop.cycles,
        "sheet_requests_per_cycle_max": shop.max_requests,
        "sheet_requests_at_startup": shop.startup_requests,
        "alerts": len(shop.alert_log),
        "alert_kinds": dict(kinds),
        "final_stock": stock,
        "by_mall": {mall: _mall_summary(shop, mall, applied) for mall in MALLS},
    }


def _applied_orders(shop: Shop) -> set[tuple[str, str]]:
    """(mall, order) of every 販売 row in 販売ログ."""
    sales = shop.emu.get_values(shop.sid, "販売ログ")
    header = sales[0]
    i_order, i_kind, i_mall = header.index("注文番号"), header.index("種別"), header.index("モール")
    return {
        (mall_key(str(row[i_mall])) or row[i_mall], str(row[i_order]))
        for row in sales[1:]
        if len(row) > i_kind and row[i_kind] == "販売"
    }


def _final_stock(shop: Shop) -> dict[str, Any]:
    grid = shop.emu.get_values(shop.sid, "商品マスタ")
    head = grid[0]
    return {
        row[head.index("商品コード")]: row[head.index("在庫数")]
        for row in grid[1:]
        if row and row[0]
    }


def _mall_summary(shop: Shop, mall: str, applied: set[tuple[str, str]]) -> dict[str, Any]:
    sim = shop.sims[mall]
    return {
        "orders_placed": sum(1 for m, _ in shop.placed if m == mall),
        "orders_applied": sum(1 for m, _ in applied if m == mall),
        "pushes": sum(r.pushes.get(mall, 0) for r in shop.reports),
        "api_calls": len(sim.requests),
        "refused_requests": len(refused_requests(shop, mall)),
    }


def refused_requests(shop: Shop, mall: str) -> list[Any]:
    """Requests the mall's simulator refused, except the day's deliberate expired 楽天 key."""
    sim = shop.sims[mall]
    if mall == "rakuten":
        return [r for r in sim.requests if r.status >= 400 and r.status != 401]
    refused: list[Any] = sim.refusals() if mall == "amazon" else sim.rejections()
    return refused


def _table(shop: Shop) -> list[str]:
    grid = shop.emu.get_values(shop.sid, "商品マスタ")
    head = grid[0]
    idx = {c: head.index(c) for c in ("商品コード", "商品名", "在庫数", "状態")}
    codes = {m: head.index(f"{mall_label(m)}コード") for m in MALLS}
    lines = ["", "最終在庫 / final stock (商品マスタ) — 各モールの表示"]
    for row in grid[1:]:

        def cell(i: int, row: list[Any] = row) -> str:
            return str(row[i]) if i < len(row) and row[i] is not None else ""

        shown = []
        for mall, i in codes.items():
            first = cell(i).split(",")[0].strip()
            live = shop.sims[mall].pending_stock(first) if first else None
            shown.append(f"{mall_label(mall)} {'-' if live is None else live:>3}")
        lines.append(
            f"  {cell(idx['商品コード']):<8} {cell(idx['在庫数']):>4}  {'  '.join(shown)}"
            f"  {cell(idx['状態'])}  {cell(idx['商品名'])}"
        )
    return lines


def _log_tabs(shop: Shop, last: int = 6) -> list[str]:
    lines: list[str] = []
    for title in ("販売ログ", "操作ログ", "モール更新ログ", "エラーログ"):
        grid = shop.emu.get_values(shop.sid, title)
        rows = grid[1:]
        lines.append("")
        lines.append(f"{title}（全{len(rows)}行、最後の{min(last, len(rows))}行）")
        lines.append("  " + " | ".join(str(c) for c in grid[0]))
        for row in rows[-last:]:
            lines.append("  " + " | ".join("" if c is None else str(c) for c in row))
    return lines


def main(*, as_json: bool = False, export: str | None = None, quiet: bool = False) -> int:
    """Run the demo; print the timeline and the final table (or one JSON object)."""
    shop = setup(quiet=quiet or as_json)
    script(shop)
    result = summary(shop)
    if export:
        export_xlsx(shop.emu, shop.sid, export)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    for line in _table(shop) + _log_tabs(shop):
        print(line)
    print()
    print(
        f"注文 {result['orders_placed']}件 → 反映 {result['orders_applied']}件 / "
        f"送信 {result['pushes']}件 / 1周期あたりのシートAPI 最大 {result['sheet_requests_per_cycle_max']}回 / "
        f"Slack通知 {result['alerts']}件"
    )
    if export:
        print(f"シートを書き出しました / exported: {export}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
