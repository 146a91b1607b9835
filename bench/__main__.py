"""``python -m bench <name>``: the benchmarks (../shared/BENCHMARKS.md).

``python -m bench scale [--json] [--sizes 1000,10000] [--minutes 60]`` runs each size in
its own child process (so each size's peak RSS is its own; one size alone runs in this
process) and prints a table, or one JSON object with ``--json``. By default each size's
process holds the bot only and starts ``python -m bot sandbox`` beside it for the Sheets
emulator and the simulators; ``--inline`` (debugging) keeps the doubles in the size's
process, so its peak RSS includes them.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench import engine as engine_bench
from bench.report import table
from bench.scale import DEFAULT_SIZES, ScaleOptions, run_size

NOTES = {
    "sandbox": "peak_rss_mb is the bot's process alone (the bot and the bench's thin driver); "
    "the Sheets emulator and the simulators run in a `python -m bot sandbox` process, whose "
    "peak is sandbox_peak_rss_mb",
    "inline": "--inline (debugging): peak_rss_mb includes the Sheets emulator and the "
    "simulators, which share the bot's process",
}


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "").replace("k", "000")) for part in text.split(",") if part]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="name", required=True)
    scale = sub.add_parser("scale", help="cost as the catalogue grows")
    scale.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    scale.add_argument(
        "--sizes",
        type=_sizes,
        default=list(DEFAULT_SIZES),
        help="comma-separated product counts (default 1000,10000,50000,100000; 10k works)",
    )
    scale.add_argument("--minutes", type=float, default=60.0, help="simulated minutes (60)")
    scale.add_argument("--seed", type=int, default=1)
    scale.add_argument(
        "--channels", default="rakuten", help="comma-separated channel keys (default rakuten)"
    )
    scale.add_argument(
        "--inline",
        action="store_true",
        help="debugging: the emulator and simulators in the bot's process (RSS includes them)",
    )
    return parser


def _child(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """One size in a fresh interpreter, so its peak RSS is its own."""
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "scale",
        "--json",
        *(["--inline"] if args.inline else []),
        "--sizes",
        str(n),
        "--minutes",
        str(args.minutes),
        "--seed",
        str(args.seed),
        "--channels",
        args.channels,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"products": n, "error": done.stderr.strip().splitlines()[-5:] or ["failed"]}
    result: dict[str, Any] = json.loads(done.stdout)["sizes"][0]
    return result


def scale(args: argparse.Namespace) -> int:
    channels = tuple(c.strip() for c in args.channels.split(",") if c.strip())
    results: list[dict[str, Any]] = []
    mode = "inline" if args.inline else "sandbox"
    for n in args.sizes:
        if len(args.sizes) == 1:
            opts = ScaleOptions(
                products=n, minutes=args.minutes, seed=args.seed, channels=channels, mode=mode
            )
            results.append(run_size(opts))
        else:
            results.append(_child(n, args))
        if not args.json:
            print(f"… {n:,} products done", file=sys.stderr, flush=True)
    out = {
        "benchmark": "scale",
        "machine": {
            "python": platform.python_version(),
            "cpus": _nproc(),
            "platform": platform.platform(),
        },
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "mode": mode,
        "note": NOTES[mode],
        "sizes": results,
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(table(out))
    return 0


def _nproc() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["engine"]:  # python -m bench engine [--products 10000,100000] ...
        return engine_bench.main(argv[1:])
    args = _parser().parse_args(argv)
    if args.name == "scale":
        return scale(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
