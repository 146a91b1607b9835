"""Where a running sandbox says it listens: ``<dir>/server.json`` (light: no doubles imported).

The CLI builds its parser for every command, ``run`` included, so what the parser needs
from the sandbox must not import the emulator or the simulators.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT_DIR = "sandbox"
SERVER_NAME = "server.json"


def read_server(folder: Path) -> dict[str, Any] | None:
    """What ``server.json`` says, or None when no sandbox wrote one there."""
    try:
        data = json.loads((folder / SERVER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
