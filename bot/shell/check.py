"""接続テスト (``check``): each part on its own, one line each, NG lines first.

The settings, the sheet, every enabled channel and Slack are tested separately, so one broken
part never hides the state of another. A channel's line uses its declared name and,
when its check reports when the credentials expire, the expiry note it declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.base import MallAdapter
from bot.core import words
from bot.infra.alerts.check import check_slack
from bot.infra.clock import format_jst
from bot.infra.settings import Settings
from bot.infra.sheet.state import state_dict
from bot.infra.sheet.tabs import STATE
from bot.shell.health_memory import fingerprint, new_key_pending, saved_health

if TYPE_CHECKING:
    from bot.bootstrap import App


@dataclass(frozen=True)
class CheckLine:
    """One line of ``check``: OK or NG, and what it says."""

    ok: bool
    text: str


def check_lines(settings: Settings, app: App) -> list[CheckLine]:
    """Settings, the sheet, every enabled channel and Slack, each checked on its own."""
    problems = settings.problems_for_run()
    lines = [
        CheckLine(False, words.say("cli.check_settings_ng", problem=problem))
        for problem in problems
    ]
    reachable = app.world.sheets_session is not None or settings.google_service_account_json
    state: dict[str, str] = {}
    if settings.sheet_id and reachable:
        sheet_line, state = _check_sheet(app)
        lines.append(sheet_line)
    saved, now = saved_health(state), app.world.clock.now()
    for key, adapter in app.adapters.items():
        line = _check_channel(adapter)
        mark = fingerprint(settings.mall(key))
        if not line.ok and new_key_pending(saved.get(key, {}), mark, now):
            label = type(adapter).channel.label
            line = CheckLine(False, words.say("cli.check_new_key", line=line.text, label=label))
        lines.append(line)
    lines.append(_check_slack(settings, app))
    return lines


def _check_slack(settings: Settings, app: App) -> CheckLine:
    """Slack on its own: the token (``auth.test``) and a test post to the channel."""
    if settings.slack_bot_token is None:
        return CheckLine(True, words.text("cli.check_slack_unset"))
    token = settings.slack_bot_token.get_secret_value()
    result = check_slack(token, settings.slack_channel, base_url=app.world.slack_base_url)
    return CheckLine(result.ok, result.text)


def _check_sheet(app: App) -> tuple[CheckLine, dict[str, str]]:
    """The sheet's line, and its ``_state`` (tokens, remembered health)."""
    try:
        read = app.gateway.read()
    except Exception as err:  # reported, not raised: check lists everything
        return CheckLine(False, words.say("cli.check_sheet_ng", error=err)), {}
    # Channels whose tokens rotate check with the newest ones the worker kept.
    state = state_dict(read.raw.get(STATE) or [])
    app.tokens.load(state)
    return CheckLine(True, words.text("cli.check_sheet_ok")), state


def _check_channel(adapter: MallAdapter) -> CheckLine:
    channel = type(adapter).channel
    try:
        result = adapter.check()
    except Exception as err:
        return CheckLine(
            False, words.say("cli.check_channel_failed", channel=channel.name, error=err)
        )
    text = words.say("cli.check_ok" if result.ok else "cli.check_ng", message=result.message)
    if result.credential_expires_at is not None:
        date = format_jst(result.credential_expires_at)[:10]
        if date not in text:  # the channel's own message usually names it already
            text = words.say("cli.check_expiry", line=text, date=date)
        if channel.expiry_note:
            text = words.say("cli.check_expiry_note", line=text, note=channel.expiry_note)
    return CheckLine(result.ok, text)
