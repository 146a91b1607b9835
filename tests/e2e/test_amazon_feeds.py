"""An Amazon shop whose pushes go as feeds: sent at once, their outcome learnt later.

60 listings: more than Amazon takes one PATCH at a time, so every cold push is a
JSON_LISTINGS_FEED (adapters/amazon/feeds.py). The cycle never waits for Amazon to
process it; a listing Amazon refuses in the feed's processing report reaches the sheet
and Slack as a refusal at push time would: a モール更新ログ row, 出品状況 結果, one
alert, and the number is not sent again until it changes. A worker killed while a feed
is in flight pushes the listings again at start-up: it never takes them as landed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from bot.bootstrap import App, World, build
from bot.core.domain import AlertKind
from bot.infra.clock import JST
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.simulators.amazon import AmazonSimulator
from bot.sandbox.wiring import sandbox_settings
from tests.adapters.test_amazon_simulator import feed_errors, processing_report_errors

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
INTERVAL = 15.0
LISTINGS = 60
REFUSED = "SKU-07"
"""Its 在庫数 is above what Amazon takes for the product type (the simulator's 50)."""


def _sku(n: int) -> str:
    return f"SKU-{n:02d}"


def _code(n: int) -> str:
    return f"AMZ-{n:02d}"


class AmazonShop:
    """One sheet, one Amazon seller account, and the worker process (restartable)."""

    def __init__(self) -> None:
        self.clock = VirtualClock(START)
        self.emu = SheetsEmulator()
        self.sid = self.emu.create_spreadsheet("amazon shop", sheets=("Sheet1",))
        self.sim = AmazonSimulator(clock=self.clock, max_quantity=50)
        for n in range(LISTINGS):
            self.sim.add_listing(_code(n), 1)
        self.alerts = MemoryAlerts()
        self.app = self.build()
        self.app.init_sheet()
        header = self.emu.get_values(self.sid, "商品マスタ")[0]
        rows = []
        for n in range(LISTINGS):
            row: list[Any] = [""] * len(header)
            stock = 60 if _sku(n) == REFUSED else 10 + n % 5
            values = {"商品コード": _sku(n), "商品名": f"商品 {n}", "在庫数": stock}
            for key, value in {**values, "連動停止": False, "Amazonコード": _code(n)}.items():
                row[header.index(key)] = value
            rows.append(row)
        self.emu.set_values(self.sid, "商品マスタ", "A2", rows)
        self.app.worker.start()

    def build(self) -> App:
        """A new worker process on the same sheet and Amazon account."""
        settings = sandbox_settings(sheet_id=self.sid, malls={"amazon": self.sim.config()})
        world = World(
            transports={"amazon": self.sim.transport},
            sheets_session=self.emu.session(),
            clock=self.clock,
            alerts=self.alerts,
            parallel=False,
        )
        return build(settings, world)

    def cycle(self) -> None:
        self.clock.advance(INTERVAL)
        self.app.worker.cycle()

    def rows(self, tab: str) -> list[dict[str, Any]]:
        grid = self.emu.get_values(self.sid, tab)
        return [dict(zip(grid[0], row, strict=False)) for row in grid[1:] if row]

    def result(self, code: str) -> str:
        """出品状況 結果 of one Amazon listing."""
        [row] = [r for r in self.rows("出品状況") if r.get("モール商品コード") == code]
        return str(row["結果"])

    def sent(self, code: str) -> int:
        """Feed messages and PATCHes Amazon received for ``code``."""
        count = 0
        for r in self.sim.requests:
            if r.op == "patchListingsItem" and r.path.endswith(f"/{code}"):
                count += 1
            elif r.op == "s3Put":
                count += sum(m["sku"] == code for m in json.loads(r.body)["messages"])
        return count

    def ops(self, op: str) -> int:
        return sum(1 for r in self.sim.requests if r.op == op)

    def refusals(self) -> list[Any]:
        return [a for a in self.alerts.alerts if a.kind is AlertKind.PUSH_REJECTED]


@pytest.fixture
def shop() -> AmazonShop:
    return AmazonShop()


def _until_settled(shop: AmazonShop, cycles: int = 12) -> None:
    adapter: Any = shop.app.worker.adapters["amazon"]
    for _ in range(cycles):
        shop.cycle()
        if not adapter.pending_pushes():
            return
    raise AssertionError("the feed's outcome never came")


def test_a_feed_is_sent_without_waiting_and_a_late_refusal_reaches_log_sheet_and_slack_once(
    shop: AmazonShop,
) -> None:
    shop.app.worker.cycle()  # the cold push: one feed, not waited for
    assert shop.ops("createFeed") == 1
    assert shop.ops("getFeed") == 0
    assert shop.result(_code(7)).startswith("送信済（結果待ち）: Amazon がフィードを処理中です")
    assert shop.refusals() == []

    _until_settled(shop)
    log = [r for r in shop.rows("モール更新ログ") if r.get("モール商品コード") == _code(7)]
    assert [r["結果"] for r in log] == ["送信済（結果待ち）", "エラー"]
    assert "Amazon が更新を拒否しました" in log[-1]["詳細"]
    assert shop.result(_code(7)).startswith("エラー: Amazon が更新を拒否しました")
    assert shop.result(_code(3)).startswith("受付済（反映待ち）: Amazon がフィードで受け付けました")
    [alert] = shop.refusals()
    assert alert.code == _code(7) and alert.key == f"push:amazon:{_code(7)}"
    assert shop.sim.stock(_code(3)) == 13 and shop.sim.stock(_code(7)) == 1

    uploads = [json.loads(r.body) for r in shop.sim.requests if r.op == "s3Put"]
    assert uploads and all(feed_errors(document) == [] for document in uploads)
    reports = [
        r.response for r in shop.sim.requests if r.op == "s3Get" and isinstance(r.response, dict)
    ]
    assert reports and all(processing_report_errors(report) == [] for report in reports)

    sent = shop.sent(_code(7))
    for _ in range(4):  # held like a refusal at push time: not sent again, said once
        shop.cycle()
    assert shop.sent(_code(7)) == sent
    assert len(shop.refusals()) == 1


def test_a_listing_changed_while_its_feed_is_in_flight_gets_the_newest_number_once(
    shop: AmazonShop,
) -> None:
    shop.app.worker.cycle()
    header = shop.emu.get_values(shop.sid, "商品マスタ")[0]
    column = chr(ord("A") + header.index("在庫数"))
    shop.emu.set_values(shop.sid, "商品マスタ", f"{column}3", [[4]])  # SKU-01, 11 → 4
    shop.cycle()
    assert shop.sent(_code(1)) == 1  # queued behind the feed, not sent beside it
    _until_settled(shop)
    assert shop.sim.stock(_code(1)) == 4
    assert shop.sent(_code(1)) == 2
    assert shop.result(_code(1)).startswith("受付済（反映待ち）")


def test_a_worker_killed_while_its_feed_is_in_flight_pushes_again_at_start(
    shop: AmazonShop,
) -> None:
    shop.app.worker.cycle()
    assert shop.result(_code(3)).startswith("送信済（結果待ち）")
    before = shop.sent(_code(3))
    shop.app = shop.build()  # killed: the feed book was only in memory
    shop.cycle()
    assert shop.sent(_code(3)) == before + 1  # sent again, not taken as landed
    _until_settled(shop)
    assert shop.result(_code(3)).startswith("受付済（反映待ち）")
    assert shop.sim.stock(_code(3)) == 13
    assert len(shop.refusals()) == 1  # the refused listing, learnt from the new feed
