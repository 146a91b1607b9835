"""Yahoo specifics of YahooAdapter, against YahooSimulator (and a few wire doubles).

The adapter is built with ``from_config`` from the table the simulator hands out, as
the composition root builds it. The central check: a normal run, contract scenarios
included, never makes the simulator refuse anything (its request log has no rejection).
"""

from __future__ import annotations

import base64
import random
import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import padding

from adapters.base import (
    AuthError,
    BuildContext,
    MemoryTokens,
    RateLimited,
    Stopped,
    TransientError,
)
from adapters.oauth import REFRESH_EXPIRES_KEY, REFRESH_TOKEN_KEY
from adapters.yahoo import (
    YAHOO,
    YahooAdapter,
    YahooConfig,
    authorization_url,
    exchange_code,
    save_tokens,
)
from adapters.yahoo.auth import (
    TokenSet,
    load_public_key,
    sws_signature,
)
from bot.core.domain import PushStatus, StockPush
from bot.infra.clock import JST
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.yahoo import (
    AUTH_HOST,
    Unconfirmed,
    YahooSimulator,
    public_pem,
    sandbox_private_key,
)

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 09:00 JST


class Shop:
    """A simulator and the adapter ``run`` would build for it."""

    def __init__(
        self,
        clock: VirtualClock | None = None,
        *,
        sim: YahooSimulator | None = None,
        tokens: MemoryTokens | None = None,
        stop: threading.Event | None = None,
        **config: object,
    ) -> None:
        self.clock = clock or VirtualClock(START)
        self.sim = sim or YahooSimulator(clock=self.clock)
        self.tokens = tokens if tokens is not None else MemoryTokens()
        self.stop = stop or threading.Event()
        self.config = YahooConfig(**{**self.sim.config(), **config})
        self.client = httpx.Client(base_url=self.config.base_url, transport=self.sim.transport)
        self.adapter = self.build()

    def build(self) -> YahooAdapter:
        context = BuildContext(clock=self.clock, stop=self.stop, tokens=self.tokens)
        adapter = YahooAdapter.from_config(self.config, self.client, context)
        adapter._rng = random.Random(0)
        return adapter

    def calls(self, api: str) -> int:
        return sum(1 for r in self.sim.requests if r.api == api)

    def order(self, code: str, units: int, at: datetime | None = None) -> str:
        self.clock.advance(1)
        order = self.sim.place_order([(code, units)], at=at)
        assert order is not None
        return order


def _push(code: str, qty: int) -> StockPush:
    return StockPush(mall="yahoo", code=code, quantity=qty)


@pytest.fixture
def shop() -> Shop:
    return Shop()


# --------------------------------------------------------------------------- declaration


def test_declaration() -> None:
    assert YahooAdapter.name == YAHOO.key == "yahoo"
    assert (YAHOO.label, YAHOO.name, YAHOO.code_header) == (
        "Yahoo",
        "Yahoo!ショッピング",
        "Yahooコード",
    )
    assert YAHOO.rotating_tokens
    assert {"Yahoo!", "Yahooショッピング", "ヤフー"} <= set(YAHOO.aliases)
    assert "auth yahoo" in YAHOO.auth_hint
    assert set(YahooConfig.secret_fields()) == {
        "client_id",
        "client_secret",
        "refresh_token",
        "public_key",
    }
    assert set(YahooConfig.required) == {"client_id", "client_secret", "public_key"}


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [(" item-1 ", "item-1"), ("Item-1 : Red-M", "Item-1:Red-M"), ("a:b", "a:b")],
)
def test_canonical_code_trims_but_keeps_case(raw: str, canonical: str) -> None:
    assert YahooAdapter.canonical_code(raw) == canonical


def test_config_refuses_a_malformed_store_account_or_date() -> None:
    with pytest.raises(ValueError, match="ストアアカウント"):
        YahooConfig(seller_id="My Store")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        YahooConfig(public_key_expires_on="2027/01/01")
    assert YahooConfig(seller_id=" my-store ").seller_id == "my-store"


def test_describe_masks_every_secret(shop: Shop) -> None:
    described = shop.adapter.describe()
    assert described["public_key"].startswith("****")
    assert shop.sim.public_key not in str(described)
    assert described["seller_id"] == shop.sim.seller_id


def test_the_client_run_builds_points_at_production() -> None:
    client = YahooConfig().http_client()
    assert str(client.base_url) == "https://circus.shopping.yahooapis.jp" == YahooAdapter.BASE_URL


# --------------------------------------------------------------------------- a normal run


def test_a_normal_run_never_makes_yahoo_refuse_anything(shop: Shop) -> None:
    codes = [shop.sim.add_listing(shop.sim.sample_code(n), 5) for n in range(1, 1204)]
    assert shop.adapter.check().ok
    assert shop.adapter.read_stock([*codes[:3], "unknown-1"]) == {c: 5 for c in codes[:3]}
    pushes = [_push(c, 7) for c in codes] + [_push("unknown-1", 1), _push("bad_code", 1)]
    results = shop.adapter.push_stock(pushes)
    assert [r.status for r in results[-2:]] == [PushStatus.UNKNOWN_CODE, PushStatus.REJECTED]
    assert all(r.status is PushStatus.APPLIED for r in results[:-2])
    assert max(shop.sim.write_batch_sizes()) == 1000

    first = shop.order(codes[0], 2)
    shop.adapter.fetch_order_lines(START, shop.clock.now())
    shop.clock.advance(2 * 3600)  # past the access token's hour: refreshed in advance
    shop.sim.cancel_order(first)
    lines = shop.adapter.fetch_order_lines(START, shop.clock.now())
    assert [(ln.order_id, ln.units) for ln in lines] == [(first, 0)]

    assert shop.sim.rejections() == []
    assert all(r.status in (200, 302) for r in shop.sim.requests)
    assert shop.sim.orphans() == {}  # the unknown code was never written


def test_the_contract_scenarios_leave_no_rejection_in_the_log() -> None:
    from tests.adapters import test_contract as contract
    from tests.adapters.harness import Harness

    scenarios: list[Callable[[Harness], None]] = [
        contract.test_check_succeeds_with_good_credentials,
        contract.test_push_twice_gives_the_same_end_state,
        contract.test_unknown_code_fails_alone,
        contract.test_one_bad_item_never_sinks_its_batch,
        contract.test_batches_never_exceed_the_mall_limit,
        contract.test_orders_appear_as_lines_with_their_units,
        contract.test_a_cancel_reports_zero_units,
        contract.test_the_same_fetch_twice_gives_the_same_lines,
        contract.test_read_stock_returns_live_quantities,
    ]
    for scenario in scenarios:
        h = Harness("yahoo", VirtualClock(START))
        scenario(h)
        sim = h.sim
        assert isinstance(sim, YahooSimulator)
        assert sim.rejections() == [], scenario.__name__


# --------------------------------------------------------------------------- tokens


def test_an_invalid_token_costs_one_refresh_and_the_call_goes_through(shop: Shop) -> None:
    code = shop.sim.add_listing("a", 3)
    shop.adapter.read_stock([code])
    shop.sim.expire_access_tokens()
    before = shop.calls("token")
    shop.clock.advance(1)
    assert shop.adapter.read_stock([code]) == {code: 3}
    assert shop.calls("token") == before + 1
    assert [r.status for r in shop.sim.requests if r.api == "getStock"] == [200, 401, 200]


def test_access_token_is_refreshed_before_it_expires(shop: Shop) -> None:
    code = shop.sim.add_listing("a", 3)
    shop.adapter.read_stock([code])
    shop.clock.advance(3600 - 60)  # inside the 5-minute margin
    shop.adapter.read_stock([code])
    assert shop.calls("token") == 2
    assert not [r for r in shop.sim.requests if r.status == 401]


def test_dead_credentials_are_an_auth_error_that_names_the_fix(shop: Shop) -> None:
    code = shop.sim.add_listing("a", 3)
    shop.adapter.read_stock([code])
    shop.sim.expire_credentials()
    with pytest.raises(AuthError) as info:
        shop.adapter.read_stock([code])
    message = str(info.value)
    assert "invalid_grant" in message and "python -m bot auth yahoo" in message
    for secret in (shop.sim.client_secret, shop.sim.refresh_token, shop.sim.client_id):
        assert secret not in message


def test_wrong_client_secret_is_named(shop: Shop) -> None:
    broken = Shop(shop.clock, sim=shop.sim, client_secret="not-the-secret")
    result = broken.adapter.check()
    assert not result.ok
    assert "ZAIKO_YAHOO_CLIENT_SECRET" in result.message
    assert "not-the-secret" not in result.message


@pytest.mark.parametrize("rotate", [False, True])
def test_the_newest_refresh_token_is_kept_in_the_token_store(rotate: bool) -> None:
    clock = VirtualClock(START)
    sim = YahooSimulator(clock=clock, facts=Unconfirmed(rotate_refresh_token=rotate))
    shop = Shop(clock, sim=sim)
    shop.adapter.check()
    stored = shop.tokens.load(REFRESH_TOKEN_KEY)
    if rotate:
        assert stored is not None and stored != sim.refresh_token
        assert shop.tokens.load(REFRESH_EXPIRES_KEY) == (START + timedelta(weeks=4)).isoformat()
        # A restart with the old configured token still works: the store has the new one.
        restarted = Shop(clock, sim=sim, tokens=shop.tokens)
        clock.advance(1)
        assert restarted.adapter.check().ok
    else:
        assert stored == sim.refresh_token
        assert shop.tokens.load(REFRESH_EXPIRES_KEY) == ""  # issue date unknown


def test_a_stale_stored_token_falls_back_to_the_configured_one(shop: Shop) -> None:
    shop.tokens.save(REFRESH_TOKEN_KEY, "sim-rt-long-dead")
    assert shop.adapter.check().ok
    assert shop.tokens.load(REFRESH_TOKEN_KEY) == shop.sim.refresh_token


def test_no_refresh_token_anywhere_asks_for_auth(shop: Shop) -> None:
    bare = Shop(shop.clock, sim=shop.sim, refresh_token=None)
    result = bare.adapter.check()
    assert not result.ok and "python -m bot auth yahoo" in result.message
    assert bare.calls("token") == 0


# --------------------------------------------------------------------------- the one-time login


def test_authorization_url_carries_what_yconnect_wants() -> None:
    url = authorization_url("cid-123", "https://shop.example.com/cb", state="st", nonce="no")
    parts = urllib.parse.urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"https://{AUTH_HOST}/yconnect/v2/authorization"
    )
    assert dict(urllib.parse.parse_qsl(parts.query)) == {
        "response_type": "code",
        "client_id": "cid-123",
        "redirect_uri": "https://shop.example.com/cb",
        "scope": "openid profile",
        "bail": "1",
        "state": "st",
        "nonce": "no",
    }
    assert authorization_url("c", "r") != authorization_url("c", "r")  # fresh state each time


def test_login_flow_against_the_simulator_then_the_adapter_uses_the_stored_token(
    shop: Shop,
) -> None:
    sim, client = shop.sim, shop.client
    redirect = sim.redirect_uris[0]
    page = client.get(authorization_url(sim.client_id, redirect, state="xyz"))
    assert page.status_code == 302
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.headers["Location"]).query))
    assert query["state"] == "xyz"

    tokens = exchange_code(
        client,
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        code=query["code"],
        redirect_uri=redirect,
        now=shop.clock.now(),
    )
    assert tokens.refresh_token and tokens.refresh_expires_at == START + timedelta(weeks=4)
    assert tokens.refresh_token not in repr(tokens) and tokens.access_token not in repr(tokens)

    store = MemoryTokens()
    save_tokens(store, tokens)
    sim.expire_credentials()  # the old configured refresh token dies …
    again = Shop(shop.clock, sim=sim, tokens=store)
    shop.clock.advance(1)
    # … while a fresh login's token (newer than the expiry above) carries the adapter.
    fresh = exchange_code(
        client,
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        code=sim.authorize(redirect),
        redirect_uri=redirect,
        now=shop.clock.now(),
    )
    save_tokens(store, fresh)
    result = again.adapter.check()
    assert result.ok
    assert result.credential_expires_at == shop.clock.now() + timedelta(weeks=4)
    assert "リフレッシュトークン有効期限 2026-12-21、あと28日" in result.message


def test_a_used_or_foreign_code_is_refused_in_japanese(shop: Shop) -> None:
    sim = shop.sim
    code = sim.authorize(sim.redirect_uris[0])
    kwargs = {
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "redirect_uri": sim.redirect_uris[0],
        "now": shop.clock.now(),
    }
    exchange_code(shop.client, code=code, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(AuthError, match="再認可"):
        exchange_code(shop.client, code=code, **kwargs)  # type: ignore[arg-type]


def test_token_errors_never_echo_secrets() -> None:
    secret_token = "rt-SENTINEL-4f3e2d1c"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={"error": "invalid_grant", "error_description": f"token {secret_token} expired"},
        )

    adapter = YahooAdapter(
        httpx.Client(base_url=YahooAdapter.BASE_URL, transport=httpx.MockTransport(handler)),
        seller_id="shop",
        client_id="cid-0123",
        client_secret="secret-0123",
        refresh_token=secret_token,
        clock=VirtualClock(START),
    )
    with pytest.raises(AuthError) as info:
        adapter.read_stock(["a"])
    assert secret_token not in str(info.value) and "***" in str(info.value)


# --------------------------------------------------------------------------- signature


def test_signature_is_pkcs1_v15_of_seller_and_unix_time() -> None:
    key = sandbox_private_key(0)
    signature = sws_signature(load_public_key(public_pem(key)), "my-store", START)
    plain = key.decrypt(base64.b64decode(signature), padding.PKCS1v15())
    assert plain == f"my-store:{int(START.timestamp())}".encode()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda pem: pem.replace("\n", "\\n"),
        lambda pem: "".join(pem.splitlines()[1:-1]),
    ],
)
def test_public_key_survives_environment_variables(mangle: Callable[[str], str]) -> None:
    pem = public_pem(sandbox_private_key(0))
    assert load_public_key(mangle(pem)).public_numbers() == load_public_key(pem).public_numbers()


def test_an_unreadable_public_key_fails_signed_calls_in_japanese(shop: Shop) -> None:
    broken = Shop(shop.clock, sim=shop.sim, public_key="not a key")
    result = broken.adapter.check()
    assert not result.ok and "公開鍵" in result.message
    assert broken.calls("orderList") == 0
    code = shop.sim.add_listing("a", 2)
    assert broken.adapter.read_stock([code]) == {code: 2}  # stock APIs need no signature


def test_wrong_key_version_is_px_04102_with_the_public_key_hint(shop: Shop) -> None:
    wrong = Shop(shop.clock, sim=shop.sim, public_key_version=5)
    with pytest.raises(AuthError) as info:
        wrong.adapter.fetch_order_lines(START, shop.clock.now())
    assert "px-04102" in str(info.value) and "暗号鍵管理" in str(info.value)
    assert [r.status for r in shop.sim.requests if r.api == "orderList"] == [401, 401]


def test_an_expired_public_key_stops_orders_and_check(shop: Shop) -> None:
    shop.sim.expire_public_key(1)
    result = shop.adapter.check()
    assert not result.ok and "px-04102" in result.message


# --------------------------------------------------------------------------- gateway refusals


def test_unregistered_ip_is_an_auth_error_with_a_japanese_hint(shop: Shop) -> None:
    shop.sim.block_ip()
    with pytest.raises(AuthError, match="IPアドレス"):
        shop.adapter.read_stock(["a"])


def test_a_403_forbidden_names_every_cause(shop: Shop) -> None:
    capped = Shop(shop.clock, sim=YahooSimulator(clock=shop.clock, daily_limit=1))
    code = capped.sim.add_listing("a", 1)
    capped.adapter.read_stock([code])
    capped.clock.advance(1)
    with pytest.raises(AuthError, match="50,000"):
        capped.adapter.read_stock([code])


def test_the_adapter_stops_itself_at_the_daily_cap(shop: Shop) -> None:
    limited = Shop(shop.clock, sim=shop.sim, daily_request_limit=2)
    code = shop.sim.add_listing("a", 1)
    limited.adapter.read_stock([code])
    limited.adapter.read_stock([code])
    with pytest.raises(RateLimited) as info:
        limited.adapter.read_stock([code])
    midnight = datetime(2026, 11, 24, 0, 0, tzinfo=JST)
    assert info.value.retry_after == (midnight - shop.clock.now()).total_seconds()
    assert "上限" in str(info.value)
    assert limited.calls("getStock") == 2  # the third never left
    shop.clock.set(midnight)
    assert limited.adapter.read_stock([code]) == {code: 1}


def test_persistent_503_is_transient_and_stop_cuts_the_wait(shop: Shop) -> None:
    code = shop.sim.add_listing("a", 1)
    shop.adapter.read_stock([code])
    shop.sim.fail_next("503", times=50)
    with pytest.raises(TransientError):
        shop.adapter.read_stock([code])
    shop.stop.set()
    with pytest.raises(Stopped):
        shop.adapter.read_stock([code])


# --------------------------------------------------------------------------- stock


def test_a_refused_batch_is_halved_until_the_bad_code_is_alone(shop: Shop) -> None:
    codes = [shop.sim.add_listing(f"item-{n}", 1) for n in range(8)]
    shop.sim.refuse_code(codes[5])
    results = shop.adapter.push_stock([_push(c, 4) for c in codes])
    assert [r.status for r in results] == [PushStatus.APPLIED] * 5 + [PushStatus.REJECTED] + [
        PushStatus.APPLIED
    ] * 2
    assert "st-02101" in results[5].message
    assert [shop.sim.stock(c) for c in codes] == [4] * 5 + [1] + [4] * 2
    assert shop.calls("setStock") <= 1 + 2 * 3  # log2(8) levels, two halves each


def test_local_refusals_never_reach_yahoo(shop: Shop) -> None:
    code = shop.sim.add_listing("a", 1)
    results = shop.adapter.push_stock(
        [_push("under_score", 1), _push(code, 1_000_000_000), _push(code, 2), _push(code, 3)]
    )
    assert [r.status for r in results] == [
        PushStatus.REJECTED,
        PushStatus.REJECTED,
        PushStatus.REJECTED,
        PushStatus.APPLIED,
    ]
    assert "半角英数字とハイフン" in results[0].message
    assert "999,999,999" in results[1].message
    assert "後続の更新" in results[2].message
    assert shop.sim.write_batch_sizes() == [1]
    assert shop.sim.stock(code) == 3


def test_known_codes_are_trusted_for_an_hour(shop: Shop) -> None:
    code = shop.sim.add_listing("a", 1)
    shop.adapter.push_stock([_push(code, 2)])
    shop.adapter.push_stock([_push(code, 3)])
    assert shop.calls("getStock") == 1
    shop.clock.advance(3601)
    shop.adapter.push_stock([_push(code, 4)])
    assert shop.calls("getStock") == 2


def test_read_stock_leaves_out_invalid_and_unknown_codes(shop: Shop) -> None:
    code = shop.sim.add_listing("item-9:blue", 6)
    assert shop.adapter.read_stock([" item-9 : blue ", "no_such", "missing"]) == {
        " item-9 : blue ": 6
    }
    [request] = [r for r in shop.sim.requests if r.api == "getStock"]
    assert request.form["item_code"] == f"{code},missing"


def test_answers_in_another_case_still_match(shop: Shop) -> None:
    shop.sim.add_listing("ITEM-1", 3)
    assert shop.adapter.read_stock(["ITEM-1"]) == {"ITEM-1": 3}


# --------------------------------------------------------------------------- orders


def test_orders_are_paged_past_a_capped_page(shop: Shop) -> None:
    capped = Shop(
        shop.clock, sim=YahooSimulator(clock=shop.clock, facts=Unconfirmed(max_order_page=2))
    )
    code = capped.sim.add_listing("a", 50)
    orders = [capped.order(code, 1) for _ in range(5)]
    lines = capped.adapter.fetch_order_lines(START, capped.clock.now())
    assert [ln.order_id for ln in lines] == orders
    assert capped.calls("orderList") == 3 + 1  # three pages, then the cancel-window search


def test_an_old_cancel_is_found_by_the_status_4_search(shop: Shop) -> None:
    code = shop.sim.add_listing("a", 10)
    old = shop.order(code, 3, at=START - timedelta(days=20))
    shop.clock.advance(60)
    since = shop.clock.now()
    assert shop.adapter.fetch_order_lines(since, shop.clock.now()) == []
    shop.sim.cancel_order(old)
    shop.clock.advance(60)
    [line] = shop.adapter.fetch_order_lines(since, shop.clock.now())
    assert (line.order_id, line.units, line.status, line.mall_restocks) == (
        old,
        0,
        "キャンセル",
        True,
    )
    assert line.ordered_at == (START - timedelta(days=20)).replace(microsecond=0)


def test_cancels_older_than_the_window_are_not_searched(shop: Shop) -> None:
    code = shop.sim.add_listing("a", 10)
    ancient = shop.order(code, 1, at=START - timedelta(days=61))
    shop.sim.cancel_order(ancient)
    assert shop.adapter.fetch_order_lines(shop.clock.now(), shop.clock.now()) == []


def test_unchanged_orders_are_not_fetched_again(shop: Shop) -> None:
    code = shop.sim.add_listing("a", 10)
    shop.order(code, 1)
    shop.order(code, 2)
    first = shop.adapter.fetch_order_lines(START, shop.clock.now())
    info_calls = shop.calls("orderInfo")
    assert info_calls == 2
    assert shop.adapter.fetch_order_lines(START, shop.clock.now()) == first
    assert shop.calls("orderInfo") == info_calls


def test_a_multi_line_order_reports_each_line(shop: Shop) -> None:
    a = shop.sim.add_listing("a", 5)
    b = shop.sim.add_listing("b:red", 5)
    shop.clock.advance(1)
    order = shop.sim.place_order([(a, 1), (b, 2)])
    lines = shop.adapter.fetch_order_lines(START, shop.clock.now())
    assert [(ln.order_id, ln.code, ln.units, ln.status) for ln in lines] == [
        (order, "a", 1, "処理中"),
        (order, "b:red", 2, "処理中"),
    ]
    assert len({ln.key for ln in lines}) == 2


def test_restocking_is_reported_as_configured() -> None:
    clock = VirtualClock(START)
    shop = Shop(
        clock,
        sim=YahooSimulator(clock=clock, facts=Unconfirmed(restock_on_cancel=False)),
        restocks_on_cancel=False,
    )
    code = shop.sim.add_listing("a", 5)
    order = shop.order(code, 2)
    shop.sim.cancel_order(order)
    [line] = shop.adapter.fetch_order_lines(START, shop.clock.now())
    assert (line.units, line.mall_restocks) == (0, False)
    assert shop.sim.stock(code) == 3


# --------------------------------------------------------------------------- check


def test_check_reports_the_first_expiry_it_knows(shop: Shop) -> None:
    save_tokens(
        shop.tokens,
        TokenSet(
            access_token="unused",
            access_expires_at=START,
            refresh_token=shop.sim.refresh_token,
            refresh_expires_at=START + timedelta(days=20),
        ),
    )
    keyed = Shop(shop.clock, sim=shop.sim, tokens=shop.tokens, public_key_expires_on="2026-12-01")
    result = keyed.adapter.check()
    assert result.ok
    assert result.credential_expires_at == datetime(2026, 12, 1, 23, 59, 59, tzinfo=JST)
    assert "公開鍵有効期限 2026-12-01、あと8日" in result.message
    assert "リフレッシュトークン有効期限 2026-12-13、あと20日" in result.message


def test_check_without_known_expiries(shop: Shop) -> None:
    result = Shop(shop.clock, sim=shop.sim, public_key_expires_on="").adapter.check()
    assert result.ok and result.credential_expires_at is None
    assert "有効期限は不明" in result.message
    assert shop.calls("orderList") == 1


def test_check_reports_the_public_key_expiry_it_is_told(shop: Shop) -> None:
    result = shop.adapter.check()  # the simulator's table carries its key's expiry date
    assert result.credential_expires_at is not None
    assert result.credential_expires_at.date().isoformat() == shop.config.public_key_expires_on


def test_check_without_a_store_account_says_so(shop: Shop) -> None:
    result = Shop(shop.clock, sim=shop.sim, seller_id="").adapter.check()
    assert not result.ok and "seller_id" in result.message


def test_public_key_expiry_from_config_is_a_date() -> None:
    assert YahooConfig(public_key_expires_on="2027-11-30").public_key_expires_on == "2027-11-30"
    assert date.fromisoformat(YahooConfig(public_key_expires_on="2027-11-30").public_key_expires_on)
