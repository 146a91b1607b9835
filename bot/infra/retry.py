"""The one retry policy: malls, the sheet and Slack back off by one formula and one stop.

Built on tenacity. What is retried is decided by the error tree (:mod:`bot.core.errors`):
:class:`~bot.core.errors.RateLimited` and :class:`~bot.core.errors.TransientError`,
nothing else. The wait before retry ``n`` (0-based) is::

    step  = min(cap, base · 2ⁿ)
    delay = step + uniform(0, jitter · step)      at least the server's Retry-After

Each caller keeps its own limits: mall adapters use "equal jitter" (:meth:`Backoff.equal_jitter`,
half the step fixed, half random) within 5 tries and 60 s; the sheet 2 s doubling with
up to 1/8 more, within 5 tries and 90 s; Slack doubles without jitter (one client per
channel) and retries until delivered or stopped.

Two things tenacity offers are replaced on purpose. Its random waits
(``wait_random_exponential``, ``wait_exponential_jitter``) draw from the global
``random`` module, so the wait here takes an injected ``rng`` (tests seed it). And
``stop_after_delay`` reads the real monotonic clock, which a virtual clock never
moves, so the time budget counts the backoff actually waited (``idle_for``). Every
wait goes through ``clock.sleep`` on the stop event: SIGTERM cuts a backoff at once
(raising :class:`~bot.core.errors.Stopped`), and a virtual clock advances instead of
sleeping.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base, stop_never
from tenacity.wait import wait_base

from bot.core.errors import RateLimited, Stopped, TransientError, ZaikoError
from bot.infra.clock import Clock

T = TypeVar("T")

RETRYABLE: tuple[type[ZaikoError], ...] = (RateLimited, TransientError)
"""The branches of the error tree worth another try."""

OnRetry = Callable[[ZaikoError, int, float], None]
"""Called before each backoff with (the error, tries so far, seconds about to wait)."""

_RETRYABLE = retry_if_exception_type(RETRYABLE)
"""Whether an attempt's error is retried: one for every call. It holds nothing per call,
and tenacity's predicate object refers to itself (``predicate`` is its own bound
``_check``): one built per call would be cyclic garbage a call, which the worker's
collector frees only a few times an hour (:mod:`bot.shell.heap`)."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with proportional jitter (the formula in the module doc)."""

    base: float
    cap: float
    jitter: float = 0.0
    """Up to this fraction of the step is added at random (0: no randomness)."""

    @classmethod
    def equal_jitter(cls, base: float, cap: float) -> Backoff:
        """Half of ``min(cap, base · 2ⁿ)`` fixed, half random: parallel callers spread out."""
        return cls(base=base / 2.0, cap=cap / 2.0, jitter=1.0)

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        step = float(min(self.cap, self.base * 2.0**retry))
        if self.jitter <= 0:
            return step
        return step + (rng or random.Random()).uniform(0.0, step * self.jitter)


class _Wait(wait_base):
    """The backoff, at least the server's Retry-After, at most ``max_wait``."""

    def __init__(self, backoff: Backoff, rng: random.Random | None, max_wait: float | None):
        self.backoff = backoff
        self.rng = rng
        self.max_wait = max_wait

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = self.backoff.delay(retry_state.attempt_number - 1, self.rng)
        error = _error(retry_state)
        if isinstance(error, RateLimited) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay if self.max_wait is None else min(delay, self.max_wait)


class _StopAfterBackoff(stop_base):
    """Give up when the next wait would take the backoff waited past ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.idle_for + retry_state.upcoming_sleep > self.seconds


def _error(retry_state: RetryCallState) -> BaseException | None:
    outcome = retry_state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None


@dataclass(frozen=True)
class RetryPolicy:
    """How one caller retries: its backoff and its limits."""

    backoff: Backoff
    max_tries: int | None = 5
    """Attempts in all, the first included (None: until it works or the stop event)."""
    max_seconds: float | None = 60.0
    """Backoff waited in all before giving up (None: no budget)."""
    max_wait: float | None = None
    """Longest single wait, whatever Retry-After asks."""

    def run(
        self,
        attempt: Callable[[], T],
        *,
        clock: Clock,
        stop: threading.Event | None,
        rng: random.Random | None = None,
        on_retry: OnRetry | None = None,
    ) -> T:
        """Call ``attempt`` until it returns, retrying the retryable branches.

        When the tries or the budget run out the last error is raised as it was; any
        other error is raised at once. :class:`Stopped` is raised when the stop event
        cuts a wait short (chained to the error that caused the wait).
        """
        # The usual call succeeds at once: made without tenacity's per-call machinery
        # (its Retrying, call state and futures cost more than many a call itself). A
        # retryable first error goes on in tenacity as that first attempt's outcome,
        # so the waits, limits and callbacks are those of a call made there throughout.
        try:
            return attempt()
        except RETRYABLE as err:
            first: list[BaseException] = [err]

        def again() -> T:
            if first:
                raise first.pop()
            return attempt()

        last: list[BaseException] = []

        def before_sleep(retry_state: RetryCallState) -> None:
            error = _error(retry_state)
            assert isinstance(error, ZaikoError)  # only retryable errors reach a wait
            last[:] = [error]
            if on_retry is not None:
                on_retry(error, retry_state.attempt_number, retry_state.upcoming_sleep)

        def sleep(seconds: float) -> None:
            if not clock.sleep(seconds, stop):
                raise Stopped("stop requested while waiting to retry") from (
                    last[0] if last else None
                )

        limits: stop_base = (
            stop_never if self.max_tries is None else stop_after_attempt(self.max_tries)
        )
        if self.max_seconds is not None:
            limits = limits | _StopAfterBackoff(self.max_seconds)
        retrying = Retrying(
            retry=_RETRYABLE,
            wait=_Wait(self.backoff, rng, self.max_wait),
            stop=limits,
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(again)
        finally:
            # tenacity keeps the last attempt's actions (bound methods of ``retrying``)
            # in its per-thread state: a reference cycle only the cyclic collector would
            # free, which a large shop's worker runs a few times an hour (bot.shell.heap).
            retrying.iter_state.reset()


__all__ = ["RETRYABLE", "Backoff", "OnRetry", "RetryPolicy"]
