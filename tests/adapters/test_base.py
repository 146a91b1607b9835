"""The shared httpx plumbing in adapters/base.py: pacing, retry, redaction, masking."""

from __future__ import annotations

import base64
import gc
import itertools
import json
import random
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.base import (
    AuthError,
    ChannelConfig,
    KnownCodes,
    MallClient,
    MallError,
    MallRejected,
    RateLimited,
    Stopped,
    TokenBucket,
    TransientError,
    backoff_delay,
    default_classify,
    describe_settings,
    json_or_none,
    mask_secret,
    parse_retry_after,
    redact,
    request_with_retry,
)
from bot.sandbox.clock import VirtualClock

SECRET = "SL123456_abcdefXYZ"


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), base_url="https://mall.example.com")


def _classify(response: httpx.Response) -> MallError | None:
    return default_classify(response, now=datetime(2026, 11, 23, tzinfo=UTC))


def _send(
    client: httpx.Client,
    clock: VirtualClock,
    *,
    stop: threading.Event | None = None,
    bucket: TokenBucket | None = None,
    **kw: object,
) -> httpx.Response:
    return request_with_retry(
        client,
        "GET",
        "/x",
        classify=_classify,
        clock=clock,
        stop=stop,
        bucket=bucket,
        rng=random.Random(1),
        **{"secrets": (SECRET,), **kw},  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- bucket


def test_token_bucket_spaces_calls_at_the_rate() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(5.0, 1, clock)
    times = []
    for _ in range(6):
        bucket.acquire()
        times.append(clock.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert times[0] == 0.0
    assert all(gap == pytest.approx(0.2) for gap in gaps)


def test_token_bucket_burst_then_rate() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(1.0, 3, clock)
    for _ in range(3):
        bucket.acquire()
    assert clock.monotonic() == 0.0
    bucket.acquire()
    assert clock.monotonic() == pytest.approx(1.0)


def test_token_bucket_wait_is_cut_by_stop() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(1.0, 1, clock)
    bucket.acquire()
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        bucket.acquire(stop)
    assert clock.monotonic() == 0.0


class _CountedClock(VirtualClock):
    """A virtual clock that refuses to be slept on more than ``limit`` times."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.sleeps = 0
        self.limit = limit

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        self.sleeps += 1
        if self.sleeps > self.limit:
            raise AssertionError(f"still waiting after {self.limit} sleeps of the clock")
        return super().sleep(seconds, stop)


@given(
    short=st.floats(min_value=2e-9, max_value=1e-6),
    refill_s=st.integers(min_value=1, max_value=3600),
)
def test_token_bucket_a_hair_short_of_a_token_waits_once_on_a_virtual_clock(
    short: float, refill_s: int
) -> None:
    """The four-mall benchmark hung here: a wait under half a microsecond did not move
    the virtual clock (timedelta rounds to whole microseconds), so acquire asked again
    forever. A bucket that refills a token in about ``refill_s`` seconds stands ``short``
    of one after exactly ``refill_s``: the next acquire sleeps once or twice, then has it."""
    clock = _CountedClock(limit=2)
    bucket = TokenBucket((1 - short) / refill_s, 1, clock)
    bucket.acquire()
    clock.advance(refill_s)
    bucket.acquire()
    assert clock.sleeps >= 1
    assert clock.monotonic() > refill_s


# --------------------------------------------------------------------------- retry


def test_retries_429_and_5xx_then_succeeds_with_backoff() -> None:
    answers = iter([429, 503, 500, 200])
    client = _client(lambda req: httpx.Response(next(answers)))
    clock = VirtualClock()
    response = _send(client, clock)
    assert response.status_code == 200
    assert clock.monotonic() > 0  # it backed off on the virtual clock


def test_a_raw_body_goes_with_headers_prepared_for_each_attempt() -> None:
    """Yahoo's form and XML bodies: a signature holding the time, a token refreshed."""
    seen: list[tuple[bytes, str, str]] = []

    def answer(req: httpx.Request) -> httpx.Response:
        seen.append((req.content, req.headers["X-Attempt"], req.headers["Content-Type"]))
        return httpx.Response(503 if len(seen) < 3 else 200)

    attempts = itertools.count(1)
    response = _send(
        _client(answer),
        VirtualClock(),
        content=b"<Req>1</Req>",
        headers={"Content-Type": "text/xml"},
        prepare=lambda: {"X-Attempt": str(next(attempts))},
    )

    assert response.status_code == 200
    assert seen == [(b"<Req>1</Req>", str(n), "text/xml") for n in (1, 2, 3)]


def test_secrets_that_change_are_redacted_as_they_are_at_the_error() -> None:
    tokens = ["old-token"]

    def fail(req: httpx.Request) -> httpx.Response:
        tokens[0] = "new-token"  # refreshed while the call ran
        raise httpx.ConnectError("refused for new-token")

    with pytest.raises(TransientError) as err:
        _send(_client(fail), VirtualClock(), max_tries=1, secrets=lambda: tokens)
    assert "new-token" not in str(err.value)


def test_retry_after_is_honoured() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)])
    client = _client(lambda req: next(answers))
    clock = VirtualClock()
    _send(client, clock)
    assert clock.monotonic() >= 7.0


def test_persistent_429_surfaces_as_rate_limited() -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(429, headers={"Retry-After": "1"})

    clock = VirtualClock()
    with pytest.raises(RateLimited) as info:
        _send(_client(handler), clock, max_tries=4)
    assert len(calls) == 4
    assert info.value.retry_after == 1.0


def test_total_wait_budget_stops_retrying_early() -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(503)

    clock = VirtualClock()
    with pytest.raises(TransientError):
        _send(_client(handler), clock, max_tries=10, max_total_wait=5.0)
    assert clock.monotonic() <= 5.0
    assert len(calls) < 10


@pytest.mark.parametrize(("status", "error"), [(400, MallRejected), (401, AuthError)])
def test_400_and_401_are_never_retried(status: int, error: type[MallError]) -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(status)

    with pytest.raises(error):
        _send(_client(handler), VirtualClock())
    assert len(calls) == 1


def test_timeouts_are_retried_and_translated() -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        raise httpx.ReadTimeout("timed out", request=req)

    with pytest.raises(TransientError) as info:
        _send(_client(handler), VirtualClock(), max_tries=3)
    assert len(calls) == 3
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


def test_transport_error_text_is_redacted_and_not_chained_when_it_leaks() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(
            f"cannot reach https://mall.example.com/?licenseKey={SECRET}", request=req
        )

    with pytest.raises(TransientError) as info:
        _send(_client(handler), VirtualClock(), max_tries=1)
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None


def test_stop_cuts_a_backoff() -> None:
    client = _client(lambda req: httpx.Response(503))
    clock = VirtualClock()
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopped):
        _send(client, clock, stop=stop)
    assert clock.monotonic() == 0.0


def test_backoff_is_deterministic_and_grows() -> None:
    a = [backoff_delay(n, random.Random(3), base=1.0, cap=30.0) for n in range(6)]
    b = [backoff_delay(n, random.Random(3), base=1.0, cap=30.0) for n in range(6)]
    assert a == b
    for n, delay in enumerate(a):
        step = min(30.0, 2.0**n)
        assert step / 2 <= delay <= step


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 11, 23, 0, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after("Mon, 23 Nov 2026 00:00:10 GMT", now) == 10.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


# --------------------------------------------------------------------------- secrets


def test_redact_removes_value_base64_and_urlencoded_forms() -> None:
    pair = f"SP1_secret:{SECRET}"
    token = base64.b64encode(pair.encode()).decode()
    text = f"key={SECRET} auth=ESA {token} q=SL123456_abcdefXYZ%21"
    out = redact(text, (SECRET, pair))
    assert SECRET not in out
    assert token.rstrip("=") not in out


def test_redact_ignores_tiny_secrets() -> None:
    assert redact("a b c", ("a",)) == "a b c"


def test_describe_masks_declared_secret_fields() -> None:
    described = describe_settings({"shop_id": "123", "license_key": SECRET}, ("license_key",))
    assert described["shop_id"] == "123"
    assert SECRET not in described["license_key"]
    assert described["license_key"].endswith(SECRET[-4:])
    assert mask_secret("") == "(未設定)"
    assert mask_secret("short") == "****"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_json, st.booleans())
def test_a_body_decodes_as_the_json_module_reads_it(value: object, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert json_or_none(httpx.Response(200, content=body)) == json.loads(body)


@pytest.mark.parametrize(
    "body", [b"", b"  ", b"<html>502 Bad Gateway</html>", b'{"a":', b"\xff\xfe"]
)
def test_a_body_that_is_not_json_is_none(body: bytes) -> None:
    assert json_or_none(httpx.Response(502, content=body)) is None


def test_an_answer_is_freed_by_reference_counting_alone() -> None:
    # httpx binds a response's stream to the response (a reference cycle); the worker of a
    # large shop runs the cyclic collector only every few minutes (bot.shell.heap), so
    # each getOrder or bulk-get answer would wait that long in memory.
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": "楽天"}))
    client = ChannelConfig(base_url="http://127.0.0.1:9").http_client(transport)
    assert isinstance(client, MallClient)
    gc.collect()
    gc.disable()
    try:
        response = client.get("/x")
        assert response.json() == {"ok": "楽天"}
        assert b"".join(response.iter_bytes()) == response.content  # still readable
        gone = weakref.ref(response)
        del response
        assert gone() is None
    finally:
        gc.enable()


def test_a_streamed_answer_is_left_to_be_read() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"x" * 10))
    with (
        MallClient(transport=transport) as client,
        client.stream("GET", "http://127.0.0.1:9/x") as response,
    ):
        assert response.read() == b"x" * 10


def test_a_lost_connection_is_said_with_the_channels_name() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    with pytest.raises(TransientError) as info:
        _send(_client(handler), VirtualClock(), max_tries=1, label="楽天")
    assert str(info.value) == "楽天: 通信エラー（ConnectError: refused）"


def test_known_codes_are_trusted_for_their_ttl_and_forgotten_when_a_read_misses_them() -> None:
    clock = VirtualClock()
    known = KnownCodes(clock, ttl=60.0)
    reads: list[list[str]] = []

    def read(codes: list[str]) -> None:
        reads.append(codes)
        known.saw(codes, {c for c in codes if c != "gone"})

    assert known.sort_out({"a": 1, "gone": 0}, read) == ([(1, "a")], [(0, "gone")])
    assert reads == [["a", "gone"]]
    clock.advance(59)
    assert known.sort_out({"a": 2}, read) == ([(2, "a")], [])  # trusted: not read again
    assert len(reads) == 1
    clock.advance(2)
    known.sort_out({"a": 0}, read)
    assert reads[-1] == ["a"]  # past the ttl: read again
    known.saw(["a"], set())
    assert "a" not in known


_CODES = st.lists(st.sampled_from("abcdef"), max_size=8)


@given(_CODES, _CODES, _CODES)
def test_known_codes_saw_keeps_what_a_code_at_a_time_keeps(
    before: list[str], asked: list[str], found: list[str]
) -> None:
    """saw (in C but for the codes missing) against the plain loop over both lists."""
    clock = VirtualClock()
    known = KnownCodes(clock, ttl=60.0)
    known.saw(before, set(before))
    clock.advance(1)
    want = dict(known._seen)
    for code in found:
        want[code] = clock.monotonic()
    for code in asked:
        if code not in found:
            want.pop(code, None)
    known.saw(asked, found)
    assert known._seen == want
