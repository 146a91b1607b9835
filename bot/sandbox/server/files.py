"""What the sandbox writes into its folder so that a worker can be pointed at it.

``zaiko.toml`` (non-secret settings: the Sheets base URL, the cycle interval, every
channel's table with its hosts moved to the sandbox), ``env`` (``export`` lines: the
sheet id, the key file, the encryption key and each channel's credentials — the
simulators' fake ones), ``service-account.json`` (the key, whose ``token_uri`` is the
sandbox's token endpoint) and ``server.json`` (where the running sandbox listens, for
``python -m bot sandbox edit`` and for programs). All are rewritten at every start: the
port may change, the key and the credentials do not.
"""

from __future__ import annotations

import json
import os
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters import ADAPTERS
from bot.infra.settings import channel_env_name
from bot.sandbox.server.locate import SERVER_NAME, code_fingerprint
from bot.sandbox.server.routes import SHEETS_PREFIX, TOKEN_PATH, TOKEN_PREFIX
from bot.sandbox.server.world import SandboxWorld

CONFIG_NAME = "zaiko.toml"
ENV_NAME = "env"
KEY_NAME = "service-account.json"


def toml_value(value: Any) -> str:
    """A TOML literal for a str, bool, int or float (JSON's string escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def channel_table(world: SandboxWorld, key: str) -> dict[str, Any]:
    """``[malls.<key>]`` without secrets, its hosts pointing at the sandbox."""
    secrets = set(ADAPTERS[key].Config.secret_fields())
    table = {k: v for k, v in world.sims[key].config().items() if k not in secrets}
    for route in world.routes.values():
        if route.channel == key and route.setting:
            table[route.setting] = f"{world.base_url}/{route.prefix}{route.path}"
    return table


def config_text(world: SandboxWorld) -> str:
    """The worker's zaiko.toml."""
    lines = [
        "# Written by `python -m bot sandbox` at every start: edit the sandbox, not this file.",
        "# サンドボックスが起動のたびに書き直す設定です。",
        f"google_sheets_base_url = {toml_value(f'{world.base_url}/{SHEETS_PREFIX}')}",
        "",
        "[sync]",
        f"interval_seconds = {world.interval}",
    ]
    for key in world.sims:
        lines += ["", f"[malls.{key}]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in channel_table(world, key).items()]
    return "\n".join(lines) + "\n"


def env_lines(world: SandboxWorld, folder: Path) -> dict[str, str]:
    """Environment name → value for the worker (secrets included: they are fakes)."""
    env = {
        "ZAIKO_CONFIG": str(folder / CONFIG_NAME),
        "ZAIKO_SHEET_ID": world.sheet_id,
        "ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON": str(folder / KEY_NAME),
        "ZAIKO_SECRET_KEY": world.secret_key,
        # Alerts print to the worker's console, never to a real Slack.
        "ZAIKO_SLACK_BOT_TOKEN": "",
        "SLACK_BOT_TOKEN": "",
    }
    for key, sim in world.sims.items():
        config = sim.config()
        for name in ADAPTERS[key].Config.secret_fields():
            if config.get(name):
                env[channel_env_name(key, name)] = str(config[name])
    return env


def env_text(world: SandboxWorld, folder: Path) -> str:
    """The ``env`` file: ``export`` lines a POSIX shell can source."""
    lines = [
        "# Written by `python -m bot sandbox` at every start. In another terminal:",
        "#   set -a; . ./sandbox/env; set +a; python -m bot run",
        "# サンドボックス用の環境変数（模擬モールの認証情報です。本物ではありません）。",
    ]
    lines += [f"export {n}={shlex.quote(v)}" for n, v in env_lines(world, folder).items()]
    return "\n".join(lines) + "\n"


def write_files(world: SandboxWorld, folder: Path, state: Path) -> None:
    """Write the four files for a sandbox listening on ``world.base_url``."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    key = world.account.key_info(f"{world.base_url}/{TOKEN_PREFIX}{TOKEN_PATH}")
    _write(folder / KEY_NAME, json.dumps(key, indent=2) + "\n", private=True)
    _write(folder / CONFIG_NAME, config_text(world))
    _write(folder / ENV_NAME, env_text(world, folder), private=True)
    server = {
        "url": world.base_url,
        "pid": os.getpid(),
        "sheet_id": world.sheet_id,
        "state": str(state.resolve()),
        "clock": world.clock.mode,
        "started_at": datetime.now(UTC).isoformat(),
        "code": code_fingerprint(),
    }
    _write(folder / SERVER_NAME, json.dumps(server, indent=2) + "\n")


def _write(path: Path, text: str, *, private: bool = False) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    if private:
        temporary.chmod(0o600)
    os.replace(temporary, path)
