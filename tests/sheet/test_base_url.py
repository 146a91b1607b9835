"""``google_sheets_base_url``: the production client sends every Sheets call to that host."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.infra.sheet.client import SHEETS_ORIGIN, make_client
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import DenyAllAdapter, NetworkDenied, SheetsEmulator


def _session(emu: SheetsEmulator, prefix: str) -> requests.Session:
    """A session that reaches the emulator only under ``prefix`` (never Google's host)."""
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", DenyAllAdapter())
    session.mount("http://", DenyAllAdapter())
    session.mount(prefix, emu)
    return session


def test_calls_go_to_the_configured_host_instead_of_googles() -> None:
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("base url", sheets=("商品マスタ",))
    emu.set_values(sid, "商品マスタ", "A1", [["商品コード"], ["TS-1"]])
    client = make_client(
        session=_session(emu, "http://127.0.0.1:9/"),
        clock=VirtualClock(),
        stop=threading.Event(),
        base_url="http://127.0.0.1:9/",
    )

    values = client.open_by_key(sid).worksheet("商品マスタ").get_values()

    assert values == [["商品コード"], ["TS-1"]]
    assert [r.op for r in emu.requests][:2] == ["spreadsheets.get", "spreadsheets.get"]


def test_the_default_is_googles_host() -> None:
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("default", sheets=("Sheet1",))
    session = _session(emu, "http://127.0.0.1:9/")
    client = make_client(session=session, clock=VirtualClock(), stop=threading.Event())

    with pytest.raises(NetworkDenied, match=SHEETS_ORIGIN):
        client.open_by_key(sid)


def test_the_setting_comes_from_the_environment_and_must_be_a_url() -> None:
    from bot.bootstrap import World, build_sheets_client
    from bot.infra.settings import SettingsError, load_settings

    emu = SheetsEmulator()
    example = Path(__file__).resolve().parents[2] / "config" / "zaiko.example.toml"
    settings = load_settings(
        env={"ZAIKO_GOOGLE_SHEETS_BASE_URL": "http://127.0.0.1:8765/sheets/"}, config_path=example
    )
    client = build_sheets_client(settings, World(sheets_session=emu.session()))

    assert settings.google_sheets_base_url == "http://127.0.0.1:8765/sheets"
    assert client.http_client.base_url == "http://127.0.0.1:8765/sheets"  # type: ignore[attr-defined]
    assert load_settings(env={}, config_path=example).google_sheets_base_url == SHEETS_ORIGIN
    with pytest.raises(SettingsError, match="ZAIKO_GOOGLE_SHEETS_BASE_URL"):
        load_settings(
            env={"ZAIKO_GOOGLE_SHEETS_BASE_URL": "sheets.example.com"}, config_path=example
        )


def test_request_bodies_go_as_utf8_json() -> None:
    sent: list[requests.PreparedRequest] = []

    class Spy(SheetsEmulator):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(request)
            return super().send(request, *args, **kwargs)

    emu = Spy()
    sid = emu.create_spreadsheet("utf-8", sheets=("商品マスタ",))
    client = make_client(
        session=_session(emu, "http://127.0.0.1:9/"),
        clock=VirtualClock(),
        stop=threading.Event(),
        base_url="http://127.0.0.1:9/",
    )
    ws = client.open_by_key(sid).worksheet("商品マスタ")

    ws.update([["石けん（詰め替え）"]], "A2")

    put = next(r for r in sent if r.method == "PUT")
    assert put.headers["Content-Type"] == "application/json"
    assert isinstance(put.body, bytes) and "石けん（詰め替え）".encode() in put.body
    assert ws.get_values("A2") == [["石けん（詰め替え）"]]
