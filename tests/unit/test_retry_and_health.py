"""The one retry policy and the one health rule set, on their own (virtual time only)."""

from __future__ import annotations

import gc
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tenacity import Retrying, stop_after_attempt
from tenacity.stop import stop_base, stop_never

from bot.core.errors import AuthError, RateLimited, Rejected, Stopped, TransientError
from bot.core.health import Change, Health, State
from bot.infra import retry as retry_module
from bot.infra.clock import JST
from bot.infra.retry import _RETRYABLE, Backoff, RetryPolicy, _StopAfterBackoff, _Wait
from bot.sandbox.clock import VirtualClock

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=JST)


def failing(errors: list[Exception], result: str = "ok") -> tuple[list[int], object]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return calls, attempt


# --------------------------------------------------------------------------- retry


def test_retries_transient_and_rate_limited_then_returns() -> None:
    clock = VirtualClock(T0)
    calls, attempt = failing([TransientError("503"), RateLimited("429", retry_after=7.0)])
    policy = RetryPolicy(Backoff(base=1, cap=8), max_tries=5, max_seconds=60)
    assert policy.run(attempt, clock=clock, stop=None) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 3
    # 1 s after the 503, then Retry-After's 7 s (longer than the 2 s step) after the 429
    assert clock.monotonic() == pytest.approx(8.0)


@pytest.mark.parametrize("error", [AuthError("401"), Rejected("400")])
def test_what_retrying_cannot_fix_is_raised_at_once(error: Exception) -> None:
    clock = VirtualClock(T0)
    calls, attempt = failing([error])
    with pytest.raises(type(error)):
        RetryPolicy(Backoff(1, 8)).run(attempt, clock=clock, stop=None)  # type: ignore[arg-type]
    assert len(calls) == 1
    assert clock.monotonic() == 0


def test_tries_run_out_with_the_last_error() -> None:
    clock = VirtualClock(T0)
    calls, attempt = failing([TransientError(f"503 #{n}") for n in range(10)])
    with pytest.raises(TransientError, match="#2"):
        RetryPolicy(Backoff(1, 8), max_tries=3, max_seconds=None).run(
            attempt,  # type: ignore[arg-type]
            clock=clock,
            stop=None,
        )
    assert len(calls) == 3


def test_the_time_budget_counts_virtual_backoff() -> None:
    clock = VirtualClock(T0)
    calls, attempt = failing([TransientError("503")] * 20)
    with pytest.raises(TransientError):
        RetryPolicy(Backoff(2, 32), max_tries=None, max_seconds=20).run(
            attempt,  # type: ignore[arg-type]
            clock=clock,
            stop=None,
        )
    assert clock.monotonic() <= 20  # 2 + 4 + 8 waited; the next 16 would pass 20
    assert len(calls) == 4


def test_a_set_stop_event_ends_the_wait_with_stopped() -> None:
    clock = VirtualClock(T0)
    stop = threading.Event()
    stop.set()
    calls, attempt = failing([TransientError("503")])
    with pytest.raises(Stopped) as info:
        RetryPolicy(Backoff(1, 8)).run(attempt, clock=clock, stop=stop)  # type: ignore[arg-type]
    assert isinstance(info.value.__cause__, TransientError)
    assert len(calls) == 1


def test_max_wait_caps_a_long_retry_after() -> None:
    clock = VirtualClock(T0)
    _, attempt = failing([RateLimited("429", retry_after=3600)])
    RetryPolicy(Backoff(1, 8), max_wait=30).run(attempt, clock=clock, stop=None)  # type: ignore[arg-type]
    assert clock.monotonic() == 30


@given(st.integers(0, 20), st.integers(0, 2**32 - 1))
def test_backoff_stays_within_its_bounds(retry: int, seed: int) -> None:
    backoff = Backoff(base=2, cap=32, jitter=0.125)
    step = min(32, 2 * 2**retry)
    assert step <= backoff.delay(retry, random.Random(seed)) <= step * 1.125
    equal = Backoff.equal_jitter(base=2, cap=32)
    half = min(16, 1 * 2**retry)
    assert half <= equal.delay(retry, random.Random(seed)) <= 2 * half


# --------------------------------------------------------------------------- health


def test_a_break_and_a_recovery_are_each_said_once() -> None:
    health = Health()
    assert health.failed(TransientError("timeout"), T0) is Change.BROKE
    assert health.failed(TransientError("timeout"), T0 + timedelta(seconds=15)) is None
    assert health.state is State.DOWN
    assert health.succeeded(T0 + timedelta(seconds=30)) is Change.RECOVERED
    assert health.succeeded(T0 + timedelta(seconds=45)) is None
    assert health.state is State.OK


def test_refused_credentials_park_until_probed_and_outrank_a_timeout() -> None:
    health = Health(park_retry=timedelta(minutes=10))
    assert health.failed(AuthError("401"), T0) is Change.PARKED
    assert health.failed(TransientError("timeout"), T0 + timedelta(minutes=1)) is None
    assert health.state is State.PARKED
    assert not health.probe_due(T0 + timedelta(minutes=9))
    assert health.probe_due(T0 + timedelta(minutes=10))
    assert not health.probe_due(T0 + timedelta(minutes=11))  # the next probe is booked
    assert health.failed(AuthError("401"), T0 + timedelta(minutes=10)) is None  # said once
    assert health.succeeded(T0 + timedelta(minutes=20)) is Change.RECOVERED


def test_a_stop_is_nobodys_failure() -> None:
    health = Health()
    assert health.failed(Stopped("SIGTERM"), T0) is None
    assert health.state is State.OK


def test_a_run_leaves_its_retrying_to_reference_counting() -> None:
    # The worker of a large shop runs the cyclic collector only every few minutes
    # (bot.shell.heap): what a call leaves in reference cycles waits that long.
    gc.collect()
    gc.disable()
    try:
        RetryPolicy(Backoff(1, 8)).run(lambda: "answer", clock=VirtualClock(T0), stop=None)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        assert not [o for o in gc.garbage if isinstance(o, Retrying)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def plain_run(
    policy: RetryPolicy, attempt: Callable[[], str], clock: VirtualClock, rng: random.Random
) -> str:
    """The reference: every call made in tenacity from its first attempt on."""
    last: list[BaseException] = []

    def sleep(seconds: float) -> None:
        if not clock.sleep(seconds, None):
            raise Stopped("stop") from (last[0] if last else None)

    limits: stop_base = (
        stop_never if policy.max_tries is None else stop_after_attempt(policy.max_tries)
    )
    if policy.max_seconds is not None:
        limits = limits | _StopAfterBackoff(policy.max_seconds)
    return Retrying(
        retry=_RETRYABLE,
        wait=_Wait(policy.backoff, rng, policy.max_wait),
        stop=limits,
        sleep=sleep,
        reraise=True,
    )(attempt)


ERRORS = st.lists(
    st.one_of(
        st.builds(TransientError, st.just("503")),
        st.builds(RateLimited, st.just("429"), retry_after=st.one_of(st.none(), st.floats(0, 90))),
        st.builds(Rejected, st.just("400")),
    ),
    max_size=6,
)


@given(ERRORS, st.integers(1, 6), st.one_of(st.none(), st.floats(1, 120)), st.integers(0, 99))
def test_a_run_does_what_tenacity_does_from_the_first_attempt(
    errors: list[Exception], tries: int, budget: float | None, seed: int
) -> None:
    """The first attempt is made outside tenacity: outcome, calls and waits are the same."""
    policy = RetryPolicy(Backoff.equal_jitter(1, 30), max_tries=tries, max_seconds=budget)
    outcomes = []
    for run in (
        lambda a, c: policy.run(a, clock=c, stop=None, rng=random.Random(seed)),
        lambda a, c: plain_run(policy, a, c, random.Random(seed)),
    ):
        clock = VirtualClock(T0)
        calls, attempt = failing(list(errors))
        try:
            outcome: object = run(attempt, clock)
        except (TransientError, RateLimited, Rejected) as err:
            outcome = err
        outcomes.append((outcome, len(calls), clock.monotonic()))
    assert outcomes[0] == outcomes[1]


def test_a_call_that_works_at_once_builds_no_tenacity(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual call (a success) never reaches tenacity's per-call machinery."""

    def refuse(*args: object, **kwargs: object) -> Retrying:
        raise AssertionError("Retrying built for a call that worked at once")

    monkeypatch.setattr(retry_module, "Retrying", refuse)
    result = RetryPolicy(Backoff(1, 8)).run(lambda: "answer", clock=VirtualClock(T0), stop=None)
    assert result == "answer"
