"""The sandbox's state file: the emulator's book and every simulator, pickled whole.

The doubles are pickled as they are (no second description of their state to keep in
step with them); the few objects pickle cannot take are rebuilt on load: locks come back
new and unlocked, an httpx ``MockTransport`` around the same handler, RSA keys from
their PEM, and the clock — every double holds the sandbox's clock — is a reference to
the clock of the process that loads the file (:func:`loads`), so a state saved on the
follow clock may be loaded on the wall clock and back (both count from one epoch).

Written atomically: a temporary file beside the target, flushed to disk, then
``os.replace`` — a sandbox killed while saving leaves the previous file whole. The
file is pickle: load only a file this sandbox wrote.
"""

from __future__ import annotations

import copyreg
import io
import itertools
import os
import pickle
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.sandbox.server.clock import FollowClock, SandboxClock, WallClock
from bot.sandbox.simulators.shopify import ShopifySimulator

FORMAT = 1
"""Bumped when what the file holds changes shape."""
LEFT_OUT: dict[type, tuple[str, ...]] = {ShopifySimulator: ("_idempotent",)}
"""Attributes not kept: Shopify's idempotency cache holds the answers' lazy fields
(closures). After a restart a mutation retried under an earlier key runs again, and
its compare-and-set says whether it still applies."""

_LOADING: ContextVar[SandboxClock | None] = ContextVar("sandbox_loading_clock", default=None)


def _current_clock() -> SandboxClock:
    clock = _LOADING.get()
    if clock is None:
        raise pickle.UnpicklingError("a sandbox state is loaded through state.loads()")
    return clock


def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _reduce_private(key: rsa.RSAPrivateKey) -> tuple[Callable[..., Any], tuple[bytes]]:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _private_key, (pem,)


def _reduce_public(key: rsa.RSAPublicKey) -> tuple[Callable[..., Any], tuple[bytes]]:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _public_key, (pem,)


_COUNT = re.compile(r"count\((-?\d+)(?:, (-?\d+))?\)")


def _reduce_count(counter: itertools.count[int]) -> tuple[Callable[..., Any], tuple[int, int]]:
    """itertools.count by its repr (its own pickling is deprecated from Python 3.12)."""
    match = _COUNT.fullmatch(repr(counter))
    if match is None:
        raise pickle.PicklingError(f"cannot pickle {counter!r}")
    return itertools.count, (int(match.group(1)), int(match.group(2) or 1))


def _reduce_without(obj: Any) -> Any:
    """The object's usual reduction, minus the attributes :data:`LEFT_OUT` names."""
    reduced = list(obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL))
    state = dict(reduced[2] or {})
    for name in LEFT_OUT[type(obj)]:
        state[name] = type(state.get(name, {}))()
    reduced[2] = state
    return tuple(reduced)


def _dispatch_table() -> dict[type, Callable[[Any], Any]]:
    sample = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    table: dict[type, Callable[[Any], Any]] = dict(copyreg.dispatch_table)
    table[type(threading.Lock())] = lambda _: (threading.Lock, ())
    table[type(threading.RLock())] = lambda _: (threading.RLock, ())
    table[httpx.MockTransport] = lambda t: (httpx.MockTransport, (t.handler,))
    table[type(sample)] = _reduce_private
    table[type(sample.public_key())] = _reduce_public
    table[itertools.count] = _reduce_count
    for left_out in LEFT_OUT:
        table[left_out] = _reduce_without
    for clock_type in (WallClock, FollowClock):
        table[clock_type] = lambda _: (_current_clock, ())
    return table


_TABLE: dict[type, Callable[[Any], Any]] | None = None


def dumps(state: dict[str, Any]) -> bytes:
    """The state as bytes (call it under the world's lock: doubles change in place)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _dispatch_table()
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _TABLE
    pickler.dump({"format": FORMAT, **state})
    return buffer.getvalue()


def loads(data: bytes, clock: SandboxClock) -> dict[str, Any]:
    """A state written by :func:`dumps`, its doubles on ``clock``."""
    with _loading(clock):
        state = pickle.loads(data)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError("not a state file of this sandbox version")
    return state


@contextmanager
def _loading(clock: SandboxClock) -> Iterator[None]:
    token = _LOADING.set(clock)
    try:
        yield
    finally:
        _LOADING.reset(token)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
