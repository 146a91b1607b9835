"""`python -m bot <command>` (installed also as `zaiko`): ARCHITECTURE.md §10."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.bootstrap import App, World, build
from bot.core import words
from bot.core.errors import ZaikoError
from bot.infra.settings import Settings, SettingsError, env_name, load_settings
from bot.shell.argparse_ja import JapaneseParser
from bot.shell.auth import authorize
from bot.shell.check import check_lines
from bot.shell.loop import install_signal_handlers
from bot.shell.startup import explain, serve

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
    parser = JapaneseParser(prog="python -m bot", description=words.text("cli.description"))
    parser.add_argument("-v", "--verbose", action="store_true", help=words.text("cli.help_verbose"))
    sub = parser.add_subparsers(
        dest="command", required=True, metavar=words.text("cli.help_command")
    )
    for command in extra:
        command.configure(sub.add_parser(command.name, help=command.help))
    sub.add_parser("run", help=words.text("cli.help_run"))
    sub.add_parser("once", help=words.text("cli.help_once"))
    check = sub.add_parser("check", help=words.text("cli.help_check"))
    check.add_argument("--json", action="store_true", help=words.text("cli.help_check_json"))
    sub.add_parser("init-sheet", help=words.text("cli.help_init_sheet"))
    push = sub.add_parser("push", help=words.text("cli.help_push"))
    group = push.add_mutually_exclusive_group(required=True)
    group.add_argument("--all", action="store_true", help=words.text("cli.help_push_all"))
    group.add_argument("--sku", action="append", metavar="X", help=words.text("cli.help_push_sku"))
    auth = sub.add_parser("auth", help=words.text("cli.help_auth"))
    auth.add_argument("channel", metavar="MALL")
    return parser


def main(
    argv: Sequence[str] | None = None,
    extra: Sequence[Command] = (),
    world: World | None = None,
) -> int:
    """Entry point; returns the process exit code.

    ``world`` is the outside world (:class:`bot.bootstrap.World`); None is production's.
    """
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
    try:
        return _dispatch(settings, args, world)
    except ZaikoError as err:
        # What to fix, in one line; the engineers' detail stays in the log.
        log.debug("%s failed", args.command, exc_info=True)
        print(explain(err), file=sys.stderr)
        return 1


def _dispatch(settings: Settings, args: argparse.Namespace, world: World | None) -> int:
    if args.command == "check":
        return _check(settings, world, verbose=args.verbose, as_json=args.json)
    problems = _init_problems(settings) if args.command == "init-sheet" else None
    if problems is None:
        problems = settings.problems_for_run()
    if problems:
        listed = "\n".join(f"- {p}" for p in problems)
        print(words.text("cli.settings_missing"), listed, sep="\n", file=sys.stderr)
        return 2
    if args.command == "init-sheet":
        print(build(settings, world).init_sheet().summary())
        return 0
    if args.command == "auth":
        return authorize(build(settings, world), args.channel, ask=input, say=print)
    if args.command == "run":
        install_signal_handlers((world := world or World()).stop)
        app = build(settings, world)
        try:
            return serve(app, say=lambda line: print(line, file=sys.stderr))
        finally:
            app.alerts.close()
    return _once(build(settings, world), args)


def _init_problems(settings: Settings) -> list[str]:
    """What ``init-sheet`` needs: the sheet and its key, not a channel (none is fine)."""
    sheet_only = {
        words.say("settings.sheet_id_unset", env=env_name("sheet_id")),
        words.say(
            "settings.service_account_unset",
            env=env_name("google_service_account_json"),
            alias="GOOGLE_APPLICATION_CREDENTIALS",
        ),
    }
    return [p for p in settings.problems_for_run() if p in sheet_only]


def _once(app: App, args: argparse.Namespace) -> int:
    """``once`` and ``push``: one cycle, its summary as JSON."""
    try:
        worker = app.worker
        worker.start()
        if args.command == "push":
            unknown = worker.request_push(None if args.all else set(args.sku))
            if unknown:
                for sku in sorted(unknown):
                    print(words.say("cli.push_unknown_sku", sku=sku), file=sys.stderr)
                return 2
        report = worker.cycle()
        print(json.dumps(report.summary(), ensure_ascii=False, indent=2))
        return 0 if report.committed else 1
    finally:
        app.alerts.close()


def _check(settings: Settings, world: World | None, *, verbose: bool, as_json: bool) -> int:
    lines = sorted(check_lines(settings, build(settings, world)), key=lambda line: line.ok)
    if as_json:
        out = {
            "ok": all(line.ok for line in lines),
            "checks": [{"ok": line.ok, "text": line.text} for line in lines],
            "settings": settings.describe(),
        }
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        for line in lines:
            print(line.text)
        if verbose:
            print(words.text("cli.settings_heading"))
            print(json.dumps(settings.describe(), ensure_ascii=False, indent=2, default=str))
    return 0 if all(line.ok for line in lines) else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
