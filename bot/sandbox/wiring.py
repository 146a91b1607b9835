"""The sandbox's side of the composition root: settings and a World of doubles.

The demo, the end-to-end tests and the benchmarks call :func:`bot.bootstrap.build`
exactly as ``run`` does; only the :class:`~bot.bootstrap.World` differs (simulator
transports, the emulator's session, the virtual clock, a memory sink).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from bot.infra.settings import EXAMPLE_CONFIG_NAME, Settings, load_settings


def sandbox_settings(**overrides: Any) -> Settings:
    """Settings from the packaged defaults alone: no environment, no shop zaiko.toml.

    A developer's ``ZAIKO_*`` variables or a ``config/zaiko.toml`` in the working
    directory must not leak into the demo or the tests.
    """
    example = Path(str(resources.files("config").joinpath(EXAMPLE_CONFIG_NAME)))
    overrides.setdefault("google_service_account_json", SANDBOX_SERVICE_ACCOUNT)
    return load_settings(env={}, config_path=example, **overrides)


SANDBOX_SERVICE_ACCOUNT = json.dumps(
    {
        "type": "service_account",
        "client_email": "zaiko-bot@sandbox.invalid",
        "private_key": "-----BEGIN PRIVATE KEY-----\nsandbox\n-----END PRIVATE KEY-----\n",
    }
)
"""A well-formed key that signs nothing: the sandbox hands the gateway the emulator's
session, so no Google token is ever requested with it."""
