"""The shop-wide tables of ``config/zaiko.toml``: ``[sync]``, ``[sheet]``, ``[alerts]``.

Each channel's ``[malls.<key>]`` table is declared by the channel itself
(``adapters.base.ChannelConfig``); :mod:`bot.infra.settings` assembles them all.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.core import words


def _check_hhmm(value: str) -> str:
    value = value.strip()
    if value and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(words.say("settings.time_not_hhmm", value=repr(value)))
    return value


class Section(BaseModel):
    """A frozen config table; unknown keys are typos and are reported."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SyncConfig(Section):
    """``[sync]``: the cycle (§1)."""

    interval_seconds: int = Field(default=15, ge=5, le=3600)
    """Seconds between cycles; 5 keeps one worker well under the Sheets quota."""
    order_overlap_seconds: int = Field(default=120, ge=0, le=86_400)
    """Order fetches start this far before the cursor, so late-indexed orders are seen."""
    cancel_window_days: int = Field(default=60, ge=1, le=365)
    """How long after a sale a cancel is still applied to stock."""


class LogMaxRows(Section):
    """``[sheet.log_max_rows]``: rows kept per log tab (oldest trimmed first)."""

    op_log: int = Field(default=50_000, ge=100)
    """操作ログ"""
    sales_log: int = Field(default=200_000, ge=100)
    """販売ログ (the ledger: also kept for ``sales_log_min_days``)"""
    mall_log: int = Field(default=50_000, ge=100)
    """モール更新ログ"""
    error_log: int = Field(default=20_000, ge=100)
    """エラーログ"""


class SheetConfig(Section):
    """``[sheet]``: Google Sheets client behaviour and log trimming (§3, §6)."""

    timeout_connect: float = Field(default=5.0, gt=0, le=120)
    timeout_read: float = Field(default=30.0, gt=0, le=600)
    """gspread has no timeout of its own; a stalled socket would hang forever."""
    retry_max_tries: int = Field(default=5, ge=1, le=20)
    retry_max_seconds: float = Field(default=90.0, gt=0, le=3600)
    """Give up a 429/5xx retry sequence after this long (waits end on SIGTERM anyway)."""
    log_max_rows: LogMaxRows = LogMaxRows()
    sales_log_min_days: int = Field(default=60, ge=1, le=3650)
    """販売ログ rows younger than this are never trimmed: they are the idempotency ledger."""


class AlertsConfig(Section):
    """``[alerts]``: Slack behaviour (§7)."""

    credential_warn_days: int = Field(default=14, ge=0, le=365)
    """Warn this many days before a mall credential expires (0: only when expired)."""
    daily_summary_at: Annotated[str, AfterValidator(_check_hhmm)] = "09:00"
    """JST time of the daily summary, ``HH:MM``; empty string: no summary."""
