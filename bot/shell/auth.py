"""``python -m bot auth <channel>``: the one-time login of a channel whose tokens rotate.

The channel declares how (``Channel.authorization``); this module only runs the
conversation: print the consent page, take back the redirected URL (or the bare code),
check its ``state``, let the channel trade the code for tokens, and write them to
``_state`` encrypted (one read and one write). A running worker adopts them with its
next cycle (``TokenVault.sync``), so nothing needs a restart.
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from adapters import ADAPTERS
from bot.core import words
from bot.core.errors import ZaikoError
from bot.infra.clock import format_jst

if TYPE_CHECKING:
    from bot.bootstrap import App

Ask = Callable[[str], str]
Say = Callable[[str], None]


def authorize(app: App, key: str, ask: Ask, say: Say) -> int:
    """Run the login for channel ``key``; the process exit code."""
    adapter = ADAPTERS.get(key)
    flow = adapter.channel.authorization if adapter is not None else None
    if adapter is None or flow is None:
        say(words.say("cli.auth_not_needed", channel=key))
        return 2
    if not app.tokens.can_keep:
        say(words.say("cli.auth_needs_key"))
        return 2
    config = app.settings.mall(key)
    state = secrets.token_urlsafe(16)
    try:
        say(words.say("cli.auth_open", url=flow.url(config, state)))
        code = _code(ask(words.text("cli.auth_prompt")), state)
        client = httpx.Client(timeout=config.timeout, transport=app.world.transports.get(key))
        expires = flow.exchange(config, client, code, app.tokens.store(key), app.world.clock.now())
        app.gateway.merge_state(app.tokens.rows())
    except (ZaikoError, ValueError) as err:
        say(words.say("cli.auth_failed", name=adapter.channel.name, error=str(err)))
        return 1
    when = format_jst(expires) if expires is not None else words.text("cli.auth_unknown")
    say(words.say("cli.auth_done", name=adapter.channel.name, expires=when))
    return 0


def _code(answer: str, state: str) -> str:
    """The code from a pasted redirect URL (its ``state`` checked) or a bare code."""
    answer = answer.strip()
    if "code=" not in answer:
        if not answer:
            raise ValueError(words.text("cli.auth_no_code"))
        return answer
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer).query or answer))
    if query.get("state", state) != state:
        raise ValueError(words.text("cli.auth_state_mismatch"))
    if not query.get("code"):
        raise ValueError(words.text("cli.auth_no_code"))
    return query["code"]
