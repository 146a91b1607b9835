"""カラーミーショップ adapter: codes, per-option stock, silent drops, sales, both readings of
every UNCONFIRMED point (the simulator's :class:`Unconfirmed`), check and secrets."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import httpx
import pytest

from adapters import ADAPTERS
from adapters.base import AuthError, BuildContext
from adapters.colorme import COLORME, ColorMeAdapter, ColorMeConfig
from adapters.colorme.codes import canonical_code, code_problem, parse_code
from bot.core.domain import PushStatus, StockPush
from bot.infra.clock import JST
from bot.infra.settings import load_settings
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.colorme import ColorMeSimulator, Unconfirmed
from tests.adapters.harness import Harness

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)


def make(facts: Unconfirmed | None = None) -> Harness:
    clock = VirtualClock(START)
    sim = ColorMeSimulator(clock=clock, facts=facts or Unconfirmed())
    return Harness("colorme", clock, sim=sim)


def sim_of(h: Harness) -> ColorMeSimulator:
    assert isinstance(h.sim, ColorMeSimulator)
    return h.sim


def push(code: str, qty: int) -> StockPush:
    return StockPush(mall="colorme", code=code, quantity=qty)


# --------------------------------------------------------------------------- declaration


def test_declaration_and_settings() -> None:
    assert ADAPTERS["colorme"] is ColorMeAdapter
    assert (COLORME.label, COLORME.name, COLORME.code_header) == (
        "カラーミー",
        "カラーミーショップ",
        "カラーミーコード",
    )
    assert not COLORME.rotating_tokens
    token = "colorme-secret-token-value-0001"
    settings = load_settings(
        env={"ZAIKO_MALLS__COLORME__ENABLED": "true", "ZAIKO_COLORME_ACCESS_TOKEN": token}
    )
    config = settings.mall("colorme")
    assert isinstance(config, ColorMeConfig)
    assert config.base_url == "https://api.shop-pro.jp"
    assert config.requests_per_minute == 120
    assert token not in repr(settings)
    assert token not in str(settings.describe())
    missing = load_settings(env={"ZAIKO_MALLS__COLORME__ENABLED": "true"}).problems_for_run()
    assert any("ZAIKO_COLORME_ACCESS_TOKEN" in p for p in missing)


def test_from_config_describe_masks_the_token() -> None:
    clock = VirtualClock(START)
    sim = ColorMeSimulator(clock=clock)
    config = ColorMeConfig(**sim.config())
    client = httpx.Client(base_url=config.base_url, transport=sim.transport)
    adapter = ColorMeAdapter.from_config(
        config, client, BuildContext(clock=clock, stop=threading.Event())
    )
    described = adapter.describe()
    assert sim.access_token not in str(described)
    assert described["access_token"].startswith("****")


# --------------------------------------------------------------------------- codes


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("00123", "123"),
        (" 123 ", "123"),
        ("123：レッド：Ｍ", "123:レッド:M"),
        ("123: レッド : M ", "123:レッド:M"),
        ("123:12:00-13:00", "123:12:00-13:00"),
        ("abc", "abc"),
    ],
)
def test_canonical_code_folds_like_the_sheet(typed: str, canonical: str) -> None:
    assert canonical_code(typed) == canonical
    assert ColorMeAdapter.canonical_code(typed) == canonical


def test_code_problems_are_in_staff_words() -> None:
    assert code_problem("123456789") is None
    assert code_problem("123456789:レッド:M") is None
    assert "数字" in (code_problem("ABC-1") or "")
    assert "商品ID" in (code_problem(":レッド") or "")
    assert "空" in (code_problem("123::M") or "")
    assert parse_code("123::M") is None
    assert COLORME.code_problem is code_problem


# --------------------------------------------------------------------------- stock


def test_variants_of_one_product_share_one_put_with_the_raw_values() -> None:
    h = make()
    sim = sim_of(h)
    sim.add_product(
        501,
        per_option=True,
        variants=[("ブラック", "Ｍ", 1), ("ブラック", "Ｌ", 1), ("ホワイト", "Ｍ", 1)],
    )
    # The sheet holds NFKC-folded codes; カラーミー keeps the full-width values as typed.
    codes = ["501:ブラック:M", "501:ブラック:L", "501:ホワイト:M"]
    results = h.adapter.push_stock([push(c, n) for n, c in enumerate(codes, start=4)])
    assert [r.status for r in results] == [PushStatus.APPLIED] * 3
    assert [sim.pending_stock(c) for c in codes] == [4, 5, 6]
    assert sim.write_batch_sizes() == [3]
    [put] = [r for r in sim.requests if r.method == "PUT"]
    assert put.path == "/v1/products/501.json"
    assert put.body == {
        "product": {
            "variants": [
                {"option1_value": "ブラック", "option2_value": "Ｍ", "stocks": 4},
                {"option1_value": "ブラック", "option2_value": "Ｌ", "stocks": 5},
                {"option1_value": "ホワイト", "option2_value": "Ｍ", "stocks": 6},
            ]
        }
    }
    assert h.adapter.read_stock(codes) == dict(zip(codes, [4, 5, 6], strict=True))
    assert sim.rejections() == []


def test_a_product_push_is_the_absolute_number() -> None:
    h = make()
    code = h.add_listing("777", 3)
    [result] = h.adapter.push_stock([push(code, 9)])
    assert result.status is PushStatus.APPLIED
    [put] = [r for r in sim_of(h).requests if r.method == "PUT"]
    assert put.body == {"product": {"stocks": 9}}


def test_listings_of_the_wrong_kind_are_refused_before_sending() -> None:
    h = make()
    sim = sim_of(h)
    sim.add_product(601, per_option=True, variants=[("レッド", None, 2)])
    sim.add_product(602, stocks=5, variants=[("レッド", None, 0)])  # stock kept as a whole
    sim.add_product(603, stocks=0, stock_managed=False)
    pushes = [
        push("601", 1),  # per-option product: its own stocks would be ignored
        push("602:レッド", 1),  # stock kept as a whole: no per-variant number
        push("603", 1),  # no stock kept at all
        push("601:ブルー", 1),  # no such option
        push("604", 1),  # no such product
        push("601:レッド", 7),
    ]
    results = h.adapter.push_stock(pushes)
    assert [r.status for r in results] == [
        PushStatus.REJECTED,
        PushStatus.REJECTED,
        PushStatus.REJECTED,
        PushStatus.UNKNOWN_CODE,
        PushStatus.UNKNOWN_CODE,
        PushStatus.APPLIED,
    ]
    assert "オプションごとに在庫管理" in results[0].message
    assert "商品IDだけ（602）" in results[1].message
    assert "在庫管理しない" in results[2].message
    assert "ブルー" in results[3].message
    assert "604" in results[4].message
    assert sim.write_batch_sizes() == [1]
    assert h.adapter.read_stock(["601", "602", "602:レッド", "603", "601:レッド"]) == {
        "602": 5,
        "601:レッド": 7,
    }
    assert sim.rejections() == []


@pytest.mark.parametrize("product_stocks", ["sum", "null"])
def test_a_write_the_api_drops_silently_is_not_reported_applied(product_stocks: str) -> None:
    h = make(Unconfirmed(product_stocks_per_option=product_stocks))  # type: ignore[arg-type]
    sim = sim_of(h)
    sim.add_product(701, stocks=4)
    assert h.adapter.read_stock(["701"]) == {"701": 4}
    # Staff switch the product to per-option stock after the adapter read it.
    sim.add_product(701, per_option=True, variants=[("S", None, 4)])
    [result] = h.adapter.push_stock([push("701", 9)])
    assert result.status is PushStatus.REJECTED
    assert "反映しませんでした" in result.message
    assert sim.pending_stock("701:S") == 4


def test_a_product_deleted_since_it_was_read_is_unknown() -> None:
    h = make()
    sim = sim_of(h)
    code = h.add_listing("801", 2)
    h.adapter.read_stock([code])
    sim.delete_product(801)
    [result] = h.adapter.push_stock([push(code, 5)])
    assert result.status is PushStatus.UNKNOWN_CODE
    assert [r.code for r in sim.rejections()] == [404100]


def test_a_refused_variant_does_not_sink_its_siblings() -> None:
    h = make(Unconfirmed(max_stocks=100))
    sim = sim_of(h)
    sim.add_product(901, per_option=True, variants=[("A", None, 1), ("B", None, 1), ("C", None, 1)])
    results = h.adapter.push_stock([push("901:A", 5), push("901:B", 500), push("901:C", 7)])
    assert [r.status for r in results] == [
        PushStatus.APPLIED,
        PushStatus.REJECTED,
        PushStatus.APPLIED,
    ]
    assert "拒否" in results[1].message
    assert [sim.pending_stock(c) for c in ("901:A", "901:B", "901:C")] == [5, 1, 7]


def test_a_quantity_beyond_the_range_is_not_sent() -> None:
    h = make()
    code = h.add_listing("902", 1)
    [result] = h.adapter.push_stock([push(code, ColorMeAdapter.MAX_QUANTITY + 1)])
    assert result.status is PushStatus.REJECTED
    assert not [r for r in sim_of(h).requests if r.method == "PUT"]


def test_calls_are_paced_under_the_per_minute_guide() -> None:
    h = make()
    sim = sim_of(h)
    codes = [h.add_listing(str(2000 + n), 0) for n in range(150)]
    started = h.clock.monotonic()
    results = h.adapter.push_stock([push(c, 3) for c in codes])
    assert all(r.status is PushStatus.APPLIED for r in results)
    assert sim.rejections() == []  # no 429 although the simulator enforces 120/min
    assert h.clock.monotonic() - started >= 60.0


# --------------------------------------------------------------------------- paths


@pytest.mark.parametrize("served", ["json", "bare", "both"])
def test_either_spelling_of_the_paths_works(served: str) -> None:
    h = make(Unconfirmed(path_suffix=served))  # type: ignore[arg-type]
    sim = sim_of(h)
    code = h.add_listing("1001", 2)
    [result] = h.adapter.push_stock([push(code, 6)])
    assert result.status is PushStatus.APPLIED
    assert sim.pending_stock(code) == 6
    order = h.place_order(code, 1)
    assert {ln.order_id for ln in h.adapter.fetch_order_lines(h.started, h.clock.now())} == {order}
    # At most one plain 404 (the first call, on the spelling the API does not serve).
    assert len(sim.rejections()) == (1 if served == "bare" else 0)


# --------------------------------------------------------------------------- orders


def test_option_lines_take_the_code_of_how_the_product_keeps_stock() -> None:
    h = make()
    sim = sim_of(h)
    sim.add_product(1101, per_option=True, variants=[("ブラック", "Ｍ", 5)])
    sim.add_product(1102, stocks=5, variants=[("ブラック", "M", 0)])
    first = sim.place_order([("1101:ブラック:Ｍ", 2)])
    # A product kept as a whole still records the option chosen on its lines.
    sale = sim.place_order([("1102:ブラック:M", 1)])
    assert first is not None and sale is not None
    assert sim.pending_stock("1102") == 4
    lines = h.adapter.fetch_order_lines(h.started, h.clock.now())
    by_order = {ln.order_id: ln for ln in lines}
    assert by_order[first].code == "1101:ブラック:M"
    assert by_order[sale].code == "1102"
    assert all(ln.status == "受注" for ln in lines)


@pytest.mark.parametrize("restocks", [False, True])
def test_a_cancel_reports_zero_units_and_whether_the_shop_restocked(restocks: bool) -> None:
    clock = VirtualClock(START)
    sim = ColorMeSimulator(clock=clock)
    code = sim.add_listing("1201", 5)
    config = {**sim.config(), "restocks_on_cancel": restocks}
    h = Harness("colorme", clock, sim=sim)
    adapter = ColorMeAdapter.from_config(
        ColorMeConfig(**config), h.client, BuildContext(clock=clock, stop=threading.Event())
    )
    order = h.place_order(code, 2)
    [line] = adapter.fetch_order_lines(h.started, clock.now())
    assert (line.units, line.mall_restocks) == (2, False)
    clock.advance(60)
    sim.cancel_order(order, restock=restocks)
    [line] = adapter.fetch_order_lines(clock.now() - timedelta(minutes=2), clock.now())
    assert (line.units, line.status, line.mall_restocks) == (0, "キャンセル", restocks)
    assert sim.pending_stock(code) == (5 if restocks else 3)


@pytest.mark.parametrize("week_default", [True, False])
def test_a_cancel_of_an_old_sale_is_found_whatever_the_default_window(week_default: bool) -> None:
    h = make(Unconfirmed(week_default_with_update_filter=week_default))
    sim = sim_of(h)
    code = h.add_listing("1301", 5)
    order = h.place_order(code, 1)
    h.clock.advance(20 * 24 * 3600)  # 20 days later, well past the 7-day default
    sim.cancel_order(order)
    now = h.clock.now()
    lines = h.adapter.fetch_order_lines(now - timedelta(minutes=2), now)
    assert [(ln.order_id, ln.units) for ln in lines] == [(order, 0)]
    [search] = [r for r in sim.requests if r.route == "sales"]
    assert search.params["after"] == (now - timedelta(days=60)).astimezone(JST).strftime(
        "%Y-%m-%d %H:%M:%S"
    )


@pytest.mark.parametrize("reading", ["datetime", "date_only"])
def test_the_update_window_holds_under_either_reading_of_dates(reading: str) -> None:
    h = make(Unconfirmed(date_params=reading))  # type: ignore[arg-type]
    code = h.add_listing("1401", 50)
    early = h.place_order(code, 1)
    h.clock.advance(3 * 3600)
    late = h.place_order(code, 2)
    now = h.clock.now()
    got = {ln.order_id for ln in h.adapter.fetch_order_lines(now - timedelta(minutes=5), now)}
    # A date-only reading widens the window to the whole day: more lines, never fewer.
    assert late in got
    assert (early in got) is (reading == "date_only")


def test_sales_are_paged_by_the_effective_limit() -> None:
    h = make()
    sim = sim_of(h)
    code = h.add_listing("1501", 1000)
    orders = {h.place_order(code, 1) for _ in range(230)}
    lines = h.adapter.fetch_order_lines(h.started, h.clock.now())
    assert {ln.order_id for ln in lines} == orders
    searches = [r for r in sim.requests if r.route == "sales"]
    assert [r.params["offset"] for r in searches] == ["0", "100", "200"]


def test_a_line_removed_from_a_sale_reports_zero_units() -> None:
    h = make()
    sim = sim_of(h)
    a = h.add_listing("1601", 5)
    b = h.add_listing("1602", 5)
    order = sim.place_order([(a, 1), (b, 2)])
    assert order is not None
    first = h.adapter.fetch_order_lines(h.started, h.clock.now())
    assert sorted((ln.code, ln.units) for ln in first) == [("1601", 1), ("1602", 2)]
    h.clock.advance(60)
    gone = sim.sales[order].details[1].detail_id
    sim.remove_line(order, gone)
    again = h.adapter.fetch_order_lines(h.clock.now() - timedelta(minutes=2), h.clock.now())
    assert sorted((ln.code, ln.units) for ln in again) == [("1601", 1), ("1602", 0)]


# --------------------------------------------------------------------------- check, secrets


def test_check_names_the_shop_and_the_token_lifetime() -> None:
    h = make()
    result = h.adapter.check()
    assert result.ok
    assert "PA01234567" in result.message and "有効期限はありません" in result.message
    assert result.credential_expires_at is None


@pytest.mark.parametrize("body", ["errors", "empty"])
def test_a_revoked_token_is_an_auth_error_with_the_reauthorize_hint(body: str) -> None:
    h = make(Unconfirmed(auth_error_body=body))  # type: ignore[arg-type]
    h.expire_credentials()
    result = h.adapter.check()
    assert not result.ok and "認証エラー" in result.message
    with pytest.raises(AuthError, match="アクセストークン"):
        h.adapter.fetch_order_lines(h.started, h.clock.now())


def test_a_token_echoed_back_never_reaches_an_error_text() -> None:
    clock = VirtualClock(START)
    sim = ColorMeSimulator(clock=clock)
    token = sim.access_token

    def echo(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("Authorization", "")
        body = {"errors": [{"code": 400000, "message": f"bad {header}", "status": 400}]}
        return httpx.Response(400, json=body)

    client = httpx.Client(base_url="https://api.shop-pro.jp", transport=httpx.MockTransport(echo))
    adapter = ColorMeAdapter(client, access_token=token, clock=clock)
    result = adapter.check()
    assert not result.ok
    assert token not in result.message
    with pytest.raises(Exception) as caught:
        adapter.fetch_order_lines(START - timedelta(hours=1), START)
    assert token not in str(caught.value)


def test_a_bare_404_on_one_record_after_the_paths_are_known_is_that_record() -> None:
    clock = VirtualClock(START)
    sim = ColorMeSimulator(clock=clock)
    code = sim.add_listing("3001", 2)

    def plain_404_for_deleted(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(404, text="Not Found")
        return sim.handle(request)

    client = httpx.Client(
        base_url="https://api.shop-pro.jp", transport=httpx.MockTransport(plain_404_for_deleted)
    )
    adapter = ColorMeAdapter(client, access_token=sim.access_token, clock=clock)
    assert adapter.read_stock([code]) == {code: 2}
    [result] = adapter.push_stock([push(code, 5)])
    assert result.status is PushStatus.UNKNOWN_CODE
