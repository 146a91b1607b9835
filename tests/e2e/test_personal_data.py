"""No buyer's personal data leaves an adapter (issue 7 item 16).

Every simulated order carries a buyer — name, address, e-mail, phone — made of
sentinels (:mod:`bot.sandbox.simulators.buyer`), served where the real API serves it:
楽天 always (OrdererModel, SenderModel), Yahoo and Amazon when the request asks for
those fields. After a shop day none of it may be in any cell of any tab (the sheet is
shared with every staff member), in a Slack payload, or in the log output.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from adapters.amazon.orders import OrderBook
from adapters.yahoo.adapter import YahooAdapter
from bot.core.domain import Alert
from bot.infra.alerts import ConsoleAlerts, SheetLinks, SlackAlerts, build_blocks
from bot.sandbox import demo
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.simulators.amazon.orders import order_json
from bot.sandbox.simulators.buyer import BUYER_MARKERS, sentinel_buyer
from bot.sandbox.simulators.yahoo import BUYER_FIELDS
from tests.e2e.conftest import make_shop
from tests.fake_slack import FakeSlack


def leaks(text: str) -> list[str]:
    return [marker for marker in BUYER_MARKERS if marker in text]


def every_cell(emu: SheetsEmulator, sid: str) -> str:
    """All tabs, hidden _state included, as stored (formulas as typed)."""
    grids = {t: emu.get_values(sid, t, "FORMULA") for t in emu.sheet_titles(sid)}
    return json.dumps(grids, ensure_ascii=False)


def slack_payloads(batches: list[list[Alert]], sheet_id: str) -> str:
    """What the Slack sink would post for each batch (text and blocks), and the console."""
    out = []
    for batch in batches:
        text, blocks = build_blocks(batch, SheetLinks(sheet_id))
        out.append(json.dumps({"text": text, "blocks": blocks}, ensure_ascii=False))
        out.append(json.dumps([a.model_dump() for a in batch], ensure_ascii=False))
    return "\n".join(out)


def test_the_sentinels_are_really_served() -> None:
    """The test below proves something only if the buyer data is on the wire."""
    shop = demo.setup(quiet=True)
    rakuten = shop.sims["rakuten"]
    number = shop.order([("towel:std", 1)])
    assert number is not None
    model = json.dumps(rakuten._order_model(rakuten.orders[number], 7), ensure_ascii=False)
    buyer = sentinel_buyer(number)
    assert buyer.email in model and buyer.family_name in model and buyer.street in model
    assert len(leaks(model)) >= 3  # 楽天 splits the phone number, so not its marker
    amazon = shop.sims["amazon"]
    placed = shop.order([("AMZ-TOWEL", 1)], mall="amazon")
    assert placed is not None
    asked = json.dumps(order_json(amazon.orders[placed], {"BUYER", "RECIPIENT"}))
    assert leaks(json.loads(json.dumps(asked)))


def test_the_demo_day_keeps_buyers_out_of_the_sheet_slack_and_logs(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    shop = demo.setup(quiet=False)
    demo.script(shop)
    printed = capsys.readouterr()

    assert shop.alert_log, "the day should have produced alerts to check"
    batches = [[alert] for alert in shop.alert_log] + [shop.alert_log]
    assert leaks(every_cell(shop.emu, shop.sid)) == []
    assert leaks(slack_payloads(batches, shop.sid)) == []
    assert leaks(caplog.text) == []
    assert leaks(printed.out + printed.err) == []


# --------------------------------------------------------------------------- e2e suite


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token="xoxb-pii-token") as fake:
        yield fake


def test_orders_cancels_and_problems_keep_buyers_out_everywhere(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the production wiring, with Slack as the sink: a day of orders on 楽天."""
    caplog.set_level(logging.DEBUG)
    console_lines: list[str] = []
    client = WebClient(token=slack.token, base_url=slack.base_url, timeout=2, retry_handlers=[])
    sink = SlackAlerts(client, "#zaiko", min_interval=0.0, fallback=ConsoleAlerts())
    shop = make_shop(alerts=sink)
    try:
        shop.cycle()
        first = shop.order(("tshirt:m", 2))
        shop.movement("MUG", -8, "店頭販売")  # an oversell alert
        shop.order(("scarf:wool", 1))  # a code no product has: 未割当
        shop.cycle()
        shop.cancel(first)
        shop.type("TS-L", "在庫数", "abc")  # a row problem
        shop.cycle()
        shop.sim.set_stock("soap:single", 99)  # a hand edit: drift
        shop.wait(600)
        shop.cycle()
        shop.run_until_quiet()
        assert sink.flush(3.0)
    finally:
        sink.close()
    console_lines.append(caplog.text)

    assert slack.messages, "the day should have produced Slack messages to check"
    assert leaks(every_cell(shop.emu, shop.sid)) == []
    assert leaks(json.dumps(slack.messages, ensure_ascii=False)) == []
    assert leaks("\n".join(console_lines)) == []
    # What the adapter fetched did carry the buyer: the check above is not vacuous.
    model = shop.sim._order_model(shop.sim.orders[first], 7)
    assert leaks(json.dumps(model, ensure_ascii=False))


def test_no_adapter_asks_for_buyer_fields() -> None:
    """Yahoo and Amazon send buyer data only when asked: the adapters never ask."""
    assert not set(OrderBook.INCLUDED_DATA.split(",")) & {"BUYER", "RECIPIENT"}
    asked = {*YahooAdapter.ORDER_LIST_FIELDS, *YahooAdapter.ORDER_INFO_FIELDS}
    assert not asked & BUYER_FIELDS
