"""設定 shows whether the bot runs: 最終連動, each channel's state, the next credential expiry.

Written inside the commit's own batchUpdate (no extra request), to the right of what
staff use on 設定, and never read back as a setting.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.alerts import MemoryAlerts
from tests.e2e.conftest import SETTINGS_TAB, Shop, is_jst_timestamp, make_shop

TITLE = "連動の状態（ボットが毎周期書き込みます。編集しないでください）"


def _block(shop: Shop) -> dict[str, str]:
    grid = shop.grid(SETTINGS_TAB)
    col = grid[0].index(TITLE)
    return {
        str(row[col]): str(row[col + 1]) if col + 1 < len(row) else ""
        for row in grid[1:]
        if col < len(row) and row[col]
    }


def _staff_part(shop: Shop) -> list[list[Any]]:
    return [row[:3] for row in shop.grid(SETTINGS_TAB)]


def test_the_status_block_shows_the_last_sync_and_each_channel(shop: Shop) -> None:
    block = _block(shop)
    assert is_jst_timestamp(block["最終連動"])
    assert block["楽天"] == "OK"
    assert block["次の認証期限"] == "—"  # no credential check has run yet
    header = shop.grid(SETTINGS_TAB)[0]
    assert header.index(TITLE) == 4  # E: one blank column after 説明
    assert not shop.errors()  # the block is not read as a setting


def test_it_follows_the_channel_and_the_clock_within_the_commit(shop: Shop) -> None:
    staff = _staff_part(shop)
    first = _block(shop)["最終連動"]
    shop.sim.expire_credentials()
    shop.cycle()  # 楽天 refuses the key somewhere in this cycle (collect, push or read-back)
    shop.emu.reset_counts()
    assert shop.cycle().committed  # the next commit carries the state
    counts = shop.emu.counts()
    block = _block(shop)
    assert block["楽天"].startswith("認証エラーで停止中（2026-11-23 ")
    assert block["最終連動"] > first
    assert _staff_part(shop) == staff  # staff's rows untouched
    # Two reads (snapshot, re-read) and one write (the commit), plus the record of the
    # incident in エラーログ: nothing extra for the block.
    assert counts["read"] == 2, counts
    assert counts["write"] <= 2, counts

    shop.emu.reset_counts()
    shop.cycle()  # a quiet cycle: the snapshot, the re-read and the commit
    assert shop.emu.counts() == {**shop.emu.counts(), "read": 2, "write": 1}


def test_the_next_credential_expiry_is_shown(shop: Shop) -> None:
    shop.worker.check_credentials()
    shop.cycle()
    expiry = _block(shop)["次の認証期限"]
    assert expiry.startswith("楽天 20") and "あと" in expiry


def test_a_staff_column_on_the_settings_tab_is_never_overwritten() -> None:
    shop = make_shop()
    shop.emu.set_values(shop.sid, SETTINGS_TAB, "D1", [["担当"], ["山田"], ["佐藤"]])
    shop.cycle()
    grid = shop.grid(SETTINGS_TAB)
    assert [row[3] for row in grid[:3]] == ["担当", "山田", "佐藤"]
    assert grid[0].index(TITLE) == 5  # F: after the staff column and one blank
    assert shop.worker.settings.interval_seconds == 15
    assert isinstance(shop.alerts, MemoryAlerts)
    assert not [a for a in shop.alerts.alerts if "設定" in a.title]


def test_the_block_is_found_again_after_a_restart_never_written_twice() -> None:
    shop = make_shop()
    shop.cycle()
    shop.restart()
    shop.cycle()
    header = shop.grid(SETTINGS_TAB)[0]
    assert header.count(TITLE) == 1
