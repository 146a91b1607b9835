"""The suite's network guard (tests/conftest.py) refuses anything but loopback."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import NetworkDenied


@pytest.mark.parametrize("address", [("93.184.216.34", 443), ("auth.login.yahoo.co.jp", 443)])
def test_a_connection_off_the_machine_fails_the_test(address: tuple[str, int]) -> None:
    with socket.socket() as sock, pytest.raises(NetworkDenied):
        sock.connect(address)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
