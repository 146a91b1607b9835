"""The command line: help lists every command, settings problems are reported, no secret leaks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot import __main__ as entry
from bot import cli
from bot.core import engine
from bot.infra.sheet import layout


def test_help_lists_every_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["bot", "--help"])
    with pytest.raises(SystemExit) as exc:
        entry.main()
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "demo",
        "sandbox",
        "run",
        "once",
        "check",
        "init-sheet",
        "push",
        "auth",
    ):
        assert command in out
    for later in ("reconcile", "import"):  # not built: not listed
        assert later not in out


def test_run_without_settings_lists_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(__import__("os").environ):
        if name.startswith(("ZAIKO_", "GOOGLE_APPLICATION", "SLACK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZAIKO_RAKUTEN_LICENSE_KEY", "SL999_very_secret_value")
    monkeypatch.setenv("ZAIKO_MALLS__RAKUTEN__ENABLED", "true")
    assert cli.main(["once"]) == 2
    err = capsys.readouterr().err
    assert "ZAIKO_SHEET_ID" in err or "シート" in err
    assert "SL999_very_secret_value" not in err


def test_python_dash_m_bot_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert "init-sheet" in done.stdout


def test_engine_tab_labels_match_the_template() -> None:
    template = layout.load_template()
    for key, title in engine.TAB_TITLES.items():
        assert template.tab(key).title == title


def test_engine_movement_mark_matches_the_template() -> None:
    assert layout.load_template().words.movement_done_prefix == engine.MOVEMENT_DONE_PREFIX
