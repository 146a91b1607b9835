"""No test reaches the network: every socket may connect to loopback only.

Channels are simulators mounted as httpx transports, the sheet is an emulator mounted
as a requests adapter, and Slack is a fake server on 127.0.0.1 (tests/fake_slack.py).
Recorded responses under tests/fixtures/ name loopback addresses where they named the
hosts they were recorded from (tests/fixtures/yahoo/README.md); they are replayed
through parsers and simulators, never requested. This guard makes that a property of the suite instead of a promise: a connection to
any other address fails the test. Only tests marked ``live`` (deselected by default,
run by hand with real credentials) may leave the machine.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


class NetworkDenied(AssertionError):
    """A test tried to reach an address that is not loopback."""


def _allowed(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: resolving it is already leaving the machine


def _guarded(original: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if not _allowed(address):
            raise NetworkDenied(f"tests never reach the network (tried {address!r})")
        return original(self, address)

    return connect


@pytest.fixture(autouse=True)
def _loopback_only(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    if request.node.get_closest_marker("live") is None:
        monkeypatch.setattr(socket.socket, "connect", _guarded(_connect))
        monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_connect_ex))
    yield
