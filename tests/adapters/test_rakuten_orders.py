"""楽天 orders that change after they were first read, and the documented wire edges.

Issue 7 A.1 and A.3: a line reduced or removed on an unshipped order (with or without
orderProgress 400), cancels that pass 800 before 900, a 200 that carries an ERROR,
credential refusals answered as 400, the 15,000-hit cap, the Content-Type, the case of
variantId, and orders from before the SKU migration.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.base import AuthError, TransientError
from adapters.rakuten import RakutenAdapter
from adapters.rakuten.codes import code_problem
from adapters.rakuten.orders import line_code
from bot.core.domain import OrderLine, PushStatus, StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.rakuten import RakutenSimulator

SECRET = "SP123456_sim"
KEY = "SL123456_sim"
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
CYCLE = 15.0


class Shop:
    """A simulator, the adapter on it, and the worker's calling pattern (15 s cycles)."""

    def __init__(self, **sim_options: object) -> None:
        self.clock = VirtualClock(START)
        self.sim = RakutenSimulator(clock=self.clock, **sim_options)  # type: ignore[arg-type]
        self.client = httpx.Client(transport=self.sim.transport, base_url=RakutenAdapter.BASE_URL)
        self.adapter = self.new_adapter()
        self.cursor = self.clock.now()

    def new_adapter(self) -> RakutenAdapter:
        return RakutenAdapter(
            self.client,
            service_secret=SECRET,
            license_key=KEY,
            clock=self.clock,
            rng=random.Random(0),
        )

    def cycle(self) -> list[OrderLine]:
        """One fetch over [cursor − 2 min, now], then the gap to the next cycle."""
        now = self.clock.now()
        lines = self.adapter.fetch_order_lines(self.cursor - timedelta(minutes=2), now)
        self.cursor = now
        self.clock.advance(CYCLE)
        return lines

    def until(self, test: Callable[[list[OrderLine]], bool], minutes: float = 6) -> list[OrderLine]:
        """Cycle until ``test`` holds for one cycle's lines; fail after ``minutes``."""
        for _ in range(int(minutes * 60 / CYCLE)):
            lines = self.cycle()
            if test(lines):
                return lines
        raise AssertionError(f"not seen within {minutes} minutes")

    def order(self, *lines: tuple[str, int], packages: list[int] | None = None) -> str:
        number = self.sim.place_order(list(lines), packages=packages)
        assert number is not None
        return number

    def get_order_batches(self) -> list[int]:
        return [
            len(r.json["orderNumberList"])
            for r in self.sim.requests
            if r.path.rstrip("/").endswith("getOrder")
        ]


def units(lines: list[OrderLine], number: str) -> dict[str, int]:
    return {ln.code: ln.units for ln in lines if ln.order_id == number}


def status(lines: list[OrderLine], number: str) -> set[str]:
    return {ln.status for ln in lines if ln.order_id == number}


@pytest.fixture
def shop() -> Shop:
    s = Shop()
    s.sim.add_item("tshirt", "M", 50)
    s.sim.add_item("mug", "blue", 50)
    return s


def _older_order(shop: Shop, *lines: tuple[str, int], packages: list[int] | None = None) -> str:
    """An order placed while the bot runs, read once, then an hour of quiet cycles."""
    shop.cycle()
    number = shop.order(*lines, packages=packages)
    shop.sim.orders[number].progress = 300  # 発送待ち
    assert units(shop.cycle(), number)
    shop.clock.advance(3600)
    shop.until(lambda lines: not lines, minutes=1)
    return number


# --------------------------------------------------------------------------- A.1


def test_a_line_reduced_in_place_reaches_the_adapter_within_minutes(shop: Shop) -> None:
    shop.sim.change_via_400 = False
    number = _older_order(shop, ("tshirt:M", 3), ("mug:blue", 1))
    shop.sim.change_line_units(number, 0, 1)
    assert shop.sim.orders[number].progress == 300  # never 400: only a re-read sees it
    changed_at = shop.clock.now()
    lines = shop.until(lambda lines: units(lines, number).get("tshirt:M") == 1)
    assert units(lines, number) == {"tshirt:M": 1, "mug:blue": 1}
    assert shop.clock.now() - changed_at <= timedelta(minutes=5, seconds=30)
    assert max(shop.get_order_batches()) <= 100
    assert not [ln for ln in shop.cycle() if ln.order_id == number]  # reported once


def test_a_change_pending_in_400_is_seen_at_once_and_after_it_is_confirmed(shop: Shop) -> None:
    number = _older_order(shop, ("tshirt:M", 3))
    shop.sim.change_line_units(number, 0, 2, via_400=True)
    lines = shop.cycle()
    assert units(lines, number) == {"tshirt:M": 2}
    assert status(lines, number) == {"変更確定待ち"}
    shop.sim.confirm_change(number)
    lines = shop.until(lambda lines: bool(units(lines, number)), minutes=1)
    assert units(lines, number) == {"tshirt:M": 2}
    assert status(lines, number) == {"発送待ち"}


def test_a_change_that_passes_through_400_between_two_polls_is_still_seen(shop: Shop) -> None:
    number = _older_order(shop, ("tshirt:M", 3))
    shop.sim.change_line_units(number, 0, 1, via_400=True)
    shop.sim.confirm_change(number)  # 300 → 400 → 300 before the next poll
    lines = shop.until(lambda lines: bool(units(lines, number)))
    assert units(lines, number) == {"tshirt:M": 1}


@pytest.mark.parametrize("via_400", [True, False])
def test_a_removed_line_is_zero_units(shop: Shop, via_400: bool) -> None:
    number = _older_order(shop, ("tshirt:M", 3), ("mug:blue", 2))
    shop.sim.remove_line(number, 1, via_400=via_400)
    lines = shop.until(lambda lines: units(lines, number).get("mug:blue") == 0)
    assert units(lines, number) == {"tshirt:M": 3, "mug:blue": 0}
    removed = next(ln for ln in lines if ln.code == "mug:blue")
    assert removed.status.endswith("（明細削除）")


def test_a_removed_package_takes_its_lines_to_zero(shop: Shop) -> None:
    number = _older_order(shop, ("tshirt:M", 1), ("mug:blue", 2), packages=[0, 1])
    shop.sim.remove_package(number, 1, via_400=False)
    lines = shop.until(lambda lines: units(lines, number).get("mug:blue") == 0)
    assert units(lines, number) == {"tshirt:M": 1, "mug:blue": 0}


def test_a_cancel_passing_800_gives_units_back_only_at_900(shop: Shop) -> None:
    number = _older_order(shop, ("tshirt:M", 2))
    shop.sim.request_cancel(number)  # RMS's cancelOrder applies first: 800
    lines = shop.cycle()
    assert units(lines, number) == {"tshirt:M": 2}  # may still be withdrawn
    assert status(lines, number) == {"キャンセル確定待ち"}
    shop.sim.confirm_cancel(number)
    lines = shop.cycle()
    assert units(lines, number) == {"tshirt:M": 0}
    assert status(lines, number) == {"キャンセル確定"}
    assert all(ln.mall_restocks for ln in lines if ln.order_id == number)
    reads = len(shop.get_order_batches())
    for _ in range(3):
        assert units(shop.cycle(), number) == {"tshirt:M": 0}  # from memory
    assert len(shop.get_order_batches()) == reads


def test_orders_from_before_the_bot_started_are_not_reported_unless_changed_since(
    shop: Shop,
) -> None:
    before = shop.order(("tshirt:M", 2))
    changed = shop.order(("mug:blue", 3))
    shop.clock.advance(600)
    shop.sim.change_via_400 = False
    # The bot starts now: a change made after its start (e.g. while it was down) counts.
    shop.cursor = shop.clock.now()
    shop.clock.advance(60)
    shop.sim.change_line_units(changed, 0, 1)
    seen: list[OrderLine] = []
    for _ in range(4):
        seen += shop.cycle()
    assert {ln.order_id for ln in seen} == {changed}
    assert units(seen, changed) == {"mug:blue": 1}
    assert before not in {ln.order_id for ln in seen}


def test_rereads_stay_within_their_budget_per_cycle() -> None:
    shop = Shop(enforce_rate_limits=False)
    code = shop.sim.add_item("bulk", "one", 99999)
    shop.cycle()
    for n in range(700):
        shop.order((code, 1))
        if n % 100 == 99:
            shop.cycle()
    for _ in range(12):  # past the fetch overlap: only the watch and the re-read remain
        shop.cycle()
    reread: list[str] = []
    for _ in range(int(6 * 60 / CYCLE)):
        before = len(shop.sim.requests)
        shop.cycle()
        calls = [r for r in shop.sim.requests[before:] if r.path.endswith("getOrder/")]
        assert len(calls) <= RakutenAdapter.REREAD_BATCHES
        assert all(len(r.json["orderNumberList"]) <= 100 for r in calls)
        reread += [n for r in calls for n in r.json["orderNumberList"]]
    assert set(reread) == set(shop.sim.orders)  # every unshipped order read again


# --------------------------------------------------------------------------- A.3


def test_a_search_answering_200_with_an_error_is_a_failure_not_no_orders(shop: Shop) -> None:
    shop.cycle()
    number = shop.order(("tshirt:M", 1))
    shop.sim.fail_next_search()
    with pytest.raises(TransientError, match="注文検索"):
        shop.adapter.fetch_order_lines(shop.cursor, shop.clock.now())
    assert units(shop.cycle(), number) == {"tshirt:M": 1}


def test_an_order_getorder_cannot_read_fails_the_fetch_until_it_can(shop: Shop) -> None:
    shop.cycle()
    number = shop.order(("tshirt:M", 1))
    shop.sim.unreadable_orders[number] = "ORDER_EXT_API_GET_ORDER_ERROR_SIM"
    with pytest.raises(TransientError, match=number):
        shop.adapter.fetch_order_lines(shop.cursor, shop.clock.now())
    del shop.sim.unreadable_orders[number]
    assert units(shop.cycle(), number) == {"tshirt:M": 1}


def _answering(status: int, body: dict[str, object]) -> tuple[RakutenAdapter, list[str]]:
    clock = VirtualClock(START)
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path.endswith("bulk-get"):
            sent = json.loads(request.content)["inventories"]
            return httpx.Response(200, json={"inventories": [e | {"quantity": 1} for e in sent]})
        return httpx.Response(status, json=body)

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url=RakutenAdapter.BASE_URL)
    adapter = RakutenAdapter(
        client, service_secret=SECRET, license_key=KEY, clock=clock, rng=random.Random(0)
    )
    return adapter, paths


@pytest.mark.parametrize(
    "body",
    [
        {"errors": [{"code": "GK0001", "message": "Invalid credentials"}]},
        {"errors": [{"code": "GK0005", "message": "Expired"}]},
        {"Results": {"errorCode": "GK0006", "message": "Forbidden"}},
        {"Results": {"errorCode": "ES04-01", "message": "Bad Request"}},
    ],
)
def test_credential_codes_in_a_400_park_the_channel_without_bisecting(
    body: dict[str, object],
) -> None:
    adapter, paths = _answering(400, body)
    pushes = [StockPush(mall="rakuten", code=f"item:v{n}", quantity=1) for n in range(8)]
    with pytest.raises(AuthError, match="認証エラー"):
        adapter.push_stock(pushes)
    assert sum(p.endswith("bulk-upsert") for p in paths) == 1


def test_every_json_body_is_sent_with_its_charset() -> None:
    shop = Shop(order_content_type="no-space")
    code = shop.sim.add_item("item", "a", 5)
    shop.adapter.push_stock([StockPush(mall="rakuten", code=code, quantity=3)])
    shop.order((code, 1))
    shop.cycle()
    assert all(r.status in (200, 204) for r in shop.sim.requests)
    assert {r.family for r in shop.sim.requests} >= {"inventory-read", "inventory-write", "order"}


def test_an_upper_case_variant_id_lands_on_its_own_sku() -> None:
    """The adapter writes through bulk-upsert, whose page keeps variantId's case [S5]."""
    shop = Shop(fold_variant_id={"variant"})
    shop.sim.add_item("item", "Red", 1)
    shop.sim.add_item("item", "red", 1)
    [result] = shop.adapter.push_stock([StockPush(mall="rakuten", code="ITEM:Red", quantity=7)])
    assert result.status is PushStatus.APPLIED
    assert (shop.sim.stock("item:Red"), shop.sim.stock("item:red")) == (7, 1)
    assert not any("/variants/" in r.path for r in shop.sim.requests)


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"manageNumber": "Shirt", "SkuModelList": [{"variantId": "Red"}]}, "shirt:Red"),
        ({"manageNumber": "Soap", "inventoryType": 1}, "soap:normal-inventory"),
        ({"manageNumber": "Soap", "SkuModelList": []}, "soap:normal-inventory"),
        ({"manageNumber": "Soap", "SkuModelList": [{"variantId": None}]}, "soap:normal-inventory"),
        ({"manageNumber": "Cap", "inventoryType": 2}, "cap"),
    ],
)
def test_orders_from_before_the_sku_migration_map_to_the_single_sku(
    item: dict[str, object], code: str
) -> None:
    assert line_code(item) == code


# --------------------------------------------------------------------------- A.4


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("tshirt", "SKU管理番号 を書いて"),
        ("tshirt:red:m", "「:」が 2 個"),
        ("a:b;c:d", "「;」"),
        ("a:b/c:d", "スラッシュ"),
        ("a:b c:d", "スペース"),
        ("tshirt:", "SKU管理番号が空"),
        (":red", "商品管理番号が空"),
        ("品番:red", "使えない文字「品番」"),
        ("a:" + "x" * 33, "32 文字以内"),
    ],
)
def test_malformed_codes_have_a_reason_staff_can_act_on(code: str, words: str) -> None:
    reason = code_problem(code)
    assert reason is not None and words in reason


@pytest.mark.parametrize("code", ["tshirt-01:red-m", "Item_1:SKU-X", "soap:normal-inventory"])
def test_well_formed_codes_have_no_problem(code: str) -> None:
    assert code_problem(code) is None


@pytest.mark.parametrize("via_400", [True, False])
def test_a_reduced_line_says_the_mall_restocked_what_it_gave_back(
    shop: Shop, via_400: bool
) -> None:
    """楽天 returns the difference to the listing (restoreInventoryFlag), like a cancel: the
    line says so, so the worker's read-back does not take the rise for a hand edit."""
    number = _older_order(shop, ("tshirt:M", 3))
    shop.sim.change_line_units(number, 0, 1, via_400=via_400)
    lines = shop.until(lambda lines: units(lines, number) == {"tshirt:M": 1})
    [line] = [ln for ln in lines if ln.order_id == number]
    assert line.mall_restocks
