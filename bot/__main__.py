"""The entry point: production commands plus the sandbox's (``demo``).

This is the one module that may import both the production code and the sandbox;
production modules never import the sandbox (tests/unit/test_architecture.py).
"""

from __future__ import annotations

import sys

from bot.cli import main as cli_main
from bot.sandbox.commands import COMMANDS


def main() -> int:
    """``python -m bot`` and the ``zaiko`` script."""
    return cli_main(sys.argv[1:], extra=COMMANDS)


if __name__ == "__main__":
    raise SystemExit(main())
