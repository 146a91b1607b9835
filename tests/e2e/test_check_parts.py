"""`check` tests each part on its own (sheet, channels, Slack); init-sheet needs no channel.

Through ``bot.cli.main`` with a sandbox World: the sheet emulator, and Slack's real
WebClient against tests/fake_slack.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import requests

from bot import cli
from bot.bootstrap import World
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.clock import VirtualClock
from bot.sandbox.sheets import SheetsEmulator
from bot.sandbox.wiring import SANDBOX_SERVICE_ACCOUNT
from tests.e2e.conftest import KEY, SECRET, START, fresh_sheet, make_shop
from tests.fake_slack import FakeSlack

TOKEN = "xoxb-check-0000"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("ZAIKO_", "GOOGLE_APPLICATION", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON", SANDBOX_SERVICE_ACCOUNT)
    return monkeypatch


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, channels={"#zaiko"}) as fake:
        yield fake


def _world(emu: SheetsEmulator, **kw: object) -> World:
    session = requests.Session()
    session.trust_env = False
    emu.mount(session)
    return World(
        sheets_session=session,
        clock=VirtualClock(START),
        alerts=MemoryAlerts(),
        parallel=False,
        **kw,  # type: ignore[arg-type]
    )


def _rakuten(env: pytest.MonkeyPatch) -> None:
    env.setenv("ZAIKO_MALLS__RAKUTEN__ENABLED", "true")
    env.setenv("ZAIKO_RAKUTEN_SERVICE_SECRET", SECRET)
    env.setenv("ZAIKO_RAKUTEN_LICENSE_KEY", KEY)


def test_the_sheet_is_checked_with_no_channel_configured(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu, sid = fresh_sheet()
    env.setenv("ZAIKO_SHEET_ID", sid)
    assert cli.main(["check"], world=_world(emu)) == 1  # no channel: not ready to run
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("NG 設定") and "ZAIKO_MALLS__" in out[0]
    assert any(line.startswith("OK シート") for line in out)
    assert any(line.startswith("-- Slack: 未設定") for line in out)


def test_slack_token_and_channel_are_checked_with_a_test_post(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], slack: FakeSlack
) -> None:
    shop = make_shop()
    env.setenv("ZAIKO_SHEET_ID", shop.sid)
    _rakuten(env)
    env.setenv("ZAIKO_SLACK_BOT_TOKEN", TOKEN)
    env.setenv("ZAIKO_SLACK_CHANNEL", "#zaiko")
    world = _world(
        shop.emu, transports={"rakuten": shop.sim.transport}, slack_base_url=slack.base_url
    )
    assert cli.main(["check"], world=world) == 0
    out = capsys.readouterr().out
    assert "OK Slack: zaiko-bot @ テスト店 として「#zaiko」に投稿できました" in out
    assert slack.wait_for(1) and "接続テスト" in slack.texts()[0]
    assert "{" not in out  # the settings JSON only behind a flag


@pytest.mark.parametrize(
    ("token", "channel", "said"),
    [
        ("xoxb-wrong", "#zaiko", "ZAIKO_SLACK_BOT_TOKEN"),
        (TOKEN, "#nowhere", "/invite"),
    ],
)
def test_a_slack_problem_is_one_ng_line_first_and_the_rest_is_still_checked(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    slack: FakeSlack,
    token: str,
    channel: str,
    said: str,
) -> None:
    shop = make_shop()
    env.setenv("ZAIKO_SHEET_ID", shop.sid)
    _rakuten(env)
    env.setenv("ZAIKO_SLACK_BOT_TOKEN", token)
    env.setenv("ZAIKO_SLACK_CHANNEL", channel)
    world = _world(
        shop.emu, transports={"rakuten": shop.sim.transport}, slack_base_url=slack.base_url
    )
    assert cli.main(["check"], world=world) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("NG Slack") and said in out[0]
    assert [line[:2] for line in out[1:]] == ["OK"] * (len(out) - 1)
    assert not slack.messages


def test_check_json_carries_the_lines_and_the_settings(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = make_shop()
    env.setenv("ZAIKO_SHEET_ID", shop.sid)
    _rakuten(env)
    world = _world(shop.emu, transports={"rakuten": shop.sim.transport})
    assert cli.main(["check", "--json"], world=world) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True
    assert out["checks"][0]["text"].startswith("OK")
    assert out["settings"]["sheet_id"] == shop.sid
    assert KEY not in json.dumps(out)  # secrets stay masked
    assert (
        cli.main(
            ["-v", "check"], world=_world(shop.emu, transports={"rakuten": shop.sim.transport})
        )
        == 0
    )
    assert "設定:" in capsys.readouterr().out


def test_init_sheet_needs_no_channel_and_removes_the_empty_default_tab(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("新しいお店", sheets=("シート1",))
    env.setenv("ZAIKO_SHEET_ID", sid)
    assert cli.main(["init-sheet"], world=_world(emu)) == 0
    assert "空のタブ『シート1』を削除しました" in capsys.readouterr().out
    titles = emu.sheet_titles(sid)
    assert titles[0] == "商品マスタ" and "シート1" not in titles
    assert cli.main(["init-sheet"], world=_world(emu)) == 0
    assert "最新" in capsys.readouterr().out


def test_a_default_tab_staff_typed_into_is_kept(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = SheetsEmulator()
    sid = emu.create_spreadsheet("new shop", sheets=("Sheet1",))
    emu.set_values(sid, "Sheet1", "C5", [["メモ"]])
    env.setenv("ZAIKO_SHEET_ID", sid)
    assert cli.main(["init-sheet"], world=_world(emu)) == 0
    assert "削除" not in capsys.readouterr().out
    assert "Sheet1" in emu.sheet_titles(sid)
