"""`python -m bot auth yahoo`: the token lands in _state encrypted and a running worker adopts it."""

from __future__ import annotations

from datetime import datetime

import httpx

from bot.bootstrap import App, World, build
from bot.core.domain import AlertKind
from bot.infra.clock import JST
from bot.infra.secretbox import SecretBox
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.simulators.yahoo import YahooSimulator
from bot.sandbox.wiring import sandbox_settings
from bot.shell.auth import authorize

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)


def _app(sim: YahooSimulator, emu: SheetsEmulator, sid: str, clock: VirtualClock, key: str) -> App:
    config = sim.config()
    del config["refresh_token"]  # the shop has never logged in
    settings = sandbox_settings(sheet_id=sid, secret_key=key, malls={"yahoo": config})
    world = World(
        transports={"yahoo": sim.transport},
        sheets_session=emu.session(),
        clock=clock,
        alerts=MemoryAlerts(),
        parallel=False,
    )
    return build(settings, world)


def test_login_while_the_worker_runs_reaches_it_without_a_restart() -> None:
    clock = VirtualClock(START)
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("yahoo shop", sheets=("Sheet1",))
    sim = YahooSimulator(clock=clock)
    key = SecretBox.generate_key()
    running = _app(sim, emu, sid, clock, key)
    running.init_sheet()
    worker = running.worker
    worker.start()
    worker.cycle()
    alerts = running.alerts
    assert isinstance(alerts, MemoryAlerts)
    assert [a.mall for a in alerts.alerts if a.kind is AlertKind.AUTH_FAILED] == ["yahoo"]

    # The owner runs `python -m bot auth yahoo` from another process.
    said: list[str] = []

    def paste_redirect(prompt: str) -> str:
        url = said[-1].splitlines()[-1]
        consent = httpx.Client(transport=sim.transport).get(url)
        assert consent.status_code == 302
        return str(consent.headers["Location"])

    assert authorize(_app(sim, emu, sid, clock, key), "yahoo", paste_redirect, said.append) == 0
    assert "Yahoo!ショッピングを認可しました" in said[-1]
    state = {row[0]: row[1] for row in emu.get_values(sid, "_state")[1:] if len(row) > 1}
    cipher = state["token:yahoo:refresh_token"]
    assert cipher and cipher not in sim.refresh_tokens_issued()
    assert SecretBox(key).decrypt(cipher) in sim.refresh_tokens_issued()

    # The running worker adopts the new token with its next read and tries it at once
    # (not after the 10-minute park interval): recovered within two cycles.
    for _ in range(2):
        clock.advance(15)
        worker.cycle()
    assert [a.mall for a in alerts.alerts if a.kind is AlertKind.MALL_RECOVERED] == ["yahoo"]
    state = {row[0]: row[1] for row in emu.get_values(sid, "_state")[1:] if len(row) > 1}
    assert state["token:yahoo:refresh_token"] == cipher  # kept, not overwritten by the worker


def test_a_channel_without_a_login_says_so() -> None:
    clock = VirtualClock(START)
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("shop", sheets=("Sheet1",))
    sim = YahooSimulator(clock=clock)
    app = _app(sim, emu, sid, clock, SecretBox.generate_key())
    said: list[str] = []
    assert authorize(app, "rakuten", lambda _: "", said.append) == 2
    assert "認可の手続きがいらない" in said[-1]
