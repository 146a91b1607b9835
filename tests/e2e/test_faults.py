"""Faults of the outside world: 楽天, Google Sheets and Slack misbehave; the sync goes on."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Literal

import pytest
from slack_sdk import WebClient

from bot.core.domain import AlertKind
from bot.infra.alerts import ConsoleAlerts, SlackAlerts
from bot.infra.alerts.links import SHEET_URL
from bot.sandbox.simulators.rakuten import FailKind
from tests.e2e.conftest import (
    KEY,
    MALL_LOG,
    MASTER,
    NEW_KEY,
    Shop,
    assert_ledger_consistent,
    assert_mall_matches_sheet,
    make_shop,
)
from tests.fake_slack import FakeSlack

# --------------------------------------------------------------------------- 楽天


def test_expired_licence_parks_rakuten_with_one_alert_and_the_sheet_goes_on(shop: Shop) -> None:
    shop.sim.expire_credentials()
    report = shop.cycle()
    assert report.committed
    (auth,) = shop.alerts_of(AlertKind.AUTH_FAILED)
    assert auth.urgent and "楽天" in auth.title
    cursor = shop.state()["cursor:rakuten"]

    # Customers keep ordering on 楽天 and staff keep working in the sheet.
    parked_orders = [shop.order(("tshirt:m", 1)), shop.order(("gift:set", 1))]
    shop.movement("TS-L", 4, "入荷")
    calls = len(shop.sim.requests)
    for _ in range(50):  # 12.5 minutes: past the 10-minute re-check of a parked mall
        assert shop.cycle().committed
    assert len(shop.alerts_of(AlertKind.AUTH_FAILED)) == 1
    assert shop.stock("TS-L") == 12  # the sheet side kept syncing
    assert shop.stock("TS-M") == 10  # 楽天's orders wait for the mall to come back
    assert shop.state()["cursor:rakuten"] == cursor  # and the cursor waits with them
    # Parked means left alone: only the licence check, once per 10 minutes.
    assert [r.family for r in shop.sim.requests[calls:]] == ["license"]

    # The key is renewed in RMS and in the settings; the worker restarts.
    shop.sim.renew_license(NEW_KEY)
    shop.restart(license_key=NEW_KEY)
    shop.run_until_quiet()
    assert shop.stock("TS-M") == 9
    assert (shop.stock("MUG"), shop.stock("SOAP")) == (5, 22)
    applied = {r["注文番号"] for r in shop.sales("販売")}
    assert applied == set(parked_orders)
    assert shop.live("tshirt:l") == 12
    assert_mall_matches_sheet(shop)
    assert_ledger_consistent(shop)
    assert len(shop.alerts_of(AlertKind.AUTH_FAILED)) == 1


def test_a_licence_close_to_expiry_is_announced_once_even_across_a_restart(shop: Shop) -> None:
    shop.sim.renew_license(KEY, expiry=shop.clock.now() + timedelta(days=10))
    (warning,) = shop.worker.check_credentials()
    assert warning.kind is AlertKind.CREDENTIAL_EXPIRING
    assert "2026-12-03、あと10日" in warning.title
    shop.cycle()  # the raised condition is kept in _state
    assert shop.worker.check_credentials() == []
    shop.restart()
    shop.cycle()
    assert shop.worker.check_credentials() == []

    shop.sim.renew_license(KEY)  # renewed for 90 days: the condition clears ...
    assert shop.worker.check_credentials() == []
    shop.cycle()
    assert "expiring:rakuten" not in shop.state()["conditions"]
    shop.sim.renew_license(KEY, expiry=shop.clock.now() + timedelta(days=3))
    assert len(shop.worker.check_credentials()) == 1  # ... and re-arms


@pytest.mark.parametrize("kind", ["409", "429", "503", "500", "timeout"])
@pytest.mark.parametrize("where", ["searchOrder", "getOrder", "bulk-upsert"])
def test_transient_rakuten_errors_are_retried_within_the_cycle(
    shop: Shop, kind: FailKind, where: str
) -> None:
    shop.order(("mug:blue", 2))
    shop.mall_tap.before_next(where, lambda: shop.sim.fail_next(kind, times=2))
    report = shop.cycle()

    assert report.committed and report.pushes == {"rakuten": 2}
    assert shop.stock("MUG") == 4
    assert shop.live("gift:set") == 4
    faults = [r for r in shop.sim.requests if where in r.path and not 200 <= r.status < 300]
    assert len(faults) == 2
    assert shop.alerts_of(AlertKind.MALL_DOWN) == []
    assert_mall_matches_sheet(shop)


@pytest.mark.parametrize("where", ["getOrder", "bulk-upsert"])
def test_a_lost_answer_from_rakuten_is_retried_without_double_effect(
    shop: Shop, where: str
) -> None:
    shop.order(("mug:blue", 1))
    shop.mall_tap.lose_answer(where)
    report = shop.cycle()
    assert report.committed and not report.push_failures
    assert shop.stock("MUG") == 5
    assert len(shop.sales("販売")) == 1
    assert_mall_matches_sheet(shop)


def test_rakuten_down_beyond_the_retries_alerts_once_and_catches_up(shop: Shop) -> None:
    shop.order(("mug:blue", 1))
    shop.sim.fail_next("503", times=5)  # every attempt of the first call fails
    report = shop.cycle()
    assert report.committed  # the sheet side still ran
    assert shop.stock("MUG") == 6
    (down,) = shop.alerts_of(AlertKind.MALL_DOWN)
    assert "楽天" in down.title

    shop.run_until_quiet()
    assert shop.stock("MUG") == 5
    assert len(shop.alerts_of(AlertKind.MALL_DOWN)) == 1
    assert [a.title for a in shop.alerts_of(AlertKind.MALL_RECOVERED)] == [
        "楽天 との接続が回復しました"
    ]
    assert_mall_matches_sheet(shop)


# --------------------------------------------------------------------------- Sheets


@pytest.mark.parametrize("status", [429, 500])
@pytest.mark.parametrize("kind", ["read", "write"])
def test_one_sheets_error_is_retried_and_the_cycle_completes(
    shop: Shop, status: int, kind: Literal["read", "write"]
) -> None:
    shop.order(("mug:blue", 1))
    shop.emu.fail_next(status, kind=kind)
    report = shop.cycle()
    assert report.committed and not report.error
    assert shop.stock("MUG") == 5
    assert len(shop.sales("販売")) == 1
    assert shop.alerts_of(AlertKind.SHEET_ERROR) == []
    assert_mall_matches_sheet(shop)


def test_sheets_down_for_two_cycles_alerts_once_and_never_double_counts(shop: Shop) -> None:
    first = shop.order(("mug:blue", 1))
    shop.emu.fail_next(503, times=10)  # two cycles of five tries each
    for _ in range(2):
        report = shop.cycle()
        assert not report.committed and report.error
        shop.order(("tshirt:m", 1))
    (alert,) = shop.alerts_of(AlertKind.SHEET_ERROR)
    assert "スプレッドシート" in alert.title
    assert shop.stock("MUG") == 6  # nothing was written meanwhile

    shop.run_until_quiet()
    assert shop.stock("MUG") == 5
    assert shop.stock("TS-M") == 8
    assert len(shop.sales("販売")) == 3
    assert first in {r["注文番号"] for r in shop.sales("販売")}
    assert len(shop.alerts_of(AlertKind.SHEET_ERROR)) == 1
    assert shop.alerts_of(AlertKind.MALL_RECOVERED) == []  # the sheet is not a mall
    assert [a.title for a in shop.alerts_of(AlertKind.SHEET_RECOVERED)] == [
        "スプレッドシートの読み書きが回復しました"
    ]
    assert_ledger_consistent(shop)
    assert_mall_matches_sheet(shop)


def test_a_commit_that_keeps_failing_is_planned_again_next_cycle(shop: Shop) -> None:
    shop.order(("gift:set", 1))
    shop.movement("MUG", 3)
    shop.emu.fail_next(500, times=5, kind="write")  # the commit's five tries
    report = shop.cycle()
    assert not report.committed
    assert shop.sales() == []
    shop.run_until_quiet()
    assert (shop.stock("MUG"), shop.stock("SOAP"), shop.stock("GIFT")) == (8, 22, 8)
    assert len(shop.sales("販売")) == 2  # one per component, once
    assert_ledger_consistent(shop)
    assert_mall_matches_sheet(shop)


def test_a_commit_whose_answer_was_lost_is_not_applied_twice(shop: Shop) -> None:
    shop.order(("mug:blue", 2))
    shop.movement("TS-L", 5)
    seen = len(shop.emu.requests)
    shop.emu.timeout_after_apply_next()
    report = shop.cycle()
    assert report.committed
    assert shop.stock("MUG") == 4 and shop.stock("TS-L") == 13
    assert len(shop.sales("販売")) == 1
    commits = [r for r in shop.emu.requests[seen:] if r.op == "spreadsheets.batchUpdate"]
    assert len(commits) == 2  # the lost commit and the record; the commit was not resent
    shop.run_until_quiet()
    assert shop.stock("MUG") == 4 and shop.stock("TS-L") == 13
    assert_ledger_consistent(shop)


def test_a_failed_record_reaches_the_listings_tab_with_the_next_cycle(shop: Shop) -> None:
    shop.order(("mug:blue", 1))
    # The 4th request of the cycle is the record: it fails for good this time.
    shop.emu.before_next(lambda: shop.emu.fail_next(500, times=5, kind="write"), nth=4)
    report = shop.cycle()
    assert report.committed and report.pushes == {"rakuten": 2}
    assert shop.live("mug:blue") == 5
    assert shop.listing("mug:blue")["表示在庫"] == 6  # not recorded yet

    shop.run_until_quiet()
    assert shop.listing("mug:blue")["表示在庫"] == 5
    assert shop.listing("gift:set")["表示在庫"] == 5
    logged = [r["モール商品コード"] for r in shop.rows(MALL_LOG) if r["表示在庫"] == 5]
    assert sorted(logged) == ["gift:set", "mug:blue"]
    assert len(shop.alerts_of(AlertKind.SHEET_ERROR)) == 1
    assert_mall_matches_sheet(shop)


def test_a_stocktake_typed_while_the_cycle_runs_is_not_overwritten(shop: Shop) -> None:
    shop.order(("tshirt:m", 1))
    # Staff type between the snapshot and the commit's re-read.
    shop.emu.before_next(lambda: shop.type("TS-M", "在庫数", 30), nth=2)
    report = shop.cycle()
    assert report.committed
    assert shop.stock("TS-M") == 29  # the typed count, then the order
    assert shop.live("tshirt:m") == 29
    assert [o["種別"] for o in shop.ops()] == ["棚卸"]
    assert_ledger_consistent(shop)


def test_rows_sorted_while_the_cycle_runs_get_their_own_numbers(shop: Shop) -> None:
    shop.order(("tshirt:m", 1), ("soap:single", 2))
    shop.emu.before_next(lambda: shop.emu.sort_rows(shop.sid, MASTER, 0, descending=True), nth=2)
    report = shop.cycle()
    assert report.committed
    assert shop.stocks() == {
        "TS-M": 9,
        "TS-L": 8,
        "SOAP": 22,
        "SCARF": 5,
        "MUG": 6,
        "GIFT": 6,
    }
    assert [r["商品コード"] for r in shop.rows(MASTER)][:2] == ["TS-M", "TS-L"]
    assert_ledger_consistent(shop)


# --------------------------------------------------------------------------- shutdown


@pytest.mark.parametrize("where", ["searchOrder", "bulk-get", "bulk-upsert"])
def test_shutdown_during_a_rakuten_retry_is_not_a_mall_failure(shop: Shop, where: str) -> None:
    """SIGTERM cuts 楽天's retry wait short: no 'cannot connect' alert, no error row."""
    shop.order(("mug:blue", 1))
    shop.wait(600)  # include the read-back (bulk-get)

    def sigterm() -> None:
        shop.worker.stop.set()
        shop.sim.fail_next("503")

    shop.mall_tap.before_next(where, sigterm)
    shop.worker.cycle()
    assert shop.alerts_of(AlertKind.MALL_DOWN) == []
    assert shop.errors() == []

    # The next process catches up as usual.
    shop.restart()
    shop.run_until_quiet()
    assert shop.stock("MUG") == 5
    assert shop.alerts_of(AlertKind.MALL_DOWN) == []
    assert_mall_matches_sheet(shop)


# --------------------------------------------------------------------------- Slack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token="xoxb-e2e-token") as fake:
        yield fake


def slack_shop(slack: FakeSlack) -> tuple[Shop, SlackAlerts, io.StringIO]:
    console = io.StringIO()
    client = WebClient(token=slack.token, base_url=slack.base_url, timeout=2, retry_handlers=[])
    sink = SlackAlerts(
        client,
        "#zaiko",
        fallback=ConsoleAlerts(console),
        min_interval=0.0,
        backoff_base=0.01,
        backoff_max=0.05,
    )
    shop = make_shop(alerts=sink)
    shop.cycle()
    return shop, sink, console


@pytest.mark.parametrize("mode", ["refuse", "503"])
def test_slack_down_never_delays_the_cycle_and_alerts_arrive_later(
    slack: FakeSlack, mode: Literal["refuse", "503"]
) -> None:
    shop, sink, console = slack_shop(slack)
    try:
        slack.go_down(mode)
        shop.order(("scarf:wool", 1))  # an unassigned code: one alert
        shop.type("TS-L", "在庫数", "abc")  # a bad cell: another
        started = time.perf_counter()
        report = shop.cycle()
        elapsed = time.perf_counter() - started
        assert report.committed and len(report.alerts) == 2
        # A cycle waiting on Slack would not finish while it is down; generous bound.
        assert elapsed < 10.0
        shop.order(("tshirt:m", 1))
        assert shop.cycle().committed  # the next cycle runs while Slack is still down
        assert shop.stock("TS-M") == 9
        assert sink.pending == 1 and slack.messages == []

        slack.come_up()
        assert sink.flush(2.0)
    finally:
        sink.close()
    assert len(slack.messages) == 1
    text = slack.messages[0]["text"]
    assert "scarf:wool" in text and "C3" in text
    assert console.getvalue() == ""


def test_slack_rate_limit_delays_only_the_message(slack: FakeSlack) -> None:
    shop, sink, _console = slack_shop(slack)
    try:
        slack.fail_next(status=429, retry_after=0, times=2)
        shop.order(("scarf:wool", 1))
        started = time.perf_counter()
        assert shop.cycle().committed
        assert time.perf_counter() - started < 1.0
        assert sink.flush(2.0)
    finally:
        sink.close()
    assert slack.attempts == 3
    assert ["scarf:wool" in m["text"] for m in slack.messages] == [True]


def test_connection_incidents_reach_the_error_log_once(shop: Shop) -> None:
    shop.cycle()
    shop.sim.expire_credentials()
    for _ in range(4):
        shop.cycle()
    incidents = [e for e in shop.errors() if e["発生箇所"] == "楽天"]
    assert len(incidents) == 1
    assert "認証" in str(incidents[0]["内容"])
    # The licence key never reaches the sheet, in the clear or inside the ESA header.
    sheet_text = repr(shop.grid("エラーログ"))
    assert KEY not in sheet_text and "ESA " not in sheet_text


def _blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def _row_url(shop: Shop, sku: str) -> str:
    gid = shop.emu.sheet_properties(shop.sid, MASTER)["sheetId"]
    row = shop._product_row(sku)
    return f"{SHEET_URL.format(sheet_id=shop.sid)}#gid={gid}&range=A{row}"


def test_slack_names_the_product_links_its_row_and_says_what_to_do(slack: FakeSlack) -> None:
    """Through bootstrap.build: the sink learns the sheet id, the tab ids and the products."""
    shop, sink, _console = slack_shop(slack)
    try:
        shop.type("TS-L", "在庫数", "abc")  # a row problem: the title names the cell only
        shop.cycle()
        assert sink.flush(2.0)
    finally:
        sink.close()
    (message,) = slack.messages
    header = message["blocks"][0]["text"]["text"]
    body = _blocks_text({"blocks": message["blocks"][1:]})
    assert "C3" in header
    assert "C3" not in body  # the body does not repeat the header
    assert "商品: TS-L（Tシャツ L）" in body
    assert _row_url(shop, "TS-L") in body
    assert SHEET_URL.format(sheet_id=shop.sid) in body  # links in the text, never fetched
    assert "対応: " in body and "直してください" in body
    assert "TS-L" in message["text"] or "C3" in message["text"]  # the fallback stays


def test_slack_names_the_product_of_a_mall_code(slack: FakeSlack) -> None:
    """A drift alert knows only the mall code: the sheet as last read names the product."""
    shop, sink, _console = slack_shop(slack)
    try:
        shop.sim.set_stock("mug:blue", 50)
        shop.wait(600)
        shop.cycle()
        assert sink.flush(2.0)
    finally:
        sink.close()
    body = "".join(_blocks_text(m) for m in slack.messages)
    assert "mug:blue" in body and "MUG（マグカップ）" in body
    assert _row_url(shop, "MUG") in body


def test_an_oversell_from_a_shop_floor_sale_says_so(slack: FakeSlack) -> None:
    shop, sink, _console = slack_shop(slack)
    try:
        shop.movement("MUG", -8, "店頭販売")
        shop.cycle()
        assert sink.flush(2.0)
    finally:
        sink.close()
    (message,) = [m for m in slack.messages if "売り越し" in m["text"] or "マイナス" in m["text"]]
    body = _blocks_text(message)
    assert "入出庫の店頭販売" in body
    assert "お客様への連絡は不要" in body
    assert "お客様への連絡と" not in body
    assert _row_url(shop, "MUG") in body
