"""What 設定's status block shows, from the worker's health (see bot.infra.sheet.status)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.core import words
from bot.infra.clock import format_jst
from bot.infra.sheet.status import StatusBoard, channel_state
from bot.shell.health import MallHealth


def status_board(now: datetime, health: Mapping[str, MallHealth]) -> StatusBoard:
    """最終連動 = this commit's time; each channel's state; the earliest known expiry."""
    channels = tuple(
        (mall.where, channel_state(str(mall.state), mall.health.since)) for mall in health.values()
    )
    known = [(mall.expires, mall.where) for mall in health.values() if mall.expires is not None]
    expiry = ""
    if known:
        when, label = min(known)
        days = (when - now).days
        expiry = words.say(
            "shell.status_expiry", label=label, date=format_jst(when)[:10], days=max(days, 0)
        )
    return StatusBoard(last_sync=now, channels=channels, next_expiry=expiry)


__all__ = ["status_board"]
