"""楽天 specifics of RakutenAdapter, against RakutenSimulator (and a few wire doubles)."""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.base import AuthError, MallError, Stopped, TransientError
from adapters.rakuten import RakutenAdapter
from adapters.rakuten.adapter import RakutenConfig
from bot.core.domain import PushStatus, StockPush
from bot.infra.clock import JST, RealClock
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.rakuten import RakutenSimulator, SimRequest
from tests.adapters.harness import Harness

SECRET = "SP123456_sim"
KEY = "SL123456_sim"
ESA_TOKEN = base64.b64encode(f"{SECRET}:{KEY}".encode()).decode()
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 09:00 JST


def _push(code: str, qty: int) -> StockPush:
    return StockPush(mall="rakuten", code=code, quantity=qty)


def _adapter(client: httpx.Client, clock: VirtualClock | RealClock, **kw: object) -> RakutenAdapter:
    return RakutenAdapter(
        client,
        service_secret=SECRET,
        license_key=KEY,
        clock=clock,
        rng=random.Random(0),
        **kw,  # type: ignore[arg-type]
    )


def _order(sim: RakutenSimulator, code: str, units: int, at: datetime | None = None) -> str:
    number = sim.place_order([(code, units)], at=at)
    assert number is not None, "the simulated shop refused the order"
    return number


def _requests(sim: RakutenSimulator, suffix: str) -> list[SimRequest]:
    return [r for r in sim.requests if r.path.rstrip("/").endswith(suffix)]


@pytest.fixture
def h() -> Harness:
    return Harness("rakuten", VirtualClock(START))


# --------------------------------------------------------------------------- codes


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Item-A:Red", "item-a:Red"),
        ("  ITEM_1:SKU-x ", "item_1:SKU-x"),
        ("item:normal-inventory", "item:normal-inventory"),
        ("no-colon", "no-colon"),
    ],
)
def test_canonical_code_folds_manage_number_only(raw: str, canonical: str) -> None:
    assert RakutenAdapter.canonical_code(raw) == canonical


def test_codes_differing_only_in_manage_number_case_are_one_listing(h: Harness) -> None:
    code = h.add_listing("Shirt:Blue", 2)
    assert code == "shirt:Blue"
    assert h.adapter.read_stock(["SHIRT:Blue"]) == {"SHIRT:Blue": 2}
    assert h.adapter.read_stock(["shirt:blue"]) == {}  # variantId is case-sensitive


@pytest.mark.parametrize("bad", ["nocolon", "item:", ":sku", "品番:sku", "a b:c", "x" * 33 + ":v"])
def test_malformed_codes_are_rejected_in_japanese_and_never_sent(h: Harness, bad: str) -> None:
    good = h.add_listing(h.code(1), 0)
    results = h.adapter.push_stock([_push(bad, 1), _push(good, 3)])
    assert results[0].status is PushStatus.REJECTED
    assert "商品管理番号:SKU管理番号" in results[0].message
    assert results[1].status is PushStatus.APPLIED
    sent = [e for r in _requests(h.sim, "bulk-upsert") for e in r.json["inventories"]]
    assert len(sent) == 1


def test_quantity_over_99999_is_rejected_not_clamped(h: Harness) -> None:
    code = h.add_listing(h.code(1), 5)
    [result] = h.adapter.push_stock([_push(code, 100_000)])
    assert result.status is PushStatus.REJECTED
    assert "99999" in result.message
    assert h.sim.stock(code) == 5
    assert _requests(h.sim, "bulk-upsert") == []


def test_duplicate_codes_in_one_push_send_the_last_value(h: Harness) -> None:
    code = h.add_listing(h.code(1), 5)
    results = h.adapter.push_stock(
        [_push(code, 1), _push(code.upper().split(":")[0] + ":Var-1", 2)]
    )
    assert [r.status for r in results] == [PushStatus.REJECTED, PushStatus.APPLIED]
    assert h.sim.stock(code) == 2


# --------------------------------------------------------------------------- stock


def test_unknown_code_is_never_written_so_no_orphan_record(h: Harness) -> None:
    h.adapter.push_stock([_push("ghost:v1", 4)])
    assert h.sim.orphans() == {}
    assert _requests(h.sim, "bulk-upsert") == []


def test_known_codes_are_cached_and_missing_ones_rechecked(h: Harness) -> None:
    code = h.add_listing(h.code(1), 5)
    later = h.code(2)
    first = h.adapter.push_stock([_push(code, 1), _push(later, 1)])
    assert first[1].status is PushStatus.UNKNOWN_CODE
    h.add_listing(later, 0)  # staff list it on RMS
    second = h.adapter.push_stock([_push(code, 2), _push(later, 2)])
    assert [r.status for r in second] == [PushStatus.APPLIED, PushStatus.APPLIED]
    gets = _requests(h.sim, "bulk-get")
    # the second existence check asked only for the code seen missing
    assert [len(r.json["inventories"]) for r in gets] == [2, 1]
    h.adapter.push_stock([_push(code, 3)])
    assert len(_requests(h.sim, "bulk-get")) == 2  # cached
    h.clock.advance(RakutenAdapter.KNOWN_CODE_TTL_S + 1)
    h.adapter.push_stock([_push(code, 4)])
    assert len(_requests(h.sim, "bulk-get")) == 3  # TTL passed: checked again


def test_read_stock_chunks_by_1000_at_5_per_second(h: Harness) -> None:
    codes = [h.add_listing(h.code(n), n % 7) for n in range(2345)]
    stock = h.adapter.read_stock(codes)
    assert stock == {c: n % 7 for n, c in enumerate(codes)}
    gets = _requests(h.sim, "bulk-get")
    assert [len(r.json["inventories"]) for r in gets] == [1000, 1000, 345]
    gaps = [b.at - a.at for a, b in itertools.pairwise(gets)]
    assert all(gap >= timedelta(seconds=0.2) for gap in gaps)
    assert all(r.status == 200 for r in h.sim.requests)  # never over the rate limit


def test_writes_are_absolute_400_per_call_at_1_per_second(h: Harness) -> None:
    codes = [h.add_listing(h.code(n), 0) for n in range(801)]
    h.adapter.read_stock(codes)
    h.adapter.push_stock([_push(c, 3) for c in codes])
    upserts = _requests(h.sim, "bulk-upsert")
    assert [len(r.json["inventories"]) for r in upserts] == [400, 400, 1]
    assert {e["mode"] for r in upserts for e in r.json["inventories"]} == {"ABSOLUTE"}
    gaps = [b.at - a.at for a, b in itertools.pairwise(upserts)]
    assert all(gap >= timedelta(seconds=1) for gap in gaps)
    assert all(r.status in (200, 204) for r in h.sim.requests)


def _rejecting(
    sim: RakutenSimulator, answer: Callable[[list[dict[str, object]]], httpx.Response | None]
) -> httpx.MockTransport:
    """The simulator, except that bulk-upserts may be refused the way 楽天 refuses them.

    For refusals the simulator cannot produce because the adapter validates first
    (an unforeseen rule, a setting in RMS): ``answer`` sees the elements and returns
    a response to use instead, or None to let the simulator serve the request.
    """

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/bulk-upsert"):
            elements = json.loads(request.content)["inventories"]
            refused = answer(elements)
            if refused is not None:
                return refused
        return sim.handle(request)

    return httpx.MockTransport(handle)


def _ie_errors(*errors: tuple[str, str | None]) -> httpx.Response:
    body = [
        {"code": code, "message": "refused", **({"metadata": {"propertyPath": p}} if p else {})}
        for code, p in errors
    ]
    return httpx.Response(400, json={"errors": body})


def test_a_400_naming_elements_rejects_those_and_resends_the_rest() -> None:
    clock = VirtualClock(START)
    sim = RakutenSimulator(clock=clock)
    codes = [sim.add_item(f"item{n}", "v", 1) for n in range(6)]
    poisoned = {"item1", "item4"}

    def answer(elements: list[dict[str, object]]) -> httpx.Response | None:
        bad = [i for i, e in enumerate(elements) if e["manageNumber"] in poisoned]
        if not bad:
            return None
        return _ie_errors(*((("IE0118", f"inventories[{i}].quantity")) for i in bad))

    client = httpx.Client(transport=_rejecting(sim, answer), base_url=RakutenAdapter.BASE_URL)
    results = _adapter(client, clock).push_stock([_push(c, 9) for c in codes])
    statuses = [r.status for r in results]
    assert statuses == [
        PushStatus.APPLIED,
        PushStatus.REJECTED,
        PushStatus.APPLIED,
        PushStatus.APPLIED,
        PushStatus.REJECTED,
        PushStatus.APPLIED,
    ]
    assert "IE0118" in results[1].message
    assert [sim.stock(c) for c in codes] == [9, 1, 9, 9, 1, 9]


def test_a_400_naming_no_element_is_bisected_to_the_bad_one() -> None:
    clock = VirtualClock(START)
    sim = RakutenSimulator(clock=clock)
    codes = [sim.add_item(f"item{n}", "v", 1) for n in range(8)]

    def answer(elements: list[dict[str, object]]) -> httpx.Response | None:
        if any(e["manageNumber"] == "item5" for e in elements):
            return _ie_errors(("IE0002", None))
        return None

    client = httpx.Client(transport=_rejecting(sim, answer), base_url=RakutenAdapter.BASE_URL)
    results = _adapter(client, clock).push_stock([_push(c, 4) for c in codes])
    assert [r.status for r in results].count(PushStatus.REJECTED) == 1
    assert results[5].status is PushStatus.REJECTED
    assert [sim.stock(c) for c in codes] == [4, 4, 4, 4, 4, 1, 4, 4]


def test_a_shop_level_400_rejects_the_batch_without_bisecting() -> None:
    clock = VirtualClock(START)
    sim = RakutenSimulator(clock=clock)
    codes = [sim.add_item(f"item{n}", "v", 1) for n in range(8)]
    client = httpx.Client(
        transport=_rejecting(sim, lambda elements: _ie_errors(("IE1105", None))),
        base_url=RakutenAdapter.BASE_URL,
    )
    results = _adapter(client, clock).push_stock([_push(c, 4) for c in codes])
    assert all(r.status is PushStatus.REJECTED and "IE1105" in r.message for r in results)
    assert len(_requests(sim, "bulk-get")) == 1  # the upsert never reached the sim


def test_409_ce0001_is_retried(h: Harness) -> None:
    code = h.add_listing(h.code(1), 1)
    h.adapter.read_stock([code])
    h.sim.fail_next("409")
    [result] = h.adapter.push_stock([_push(code, 6)])
    assert result.status is PushStatus.APPLIED
    assert [r.status for r in _requests(h.sim, "bulk-upsert")] == [409, 204]


def test_timeout_is_retried(h: Harness) -> None:
    code = h.add_listing(h.code(1), 1)
    h.adapter.read_stock([code])
    h.sim.fail_next("timeout")
    [result] = h.adapter.push_stock([_push(code, 6)])
    assert result.status is PushStatus.APPLIED
    assert h.sim.stock(code) == 6


def test_persistent_5xx_surfaces_as_transient_error(h: Harness) -> None:
    code = h.add_listing(h.code(1), 1)
    h.adapter.read_stock([code])
    h.sim.fail_next("500", times=50)
    with pytest.raises(TransientError):
        h.adapter.push_stock([_push(code, 6)])
    assert len(_requests(h.sim, "bulk-upsert")) == 5  # max_tries


def test_stop_event_cuts_a_backoff_promptly_in_real_time() -> None:
    clock = RealClock()
    sim = RakutenSimulator(clock=clock)
    code = sim.add_item("item", "v", 1)
    stop = threading.Event()
    adapter = _adapter(
        httpx.Client(transport=sim.transport, base_url=RakutenAdapter.BASE_URL),
        clock,
        stop=stop,
    )
    adapter.read_stock([code])
    sim.fail_next("503", times=50)
    timer = threading.Timer(0.1, stop.set)
    began = time.monotonic()
    timer.start()
    try:
        with pytest.raises(Stopped):
            adapter.push_stock([_push(code, 2)])
    finally:
        timer.cancel()
    assert time.monotonic() - began < 0.4  # the first backoff alone is ≥ 0.5 s


def test_a_set_stop_event_makes_no_further_calls(h: Harness) -> None:
    stop = threading.Event()
    adapter = _adapter(h.client, h.clock, stop=stop)
    code = h.add_listing(h.code(1), 1)
    adapter.read_stock([code])
    h.sim.fail_next("503")
    stop.set()
    before = h.clock.monotonic()
    with pytest.raises(Stopped):
        adapter.push_stock([_push(code, 2)])
    assert h.clock.monotonic() == before
    assert len(_requests(h.sim, "bulk-upsert")) <= 1


# --------------------------------------------------------------------------- auth, check, secrets


def test_check_reports_license_expiry_in_japanese() -> None:
    clock = VirtualClock(START)
    expiry = datetime(2026, 11, 28, 23, 59, 59, tzinfo=JST)
    sim = RakutenSimulator(clock=clock, license_expiry=expiry)
    adapter = _adapter(
        httpx.Client(transport=sim.transport, base_url=RakutenAdapter.BASE_URL), clock
    )
    result = adapter.check()
    assert result.ok
    assert result.message == "楽天: 接続OK（ライセンスキー有効期限 2026-11-28、あと5日）"
    assert result.credential_expires_at == expiry
    [call] = sim.requests
    assert call.path == RakutenAdapter.PATH_LICENSE_EXPIRY
    assert call.params == {"licenseKey": KEY}


@pytest.mark.parametrize("code", ["ES01-01", "GA0001"])
def test_auth_failure_names_the_code_never_the_key(code: str) -> None:
    clock = VirtualClock(START)
    sim = RakutenSimulator(clock=clock, auth_error_code=code)
    adapter = _adapter(
        httpx.Client(transport=sim.transport, base_url=RakutenAdapter.BASE_URL), clock
    )
    sim.expire_credentials()
    result = adapter.check()
    assert not result.ok
    assert code in result.message
    with pytest.raises(AuthError) as info:
        adapter.read_stock(["item:v"])
    assert code in str(info.value)
    assert len(sim.requests) == 2  # a 401 is never retried


def _all_text(err: BaseException) -> str:
    texts = []
    seen: BaseException | None = err
    while seen is not None:
        texts.append(f"{type(seen).__name__}: {seen} {seen.args!r}")
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


def test_secrets_never_appear_in_errors_or_messages() -> None:
    clock = VirtualClock(START)
    sim = RakutenSimulator(clock=clock)
    code = sim.add_item("item", "v", 1)

    leak = f"ESA {ESA_TOKEN} licenseKey={KEY} secret={SECRET}"

    def leaky(request: httpx.Request) -> httpx.Response:
        # A gateway that echoes credentials back in every error it can.
        if request.url.path.endswith("/bulk-get"):
            return httpx.Response(401, json={"Results": {"errorCode": "ES01-01", "message": leak}})
        if request.url.path.endswith("/bulk-upsert"):
            raise httpx.ConnectError(f"connect failed: {leak}", request=request)
        if "/order/" in request.url.path:
            return httpx.Response(
                400,
                json={
                    "MessageModelList": [
                        {"messageType": "ERROR", "messageCode": "E", "message": leak}
                    ]
                },
            )
        if "license" in request.url.path:
            return httpx.Response(503, text=leak)
        return sim.handle(request)

    adapter = _adapter(
        httpx.Client(transport=httpx.MockTransport(leaky), base_url=RakutenAdapter.BASE_URL),
        clock,
    )
    failures: list[BaseException] = []
    for call in (
        lambda: adapter.read_stock([code]),
        lambda: adapter.fetch_order_lines(clock.now() - timedelta(hours=1), clock.now()),
    ):
        with pytest.raises(MallError) as info:
            call()
        failures.append(info.value)
    adapter._known.saw([code], {code})  # skip the (leaky) existence check
    with pytest.raises(TransientError) as upsert:
        adapter.push_stock([_push(code, 1)])
    failures.append(upsert.value)

    texts = [_all_text(f) for f in failures] + [adapter.check().message, str(adapter.describe())]
    for text in texts:
        for secret in (KEY, SECRET, ESA_TOKEN, ESA_TOKEN.rstrip("=")):
            assert secret not in text


def test_describe_masks_credentials() -> None:
    clock = VirtualClock(START)
    adapter = _adapter(RakutenConfig().http_client(), clock)
    described = adapter.describe()
    assert described["base_url"] == "https://api.rms.rakuten.co.jp"
    assert KEY not in described["license_key"] and SECRET not in described["service_secret"]


def test_the_client_run_builds_targets_rms_with_timeouts() -> None:
    client = RakutenConfig().http_client()
    assert str(client.base_url) == "https://api.rms.rakuten.co.jp" == RakutenAdapter.BASE_URL
    assert client.timeout.read == 10.0
    slow = RakutenConfig(timeout=30, base_url="http://127.0.0.1:8765/rakuten").http_client()
    assert (str(slow.base_url), slow.timeout.connect) == ("http://127.0.0.1:8765/rakuten/", 30.0)


# --------------------------------------------------------------------------- orders


def test_order_datetimes_use_plus_0900_without_colon() -> None:
    when = datetime(2026, 11, 23, 0, 0, 5, 500_000, tzinfo=UTC)
    assert RakutenAdapter.format_order_datetime(when) == "2026-11-23T09:00:05+0900"
    assert RakutenAdapter.format_order_datetime(when, ceil=True) == "2026-11-23T09:00:06+0900"
    parsed = RakutenAdapter.parse_order_datetime("2017-09-25T20:03:43+0900")
    assert parsed == datetime(2017, 9, 25, 11, 3, 43, tzinfo=UTC)
    assert RakutenAdapter.parse_order_datetime(None) is None
    assert RakutenAdapter.parse_order_datetime("garbage") is None


def test_search_requests_use_the_order_api_format(h: Harness) -> None:
    h.adapter.fetch_order_lines(h.clock.now() - timedelta(hours=1), h.clock.now())
    searches = _requests(h.sim, "searchOrder")
    assert searches
    for r in searches:
        body = r.json
        assert body["dateType"] == 1
        for key in ("startDatetime", "endDatetime"):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0900", body[key])
        assert body["PaginationRequestModel"]["requestRecordsAmount"] == 1000


def test_long_windows_are_split_into_63_day_searches(h: Harness) -> None:
    code = h.add_listing(h.code(1), 100)
    now = h.clock.now()  # orders are backdated; the 90-day license stays valid
    orders = {_order(h.sim, code, 1, at=now - timedelta(days=d)): d for d in (190, 130, 64, 63, 1)}
    since = now - timedelta(days=195)
    lines = h.adapter.fetch_order_lines(since, now)
    assert {ln.order_id for ln in lines} == set(orders)
    main = [r for r in _requests(h.sim, "searchOrder") if "orderProgressList" not in r.json]
    spans = [
        (
            RakutenAdapter.parse_order_datetime(r.json["startDatetime"]),
            RakutenAdapter.parse_order_datetime(r.json["endDatetime"]),
        )
        for r in main
    ]
    assert len(spans) == 4
    for (start, end), (next_start, _) in itertools.pairwise(spans):
        assert start is not None and end is not None
        assert end - start <= timedelta(days=63)
        assert next_start == end
    assert spans[0][0] == since.replace(microsecond=0)
    assert all(r.status == 200 for r in h.sim.requests)


def test_more_than_1000_orders_are_paged_and_fetched_100_at_a_time(h: Harness) -> None:
    code = h.add_listing(h.code(1), 99999)
    start = h.clock.now()
    numbers = set()
    for n in range(1234):
        numbers.add(_order(h.sim, code, 1, at=start + timedelta(seconds=n)))
    h.clock.advance(2000)
    lines = h.adapter.fetch_order_lines(start, h.clock.now())
    assert {ln.order_id for ln in lines} == numbers
    assert all(ln.units == 1 for ln in lines)
    pages = [
        r.json["PaginationRequestModel"]["requestPage"]
        for r in _requests(h.sim, "searchOrder")
        if "orderProgressList" not in r.json
    ]
    assert pages == [1, 2]
    batches = [len(r.json["orderNumberList"]) for r in _requests(h.sim, "getOrder")]
    assert max(batches) <= 100 and sum(batches) == 1234
    assert {r.json["version"] for r in _requests(h.sim, "getOrder")} == {7}


def test_order_lines_carry_line_ids_status_and_times(h: Harness) -> None:
    a = h.add_listing("Shirt:Blue", 5)
    b = h.add_listing("cap:free", 5)
    h.clock.advance(30)
    number = h.sim.place_order([(a, 2), (b, 1)])
    assert number is not None
    [first, second] = h.adapter.fetch_order_lines(START, h.clock.now())
    order = h.sim.orders[number]
    assert (first.order_id, first.code, first.units) == (number, "shirt:Blue", 2)
    assert (second.code, second.units) == ("cap:free", 1)
    assert first.line_id == str(order.lines[0].item_detail_id) != second.line_id
    assert first.status == "注文確認待ち"
    assert first.ordered_at == order.ordered_at
    assert first.mall_restocks is False


@pytest.mark.parametrize(
    ("restock", "default", "expected"),
    [(True, False, True), (False, True, False), (None, True, True), (None, False, False)],
)
def test_cancel_restock_flag_is_reported(
    restock: bool | None, default: bool, expected: bool
) -> None:
    clock = VirtualClock(START)
    sim = RakutenSimulator(clock=clock)
    code = sim.add_item("item", "v", 5)
    adapter = _adapter(
        httpx.Client(transport=sim.transport, base_url=RakutenAdapter.BASE_URL),
        clock,
        restock_on_cancel_default=default,
    )
    number = sim.place_order([(code, 2)])
    assert number is not None
    sim.cancel_order(number, restock=restock)
    [line] = adapter.fetch_order_lines(START, clock.now())
    assert (line.units, line.status, line.mall_restocks) == (0, "キャンセル確定", expected)


def test_cancels_of_old_orders_are_seen_via_the_cancel_window(h: Harness) -> None:
    code = h.add_listing(h.code(1), 10)
    h.clock.advance(30 * 86400)
    old = _order(h.sim, code, 3, at=h.clock.now() - timedelta(days=20))
    kept = _order(h.sim, code, 1, at=h.clock.now() - timedelta(days=20))
    h.sim.cancel_order(old)

    def cycle() -> list[tuple[str, int]]:
        h.clock.advance(15)
        now = h.clock.now()
        return [
            (ln.order_id, ln.units)
            for ln in h.adapter.fetch_order_lines(now - timedelta(seconds=30), now)
        ]

    assert cycle() == [(old, 0)]
    watch = [r for r in _requests(h.sim, "searchOrder") if "orderProgressList" in r.json]
    assert watch[0].json["orderProgressList"] == [400, 800, 900]
    start = RakutenAdapter.parse_order_datetime(watch[0].json["startDatetime"])
    end = RakutenAdapter.parse_order_datetime(watch[0].json["endDatetime"])
    assert start is not None and end is not None
    span = end - start
    assert timedelta(days=59) < span <= timedelta(days=60)

    def reads(number: str) -> int:
        return sum(number in r.json["orderNumberList"] for r in _requests(h.sim, "getOrder"))

    fetched = reads(old)
    assert cycle() == [(old, 0)]  # still reported, from memory
    assert reads(old) == fetched  # steady state: the cancelled order is not read again
    assert kept not in dict(cycle())  # unchanged, placed before the bot started

    # After a restart the adapter re-reads (and re-reports) what it had remembered.
    h.adapter = RakutenAdapter(
        h.client, service_secret=SECRET, license_key=KEY, clock=h.clock, rng=random.Random(1)
    )
    assert cycle() == [(old, 0)]
    assert reads(old) == fetched + 1


def test_an_order_leaving_the_cancel_statuses_is_fetched_again(h: Harness) -> None:
    code = h.add_listing(h.code(1), 10)
    h.clock.advance(10 * 86400)
    number = _order(h.sim, code, 2, at=h.clock.now() - timedelta(days=5))
    h.sim.orders[number].progress = 800  # cancel requested
    now = h.clock.now()
    # An application only: the units stay taken until the cancel is confirmed.
    [line] = h.adapter.fetch_order_lines(now, now)
    assert (line.units, line.status) == (2, "キャンセル確定待ち")
    h.sim.orders[number].progress = 300  # the cancel was withdrawn: back to 発送待ち
    h.clock.advance(15)
    now = h.clock.now()
    [line] = h.adapter.fetch_order_lines(now, now)
    assert (line.order_id, line.units, line.status) == (number, 2, "発送待ち")
    h.clock.advance(15)
    now = h.clock.now()
    assert h.adapter.fetch_order_lines(now, now) == []  # forgotten once seen back


def test_a_failed_fetch_does_not_hide_orders_from_the_next(h: Harness) -> None:
    code = h.add_listing(h.code(1), 10)
    h.clock.advance(10 * 86400)
    number = _order(h.sim, code, 2, at=h.clock.now() - timedelta(days=5))
    h.sim.cancel_order(number)
    now = h.clock.now()
    h.sim.fail_next("503", times=3)  # searches succeed after retries...
    h.adapter.fetch_order_lines(now, now)
    h.sim.expire_credentials()
    with pytest.raises(AuthError):
        h.adapter.fetch_order_lines(now, now)
    h.sim.renew_license(KEY)
    assert [ln.order_id for ln in h.adapter.fetch_order_lines(now, now)] == [number]


def test_windows_older_than_730_days_are_clamped(h: Harness) -> None:
    now = h.clock.now()
    assert h.adapter.fetch_order_lines(now - timedelta(days=800), now - timedelta(days=700)) == []
    assert all(r.status == 200 for r in h.sim.requests)


def test_a_search_at_15000_hits_is_split() -> None:
    clock = VirtualClock(START)
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/getOrder/"):
            return httpx.Response(200, json={"MessageModelList": [], "OrderModelList": []})
        bodies.append(body)
        start = RakutenAdapter.parse_order_datetime(body["startDatetime"])
        end = RakutenAdapter.parse_order_datetime(body["endDatetime"])
        assert start is not None and end is not None
        # Exactly the cap: hits past 15,000 could exist and cannot be paged to. [S10]
        hits = 15_000 if end - start > timedelta(days=10) else 3
        page = {"totalRecordsAmount": hits, "totalPages": 1, "requestPage": 1}
        return httpx.Response(
            200,
            json={
                "orderNumberList": [f"n-{start:%s}-{i}" for i in range(3)],
                "PaginationResponseModel": page,
            },
        )

    adapter = _adapter(
        httpx.Client(transport=httpx.MockTransport(handler), base_url=RakutenAdapter.BASE_URL),
        clock,
    )
    clock.advance(30 * 86400)
    adapter.fetch_order_lines(clock.now() - timedelta(days=15), clock.now())
    main = [b for b in bodies if "orderProgressList" not in b]
    assert len(main) == 3  # 15 days (at the cap) → two halves of 7.5 days
