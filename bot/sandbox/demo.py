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

from bot.bootstrap import World, build
from bot.core.domain import Alert
from bot.infra.clock import JST, format_jst
from bot.infra.sheet.gateway import make_client
from bot.infra.sheet.layout import column_letter, mall_key
from bot.infra.sheet.template import init_sheet
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator, export_xlsx
from bot.sandbox.simulators.rakuten import RakutenSimulator
from bot.sandbox.wiring import sandbox_settings
from bot.shell.worker import CycleReport, Worker, mall_label

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
SECRET = "SP123456_demo"
OLD_KEY = "SL123456_demo_old"
NEW_KEY = "SL123456_demo_new"
CYCLE = 15.0

# 商品コード, 商品名, 在庫数, 表示在庫設定, 在庫下限, 連動, 取り寄せ, 楽天コード
PRODUCTS: list[list[Any]] = [
    ["TS-WH-M", "Tシャツ 白 M", 12, "", 3, True, False, "tshirt:wh-m"],
    ["TS-WH-L", "Tシャツ 白 L", 4, "", 3, True, False, "tshirt:wh-l"],
    ["MUG-BL", "マグカップ 青", 5, "", 2, True, False, "mug:blue"],
    ["TOWEL", "今治タオル", 30, "20", 5, True, False, "towel:std"],
    ["SOAP", "オリーブ石けん", 24, "-2", 6, True, False, "soap:single"],
    ["SOAP-6", "オリーブ石けん 6個入りケース", 0, "", "", True, False, "soap:case6"],
    ["GIFT", "ギフトセット（タオル＋石けん2個）", 0, "", 1, True, False, "gift:set"],
    ["CANDLE", "アロマキャンドル（取り寄せ可）", 0, "+5", "", True, True, "candle:std"],
    ["SCARF", "ウールマフラー", 6, "", 1, True, False, ""],
]
SETS = [["SOAP-6", "SOAP", 6], ["GIFT", "TOWEL", 1], ["GIFT", "SOAP", 2]]
# What 楽天 shows before the bot first runs (it disagrees with the sheet on purpose).
MALL_STOCK = {
    "tshirt:wh-m": 10,
    "tshirt:wh-l": 4,
    "mug:blue": 7,
    "towel:std": 20,
    "soap:single": 20,
    "soap:case6": 4,
    "gift:set": 9,
    "candle:std": 0,
    "scarf:wool": 6,
}


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
    """The simulated world: one spreadsheet, one mall, one worker."""

    clock: VirtualClock
    emu: SheetsEmulator
    sid: str
    sim: RakutenSimulator
    alerts: MemoryAlerts
    worker: Worker
    out: Timeline
    license_key: str = OLD_KEY
    placed: list[str] = field(default_factory=list)
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
            self.alert_log.extend(self.alerts.alerts)
            for alert in self.alerts.alerts:
                mark = "!!" if alert.urgent else "->"
                self.out.detail(f"{mark} Slack: {alert.title}")
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

    def order(self, lines: Sequence[tuple[str, int]]) -> str | None:
        number = self.sim.place_order(list(lines))
        if number is not None:
            self.placed.append(number)
        return number

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


def build_worker(
    emu: SheetsEmulator,
    sid: str,
    sim: RakutenSimulator,
    clock: VirtualClock,
    alerts: MemoryAlerts,
    license_key: str,
) -> Worker:
    """The production wiring (bootstrap.build) with simulator transports instead of hosts."""
    settings = sandbox_settings(
        sheet_id=sid,
        malls={"rakuten": {"enabled": True, "service_secret": SECRET, "license_key": license_key}},
    )
    world = World(
        transports={"rakuten": sim.transport},
        sheets_session=emu.session(),
        clock=clock,
        alerts=alerts,
        parallel=False,
    )
    return build(settings, world).worker


def setup(quiet: bool) -> Shop:
    """A new spreadsheet from the template, filled like a small shop's, and 楽天."""
    clock = VirtualClock(START)
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("zaiko-bot デモ", sheets=("Sheet1",))
    init_sheet(make_client(session=emu.session(), clock=clock, stop=None).open_by_key(sid))
    header = emu.get_values(sid, "商品マスタ")[0]
    order = [
        "商品コード",
        "商品名",
        "在庫数",
        "表示在庫設定",
        "在庫下限",
        "連動",
        "在庫切れ時注文受付",
        "楽天コード",
    ]
    rows = []
    for product in PRODUCTS:
        row: list[Any] = [None] * len(header)
        for name, value in zip(order, product, strict=True):
            row[header.index(name)] = value
        rows.append(row)
    emu.set_values(sid, "商品マスタ", "A2", rows)
    emu.set_values(sid, "セット構成", "A2", SETS)
    sim = RakutenSimulator(
        clock=clock, service_secret=SECRET, license_key=OLD_KEY, push_lag=1.0, latency=0.2
    )
    for code, qty in MALL_STOCK.items():
        mn, vid = code.split(":")
        sim.add_item(mn, vid, qty, back_order=(mn == "candle"))
    alerts = MemoryAlerts()
    worker = build_worker(emu, sid, sim, clock, alerts, OLD_KEY)
    return Shop(
        clock=clock, emu=emu, sid=sid, sim=sim, alerts=alerts, worker=worker, out=Timeline(quiet)
    )


def script(shop: Shop) -> None:
    """The shop day, scene by scene."""
    for scene in (_morning_orders, _staff_edits, _mall_side, _key_renewal, _evening):
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


def _key_renewal(shop: Shop) -> None:
    say = shop.out.say
    say(shop.at(14, 0), "楽天のライセンスキーが期限切れ（90日）", "Rakuten licence key expired")
    shop.sim.expire_credentials()
    shop.cycle()
    shop.order([("tshirt:wh-m", 2)])
    shop.cycle()
    say(
        shop.at(14, 30),
        "新しいキーを発行して設定を更新、ボットを再起動（シートだけから復元）",
        "key renewed, worker restarted from the sheet alone",
    )
    shop.sim.renew_license(NEW_KEY)
    shop.worker = build_worker(shop.emu, shop.sid, shop.sim, shop.clock, shop.alerts, NEW_KEY)
    shop.license_key = NEW_KEY
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
    sales = shop.emu.get_values(shop.sid, "販売ログ")
    header = sales[0]
    i_order, i_kind, i_mall = header.index("注文番号"), header.index("種別"), header.index("モール")
    applied_orders = {
        (mall_key(str(row[i_mall])) or row[i_mall], row[i_order])
        for row in sales[1:]
        if len(row) > i_kind and row[i_kind] == "販売"
    }
    grid = shop.emu.get_values(shop.sid, "商品マスタ")
    head = grid[0]
    stock = {
        row[head.index("商品コード")]: row[head.index("在庫数")]
        for row in grid[1:]
        if row and row[0]
    }
    set_skus = {s[0] for s in SETS}
    oversold = sum(
        -v for k, v in stock.items() if k not in set_skus and isinstance(v, int | float) and v < 0
    )
    pushes = sum(sum(r.pushes.values()) for r in shop.reports)
    titles = [a.title for a in shop.alert_log]
    kinds = Counter(str(a.kind) for a in shop.alert_log)
    return {
        "orders_placed": len(shop.placed),
        "orders_applied": len(applied_orders),
        "oversold_units": int(oversold),
        "pushes": pushes,
        "cycles": shop.cycles,
        "sheet_requests_per_cycle_max": shop.max_requests,
        "sheet_requests_at_startup": shop.startup_requests,
        "alerts": len(titles),
        "alert_kinds": dict(kinds),
        "final_stock": stock,
        "by_mall": {
            "rakuten": {
                "orders_placed": len(shop.placed),
                "orders_applied": len({o for m, o in applied_orders if m == "rakuten"}),
                "pushes": pushes,
                "api_calls": len(shop.sim.requests),
            }
        },
    }


def _table(shop: Shop) -> list[str]:
    grid = shop.emu.get_values(shop.sid, "商品マスタ")
    head = grid[0]
    cols = ["商品コード", "商品名", "在庫数", "楽天コード", "状態"]
    idx = [head.index(c) for c in cols]
    lines = ["", "最終在庫 / final stock (商品マスタ)"]
    for row in grid[1:]:
        cells = [str(row[i]) if i < len(row) and row[i] is not None else "" for i in idx]
        live = shop.sim.stock(cells[3]) if cells[3] else None
        lines.append(
            f"  {cells[0]:<8} {cells[2]:>4}  楽天表示 {'' if live is None else live:>3}  {cells[4]}  {cells[1]}"
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
