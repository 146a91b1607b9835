"""Slack's part of ``check``: the token works and the bot can post to the channel.

Two calls with slack-sdk's WebClient: ``auth.test`` (is the token valid, which bot and
workspace) and one ``chat.postMessage`` to the configured channel — the only way to be
sure the bot may post there (it must be invited to a private channel; a public one
needs ``chat:write.public`` otherwise). The message says it is a connection test, so
staff who see it know where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.core import words

TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
"""auth.test / chat.postMessage errors that mean the token itself is wrong."""
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


@dataclass(frozen=True)
class SlackCheck:
    """One line of ``check`` for Slack."""

    ok: bool
    text: str


def check_slack(token: str, channel: str, *, base_url: str | None = None) -> SlackCheck:
    """``auth.test``, then a short test post to ``channel``; what to fix when either fails."""
    client = WebClient(token=token, timeout=10, retry_handlers=[])
    if base_url is not None:
        client.base_url = base_url
    try:
        auth = client.auth_test()
    except SlackApiError as err:
        return SlackCheck(False, _api_problem(err, channel))
    except (SlackClientError, OSError) as err:
        return SlackCheck(False, words.say("cli.check_slack_unreachable", error=err))
    who = f"{auth.get('user', '?')} @ {auth.get('team', '?')}"
    try:
        client.chat_postMessage(channel=channel, text=words.text("cli.check_slack_message"))
    except SlackApiError as err:
        return SlackCheck(False, _api_problem(err, channel))
    except (SlackClientError, OSError) as err:
        return SlackCheck(False, words.say("cli.check_slack_unreachable", error=err))
    return SlackCheck(True, words.say("cli.check_slack_ok", who=who, channel=channel))


def _api_problem(err: SlackApiError, channel: str) -> str:
    code = str(err.response.get("error", "") or err.response.status_code)
    if code in TOKEN_ERRORS:
        return words.say("cli.check_slack_token", error=code)
    if code in CHANNEL_ERRORS:
        return words.say("cli.check_slack_channel", channel=channel, error=code)
    return words.say("cli.check_slack_ng", error=code)


__all__ = ["SlackCheck", "check_slack"]
