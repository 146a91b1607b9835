"""``python -m bot sandbox``: load the state file or create a new world, then serve it."""

from __future__ import annotations

import pickle
import sys
from datetime import timedelta
from pathlib import Path

from adapters import ADAPTERS
from bot.sandbox.server import state as state_file
from bot.sandbox.server.clock import SandboxClock, WallClock, make_clock, parse_clock
from bot.sandbox.server.http import serve
from bot.sandbox.server.seed import new_world
from bot.sandbox.server.world import SandboxWorld

STATE_NAME = "state.pickle"
FUTURE_SLACK = timedelta(minutes=1)
"""A saved follow clock this far ahead of the wall clock cannot be resumed on it."""


def run_sandbox(
    *,
    folder: Path,
    state: Path | None = None,
    port: int = 8765,
    clock: str = "real",
    start: str | None = None,
    interval: int = 15,
    channels: list[str] | None = None,
    sheets_quota: int = 60,
    shop: bool = True,
    save_every: float = 2.0,
) -> int:
    """Load or create the world, serve it until a signal; the process's exit status."""
    state = state or folder / STATE_NAME
    if not 5 <= interval <= 3600:
        print("--interval は 5〜3600 秒です", file=sys.stderr)
        return 2
    try:
        the_clock = make_clock(clock, parse_clock(start) if start else None)
    except ValueError as err:
        print(f"--start が読めません（{err}）", file=sys.stderr)
        return 2
    if state.exists():
        world = _resume(state, the_clock)
        if world is None:
            return 1
    else:
        wanted = channels or list(ADAPTERS)
        unknown = [key for key in wanted if key not in ADAPTERS]
        if unknown:
            print(
                f"知らないモールです: {', '.join(unknown)}（使えるのは {', '.join(ADAPTERS)}）",
                file=sys.stderr,
            )
            return 2
        world = new_world(
            the_clock, wanted, interval=interval, sheets_quota=sheets_quota or None, shop=shop
        )
    return serve(world, port=port, state=state, folder=folder, save_every=save_every)


def _resume(state: Path, clock: SandboxClock) -> SandboxWorld | None:
    """The world of the state file; None (said in Japanese) when it cannot be used."""
    try:
        saved = state_file.loads(state.read_bytes(), clock)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError) as err:
        print(
            f"状態ファイル {state} を読めません（{err}）。消すと新しく作り直します", file=sys.stderr
        )
        return None
    if isinstance(clock, WallClock) and saved["clock_now"] > clock.now() + FUTURE_SLACK:
        # The doubles' rate-limit windows and timestamps lie in the future of the wall clock.
        print(
            f"状態ファイル {state} は follow の時計で {saved['clock_now'].isoformat()} まで進んでいます。"
            "--clock follow で起動するか、フォルダを消して作り直してください",
            file=sys.stderr,
        )
        return None
    print(f"状態ファイルから再開します / resuming from {state}", flush=True)
    return SandboxWorld.from_state(saved, clock)


__all__ = ["STATE_NAME", "run_sandbox"]
