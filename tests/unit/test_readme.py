"""README.md: the two commands first, then how a shop goes live (issue 7 item 15)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_starts_with_its_two_commands_and_says_how_to_go_live() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    assert lines[0] == "```sh"
    assert lines[1].endswith("python -m bot demo") and lines[2].endswith(".venv/bin/pytest")
    for step in (
        "Google Sheets API",
        "heroku config:set ZAIKO_SHEET_ID=",
        "heroku ps:scale worker=1",
        "heroku run python -m bot init-sheet",
        "使い方ガイド",
    ):
        assert step in readme, step
