"""One Yahoo request with retries: :func:`adapters.base.request_with_retry` for raw bodies.

``request_with_retry`` sends JSON or query parameters only, while Yahoo's stock APIs and
the token endpoint take form bodies and the order APIs XML bodies. Its policy is kept
as is (same backoff, same split between retried and raised errors, same redaction);
two things are added that Yahoo needs: a raw ``content`` body, and ``prepare``, called
before every attempt for that attempt's headers, because the order APIs' signature
holds the current unix time and the bearer token may have been refreshed meanwhile.
``prepare`` may also refuse the attempt (the daily request cap), by raising.

A generic ``content=`` parameter on ``request_with_retry`` in ``adapters/base.py`` would
make this module unnecessary.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping, Sequence

import httpx

from adapters.base import (
    AuthError,
    Classify,
    MallError,
    MallRejected,
    RateLimited,
    Stopped,
    TokenBucket,
    TransientError,
    backoff_delay,
    redact,
)
from bot.infra.clock import Clock


def _transport_error(err: httpx.HTTPError, secrets: Sequence[str]) -> MallError:
    """An httpx error as a MallError, chained only when its own text leaks nothing."""
    message = redact(f"通信エラー（{type(err).__name__}: {err}）", secrets)
    error: MallError = (
        TransientError(message) if isinstance(err, httpx.TransportError) else MallError(message)
    )
    error.__cause__ = err if redact(str(err), secrets) == str(err) else None
    error.__suppress_context__ = True
    return error


def _attempt(
    client: httpx.Client,
    method: str,
    url: str,
    content: bytes | None,
    headers: Mapping[str, str],
    classify: Classify,
    secrets: Callable[[], Sequence[str]],
) -> httpx.Response | MallError:
    """One try: the response, or the retryable error it meant (others are raised)."""
    try:
        response = client.request(method, url, content=content, headers=headers)
    except httpx.HTTPError as err:
        error = _transport_error(err, secrets())
        if not isinstance(error, TransientError):
            raise error from error.__cause__
        return error
    classified = classify(response)
    if classified is None:
        return response
    if isinstance(classified, AuthError | MallRejected):
        raise classified
    return classified


def send_with_retry(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    content: bytes | None,
    prepare: Callable[[], Mapping[str, str]],
    classify: Classify,
    clock: Clock,
    stop: threading.Event | None,
    bucket: TokenBucket | None,
    rng: random.Random,
    secrets: Callable[[], Sequence[str]],
    max_tries: int = 5,
    max_total_wait: float = 60.0,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
) -> httpx.Response:
    """Send one request, retrying 429, 409/5xx and transport errors with backoff.

    :class:`AuthError` and :class:`MallRejected` are raised at once. ``secrets`` is a
    callable because the access token changes while the adapter runs.
    """
    waited = 0.0
    last: MallError | None = None
    for attempt in range(max_tries):
        # Headers first: preparing them may refresh the access token (a call of its
        # own), and the pacing wait must sit right before the request it paces, or
        # two calls land closer than 1 s apart at Yahoo's end.
        headers = prepare()
        if bucket is not None:
            bucket.acquire(stop)
        elif stop is not None and stop.is_set():
            raise Stopped("停止要求のため通信を中断しました")
        outcome = _attempt(client, method, url, content, headers, classify, secrets)
        if isinstance(outcome, httpx.Response):
            return outcome
        last = outcome
        if attempt + 1 >= max_tries:
            break
        delay = backoff_delay(attempt, rng, base=base_delay, cap=max_delay)
        if isinstance(outcome, RateLimited) and outcome.retry_after is not None:
            delay = max(delay, outcome.retry_after)
        if waited + delay > max_total_wait:
            break
        if not clock.sleep(delay, stop):
            raise Stopped("停止要求のため再試行を中断しました") from outcome
        waited += delay
    assert last is not None  # the loop ran at least once and did not return
    raise last
