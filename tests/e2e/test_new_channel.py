"""A channel registered only inside this test is picked up everywhere, with no other file touched.

Issue: "adding a channel is its adapter module, its simulator module, one registry line,
its tests, its README row". The toy channel (tests/channels/toy.py) is registered here
alone; its settings section, its ``check`` line, its 商品マスタ code column and 設定
rows, and a cycle that syncs it all come from its declaration through the production
wiring (``bootstrap.build``).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from adapters import ADAPTERS
from bot.bootstrap import World, build
from bot.core.domain import AlertKind
from bot.infra.clock import JST
from bot.infra.settings import load_settings
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.wiring import sandbox_settings
from bot.shell.check import check_lines
from tests.channels.toy import TOY, ToyAdapter, ToySimulator

START = datetime(2026, 11, 23, 9, 0, tzinfo=JST)
TOKEN = "toy-secret-token-0123"


@pytest.fixture
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one registry line, for this test only."""
    monkeypatch.setitem(ADAPTERS, TOY.key, ToyAdapter)


@pytest.mark.usefixtures("toy_registered")
def test_settings_section_and_secret_from_the_declaration() -> None:
    settings = load_settings(env={"ZAIKO_MALLS__TOY__ENABLED": "true", "ZAIKO_TOY_TOKEN": TOKEN})
    assert settings.enabled_malls() == ["toy"]
    assert settings.mall("toy").base_url == "https://api.toy.example.com"
    assert settings.describe()["malls"]["toy"]["token"] == "****"
    assert TOKEN not in repr(settings)

    missing = load_settings(env={"ZAIKO_MALLS__TOY__ENABLED": "true"}).problems_for_run()
    assert "ZAIKO_TOY_TOKEN: トイショップが有効ですが、APIトークンが未設定です" in missing


@pytest.mark.usefixtures("toy_registered")
def test_check_sheet_and_cycle_pick_the_channel_up() -> None:
    clock = VirtualClock(START)
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("toy shop", sheets=("Sheet1",))
    sim = ToySimulator(clock=clock, token=TOKEN)
    sim.add_listing("T-001", 0)
    alerts = MemoryAlerts()
    settings = sandbox_settings(sheet_id=sid, malls={"toy": sim.config()})
    world = World(
        transports={"toy": sim.transport},
        sheets_session=emu.session(),
        clock=clock,
        alerts=alerts,
        parallel=False,
    )
    app = build(settings, world)

    # check: the channel's own line, in its declared name
    lines = check_lines(settings, app)
    assert any(line.ok and "トイショップ: 接続OK" in line.text for line in lines)

    # the sheet: its code column and 設定 rows, and no channel that is not enabled
    app.init_sheet()
    header = emu.get_values(sid, "商品マスタ")[0]
    assert "トイコード" in header
    assert not [
        h
        for h in header
        if isinstance(h, str)
        and h.endswith("コード")
        and h
        not in (
            "商品コード",
            "トイコード",
        )
    ]
    items = [row[0] for row in emu.get_values(sid, "設定")[1:] if row]
    assert {"トイ 注文取込み", "トイ 在庫更新", "トイ 表示在庫設定"} <= set(items)
    assert not [i for i in items if isinstance(i, str) and i.startswith("楽天")]

    # a product sold on the toy channel syncs in a cycle
    row = [""] * len(header)
    for name, value in {
        "商品コード": "TOY-1",
        "商品名": "ブリキのロボット",
        "在庫数": 5,
        "連動停止": False,
        "トイコード": "t-001",
    }.items():
        row[header.index(name)] = value
    emu.set_values(sid, "商品マスタ", "A2", [row])
    worker = app.worker
    worker.start()
    worker.cycle()
    assert sim.stock["T-001"] == 5

    clock.advance(60)
    order = sim.place_order([("T-001", 2)])
    assert order is not None
    clock.advance(15)
    worker.cycle()
    stock = emu.get_values(sid, "商品マスタ")[1][header.index("在庫数")]
    assert stock == 3
    sales = emu.get_values(sid, "販売ログ")
    assert any(r[1] == "トイ" and order in r for r in sales[1:])

    # refused credentials: the alert carries the channel's declared hint
    sim.expire_credentials()
    clock.advance(15)
    worker.cycle()
    auth = [a for a in alerts.alerts if a.kind is AlertKind.AUTH_FAILED]
    assert auth and TOY.auth_hint in auth[0].text
