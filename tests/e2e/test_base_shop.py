"""A small BASE shop through the production wiring (``bootstrap.build``).

Orders and cancels reach 販売ログ and 在庫数, stock is pushed to BASE, the rotated
refresh token is kept encrypted in ``_state``, and ``python -m bot auth base`` while the
worker runs brings a channel without a login back without a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from bot.bootstrap import App, World, build
from bot.core.domain import AlertKind
from bot.infra.clock import JST
from bot.infra.secretbox import SecretBox
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.simulators.base import BaseSimulator
from bot.sandbox.wiring import sandbox_settings
from bot.shell.auth import authorize

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)


def _app(
    sim: BaseSimulator, emu: SheetsEmulator, sid: str, clock: VirtualClock, key: str, **config: Any
) -> App:
    table = {**sim.config(), **config}
    table = {k: v for k, v in table.items() if v is not None}
    settings = sandbox_settings(sheet_id=sid, secret_key=key, malls={"base": table})
    world = World(
        transports={"base": sim.transport},
        sheets_session=emu.session(),
        clock=clock,
        alerts=MemoryAlerts(),
        parallel=False,
    )
    return build(settings, world)


def _fill(emu: SheetsEmulator, sid: str, rows: list[dict[str, Any]]) -> list[Any]:
    header = emu.get_values(sid, "商品マスタ")[0]
    values = []
    for fields in rows:
        row: list[Any] = [""] * len(header)
        for name, value in fields.items():
            row[header.index(name)] = value
        values.append(row)
    emu.set_values(sid, "商品マスタ", "A2", values)
    return list(header)


def _stock(emu: SheetsEmulator, sid: str, header: list[Any]) -> dict[str, Any]:
    rows = emu.get_values(sid, "商品マスタ")[1:]
    return {r[0]: r[header.index("在庫数")] for r in rows if r and r[0]}


def _state(emu: SheetsEmulator, sid: str) -> dict[str, str]:
    return {row[0]: row[1] for row in emu.get_values(sid, "_state")[1:] if len(row) > 1}


def _shop() -> tuple[BaseSimulator, SheetsEmulator, str, VirtualClock, str, App, list[Any]]:
    """A shop selling a T-shirt (an item) and a hoodie in M (a variation) on BASE."""
    clock = VirtualClock(START)
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("base shop", sheets=("Sheet1",))
    sim = BaseSimulator(clock=clock)
    sim.add_listing("100", 0)
    sim.add_listing("200:201", 0)
    sim.add_listing("200:202", 0)
    key = SecretBox.generate_key()
    app = _app(sim, emu, sid, clock, key)
    app.init_sheet()
    header = _fill(
        emu,
        sid,
        [
            {
                "商品コード": "TEE",
                "商品名": "Tシャツ",
                "在庫数": 5,
                "連動停止": False,
                "BASEコード": "100",
            },
            {
                "商品コード": "HOODIE-M",
                "商品名": "パーカー M",
                "在庫数": 8,
                "連動停止": False,
                "BASEコード": "200:201",
            },
        ],
    )
    return sim, emu, sid, clock, key, app, header


def test_orders_and_cancels_reach_the_sheet_and_stock_reaches_base() -> None:
    sim, emu, sid, clock, key, app, header = _shop()
    tee, hoodie = "100", "200:201"
    worker = app.worker
    worker.start()
    worker.cycle()
    assert (sim.stock(tee), sim.stock(hoodie)) == (5, 8)  # the start-up push

    clock.advance(30)
    first = sim.place_order([(tee, 2), (hoodie, 1)])
    second = sim.place_order([(hoodie, 3)])
    clock.advance(15)
    worker.cycle()
    assert _stock(emu, sid, header) == {"TEE": 3, "HOODIE-M": 4}
    sales = emu.get_values(sid, "販売ログ")[1:]
    assert {(r[1], r[2]) for r in sales} == {("BASE", first), ("BASE", second)}

    # A cancel while the order is still inside the fetch window.
    clock.advance(15)
    sim.cancel_order(second or "")
    clock.advance(15)
    worker.cycle()
    assert _stock(emu, sid, header) == {"TEE": 3, "HOODIE-M": 7}

    # A cancel of an older order, found by the paced rescan of the cancel window.
    clock.advance(3600)
    worker.cycle()
    sim.cancel_order(first or "")
    for _ in range(25):  # up to the 300 s rescan interval
        clock.advance(15)
        worker.cycle()
    assert _stock(emu, sid, header) == {"TEE": 5, "HOODIE-M": 8}
    kinds = [r[4] for r in emu.get_values(sid, "販売ログ")[1:]]
    assert kinds.count("キャンセル") == 3

    # A stocktake on the sheet reaches BASE.
    emu.set_values(sid, "商品マスタ", f"C{2}", [[12]])
    clock.advance(15)
    worker.cycle()
    assert sim.stock(tee) == 12

    assert sim.rejections() == []
    cipher = _state(emu, sid)["token:base:refresh_token"]
    assert SecretBox(key).decrypt(cipher) in sim.refresh_tokens_issued()
    assert cipher not in sim.refresh_tokens_issued()


def test_login_while_the_worker_runs_reaches_it_without_a_restart() -> None:
    clock = VirtualClock(START)
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("base shop", sheets=("Sheet1",))
    sim = BaseSimulator(clock=clock)
    key = SecretBox.generate_key()
    running = _app(sim, emu, sid, clock, key, refresh_token=None)  # never logged in
    running.init_sheet()
    worker = running.worker
    worker.start()
    worker.cycle()
    alerts = running.alerts
    assert isinstance(alerts, MemoryAlerts)
    [failed] = [a for a in alerts.alerts if a.kind is AlertKind.AUTH_FAILED]
    assert failed.mall == "base"
    assert "python -m bot auth base" in failed.text

    said: list[str] = []

    def paste_redirect(prompt: str) -> str:
        url = said[-1].splitlines()[-1]
        consent = httpx.Client(transport=sim.transport).get(url)
        assert consent.status_code == 302
        return str(consent.headers["Location"])

    other = _app(sim, emu, sid, clock, key, refresh_token=None)
    assert authorize(other, "base", paste_redirect, said.append) == 0
    assert "BASE" in said[-1]
    cipher = _state(emu, sid)["token:base:refresh_token"]
    assert SecretBox(key).decrypt(cipher) in sim.refresh_tokens_issued()

    for _ in range(2):
        clock.advance(15)
        worker.cycle()
    assert [a.mall for a in alerts.alerts if a.kind is AlertKind.MALL_RECOVERED] == ["base"]
