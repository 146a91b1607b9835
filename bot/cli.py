"""`python -m bot <command>` (installed also as `zaiko`): ARCHITECTURE.md §10."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core import words
from bot.infra.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot")


@dataclass(frozen=True)
class Command:
    """A command plugged in from outside production code (the sandbox's ``demo``).

    The sandbox depends on production, never the other way round: ``bot/__main__.py``
    (the entry point) hands its commands to :func:`main`.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _parser(extra: Sequence[Command] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=words.text("cli.description"),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=words.text("cli.help_verbose"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for command in extra:
        command.configure(sub.add_parser(command.name, help=command.help))
    sub.add_parser("run", help=words.text("cli.help_run"))
    sub.add_parser("once", help=words.text("cli.help_once"))
    sub.add_parser("check", help=words.text("cli.help_check"))
    sub.add_parser("init-sheet", help=words.text("cli.help_init_sheet"))
    push = sub.add_parser("push", help=words.text("cli.help_push"))
    group = push.add_mutually_exclusive_group(required=True)
    group.add_argument("--all", action="store_true", help=words.text("cli.help_push_all"))
    group.add_argument("--sku", action="append", metavar="X", help=words.text("cli.help_push_sku"))
    auth = sub.add_parser("auth", help=words.text("cli.help_auth"))
    auth.add_argument("channel", metavar="MALL")
    return parser


def main(argv: Sequence[str] | None = None, extra: Sequence[Command] = ()) -> int:
    """Entry point; returns the process exit code."""
    args = _parser(extra).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO; our adapters log what matters themselves.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for command in extra:
        if args.command == command.name:
            return command.run(args)
    try:
        settings = load_settings()
    except SettingsError as err:
        print(words.text("cli.settings_error"), err, sep="\n", file=sys.stderr)
        return 2
    if args.command == "check":
        return _check(settings)
    problems = settings.problems_for_run()
    if problems:
        listed = "\n".join(f"- {p}" for p in problems)
        print(words.text("cli.settings_missing"), listed, sep="\n", file=sys.stderr)
        return 2
    if args.command == "init-sheet":
        return _init_sheet(settings)
    if args.command == "auth":
        return _auth(settings, args.channel)
    return _work(settings, args)


def _auth(settings: Settings, channel: str) -> int:
    from bot.bootstrap import build
    from bot.shell.auth import authorize

    return authorize(build(settings), channel, ask=input, say=print)


def _work(settings: Settings, args: argparse.Namespace) -> int:
    from bot.bootstrap import build
    from bot.shell.loop import Runner

    app = build(settings)
    worker = app.worker
    try:
        if args.command == "run":
            runner = Runner(
                cycle=worker.cycle,
                interval=lambda: worker.settings.interval_seconds,
                clock=worker.clock,
                stop=app.world.stop,
                daily=worker.daily,
                daily_at=settings.alerts.daily_summary_at,
            )
            runner.install_signal_handlers()
            worker.start()
            worker.check_credentials()
            runner.run()
            return 0
        worker.start()
        if args.command == "push":
            worker.request_push(None if args.all else set(args.sku))
        report = worker.cycle()
        print(json.dumps(report.summary(), ensure_ascii=False, indent=2))
        return 0 if report.committed else 1
    finally:
        app.alerts.close()


def _check(settings: Settings) -> int:
    from bot.bootstrap import build
    from bot.shell.check import check_lines

    print(words.text("cli.settings_heading"))
    print(json.dumps(settings.describe(), ensure_ascii=False, indent=2, default=str))
    lines = check_lines(settings, build(settings))
    for line in sorted(lines, key=lambda line: line.ok):
        print(line.text)
    return 0 if all(line.ok for line in lines) else 1


def _init_sheet(settings: Settings) -> int:
    from bot.bootstrap import build

    print(build(settings).init_sheet().summary())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
