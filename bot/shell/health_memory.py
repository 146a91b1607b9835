"""Mall health that survives a restart, kept in ``_state`` with every commit.

Without it a restart forgets that a channel was parked for refused credentials: the
next cycle announces the same failure again, and once the key is renewed nobody hears
that the channel recovered. So each commit writes, under ``_state`` key ``health``, the
malls that are not OK — state, since when, the error, and a fingerprint of the
credentials they failed with (a SHA-256 prefix of the channel's secret settings, never
the secrets) — plus each channel's next credential expiry (for 設定's status area).

At start-up a remembered failure is restored as it was, so it is not said again, and a
parked channel is probed at once. If the configured credentials changed since the
failure (the key was renewed), the channel gets :data:`RENEWAL_GRACE`: some channels'
renewed keys only work 5–10 minutes after they are issued (らくらく在庫's FAQ, as quoted in
issue 7), so refusals then are retried every :data:`GRACE_RETRY`, quietly; a key still
refused after the grace is announced once, as a new failure. The rule lives in
:class:`~bot.shell.health.MallHealth`; this module only keeps and restores its state.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, SecretStr

from bot.core.health import State
from bot.shell.health import GRACE_RETRY, RENEWAL_GRACE, MallHealth

log = logging.getLogger(__name__)

STATE_KEY = "health"


def fingerprint(config: BaseModel) -> str:
    """A short SHA-256 of a channel's secret settings: tells a renewed key, reveals nothing."""
    secrets = [
        f"{name}={value.get_secret_value()}"
        for name, value in sorted(config)
        if isinstance(value, SecretStr)
    ]
    return hashlib.sha256("\n".join(secrets).encode("utf-8")).hexdigest()[:16]


def health_rows(health: Mapping[str, MallHealth]) -> dict[str, str]:
    """The ``_state`` row to write with the commit."""
    saved: dict[str, dict[str, Any]] = {}
    for key, mall in sorted(health.items()):
        record: dict[str, Any] = {}
        if mall.state is not State.OK:
            record = {
                "state": str(mall.state),
                "since": _iso(mall.health.since),
                "message": mall.health.message[:500],
                "mark": mall.failed_mark,
                "renewed_at": _iso(mall.renewed_at),
            }
        if mall.expires is not None:
            record["expires"] = _iso(mall.expires)
        if record:
            saved[key] = record
    return {STATE_KEY: json.dumps(saved, ensure_ascii=False, sort_keys=True)}


def saved_health(state: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The ``health`` row as read; empty when absent or unreadable (nothing remembered)."""
    try:
        saved = json.loads(state.get(STATE_KEY) or "{}")
    except ValueError:
        log.warning("_state health unreadable; failures will be announced again")
        return {}
    return (
        {str(k): v for k, v in saved.items() if isinstance(v, dict)}
        if isinstance(saved, dict)
        else {}
    )


def restore_health(
    health: Mapping[str, MallHealth], state: Mapping[str, str], now: datetime
) -> None:
    """Take each mall's remembered state (start-up); see the module docstring."""
    for key, record in saved_health(state).items():
        mall = health.get(key)
        if mall is None:
            continue
        mall.expires = _when(record.get("expires"))
        try:
            was = State(str(record.get("state", State.OK)))
        except ValueError:
            continue
        if was is State.OK:
            continue
        mall.health.state = was
        mall.health.since = _when(record.get("since")) or now
        mall.health.message = str(record.get("message", ""))
        mall.failed_mark = str(record.get("mark", ""))
        if was is State.PARKED:
            mall.health.retry_at = now  # the key may have been renewed: try at once
            if mall.failed_mark != mall.key_mark:
                mall.renewed_at = _when(record.get("renewed_at")) or now
        log.info("%s restored as %s since %s", key, was, mall.health.since)


def new_key_pending(record: Mapping[str, Any], mark: str, now: datetime) -> bool:
    """``check``: the channel was parked with other credentials, changed within the grace."""
    if record.get("state") != str(State.PARKED) or record.get("mark", mark) == mark:
        return False
    renewed = _when(record.get("renewed_at"))
    return renewed is None or now < renewed + RENEWAL_GRACE


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _when(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


__all__ = [
    "GRACE_RETRY",
    "RENEWAL_GRACE",
    "STATE_KEY",
    "fingerprint",
    "health_rows",
    "new_key_pending",
    "restore_health",
    "saved_health",
]
