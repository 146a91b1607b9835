"""Where a running sandbox says it listens: ``<dir>/server.json`` (light: no doubles imported).

The CLI builds its parser for every command, ``run`` included, so what the parser needs
from the sandbox must not import the emulator or the simulators.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

DEFAULT_DIR = "sandbox"
SERVER_NAME = "server.json"
CODE_PACKAGES = ("adapters", "bot", "sheets_template")
"""The packages whose source a sandbox and the bot it serves must share."""
CHECKOUT = Path(__file__).resolve().parents[3]
"""The checkout (or site-packages) this process imported ``bot`` from."""


def read_server(folder: Path) -> dict[str, Any] | None:
    """What ``server.json`` says, or None when no sandbox wrote one there."""
    try:
        data = json.loads((folder / SERVER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def code_fingerprint(root: Path = CHECKOUT) -> str:
    """A digest of the source of :data:`CODE_PACKAGES` under ``root`` (paths and bytes).

    The sandbox writes it into ``server.json``; a program that starts a sandbox for its
    own bot (the benchmark) compares it with its own, taken when it imported the bot:
    ``python -m bot sandbox`` imports the checkout of its working directory, which may
    be another one, or the same one edited since.
    """
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix not in (".py", ".json") or not path.is_file():
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
