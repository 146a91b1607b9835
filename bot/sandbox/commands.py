"""The sandbox's commands, plugged into the CLI by ``bot/__main__.py``."""

from __future__ import annotations

import argparse

from bot.cli import Command


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON summary object")
    parser.add_argument(
        "--export", metavar="FILE.xlsx", help="write the final sheet to an xlsx file"
    )
    parser.add_argument("--quiet", action="store_true", help="no timeline, only the summary")


def _run_demo(args: argparse.Namespace) -> int:
    from bot.sandbox.demo import main as demo_main

    return demo_main(as_json=args.json, export=args.export, quiet=args.quiet)


COMMANDS = (
    Command(
        name="demo",
        help="組み込みデモ: エミュレータと模擬モールで一日の店の動きを再現",
        configure=_configure_demo,
        run=_run_demo,
    ),
)
