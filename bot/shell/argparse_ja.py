"""argparse in Japanese: staff type these commands, so its own words are translated too.

argparse binds ``gettext`` at import time and ships no Japanese catalogue, so a gettext
hook cannot reach it without a compiled ``.mo`` file. Instead :class:`JapaneseParser`
(used for the parser and, by argparse's own default, for every sub-parser) puts
Japanese where argparse writes its fixed words: the ``usage:`` prefix, the section
titles, the ``-h`` help line, the ``prog: error:`` line, and the error messages a
person can provoke, recognised by argparse's own English templates below.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

from bot.core import words

MESSAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # argparse's msgid, the Japanese words key, the names of its placeholders in order
    ("the following arguments are required: %s", "cli.argparse_required", ("names",)),
    ("one of the arguments %s is required", "cli.argparse_one_of", ("names",)),
    (
        "argument %(argument_name)s: %(message)s",
        "cli.argparse_argument",
        ("name", "message"),
    ),
    (
        "invalid choice: %(value)r (choose from %(choices)s)",
        "cli.argparse_choice",
        ("value", "choices"),
    ),
    ("unrecognized arguments: %s", "cli.argparse_unrecognized", ("names",)),
    ("not allowed with argument %s", "cli.argparse_not_allowed", ("name",)),
    ("expected one argument", "cli.argparse_one_value", ()),
    ("expected at least one argument", "cli.argparse_some_values", ()),
    (
        "ambiguous option: %(option)s could match %(matches)s",
        "cli.argparse_ambiguous",
        ("name", "choices"),
    ),
    ("invalid %(type)s value: %(value)r", "cli.argparse_invalid_value", ("kind", "value")),
)
_PLACEHOLDER = re.compile(r"%(?:\\\(\w+\\\))?[sr]")


def _pattern(msgid: str) -> re.Pattern[str]:
    """The template of an argparse message as a regex capturing each placeholder in order."""
    return re.compile("^" + _PLACEHOLDER.sub("(.+?)", re.escape(msgid)) + "$", re.DOTALL)


_PATTERNS = tuple((_pattern(msgid), key, names) for msgid, key, names in MESSAGES)


def translate(message: str) -> str:
    """An English argparse error message in Japanese (unknown ones are kept as they are)."""
    for pattern, key, names in _PATTERNS:
        match = pattern.match(message)
        if match is None:
            continue
        parts = [translate(part) for part in match.groups()]
        return words.say(key, **dict(zip(names, parts, strict=True)))
    return message


class JapaneseHelpFormatter(argparse.HelpFormatter):
    """``使い方:`` instead of ``usage:``."""

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[Any],
        prefix: str | None = None,
    ) -> None:
        """The usage line with the Japanese prefix."""
        if prefix is None:
            prefix = words.text("cli.argparse_usage") + " "
        super().add_usage(usage, actions, groups, prefix)


class JapaneseParser(argparse.ArgumentParser):
    """An ArgumentParser whose fixed words and error messages are Japanese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", JapaneseHelpFormatter)
        add_help = kwargs.get("add_help", True)
        kwargs["add_help"] = False  # our own -h, with Japanese help
        super().__init__(*args, **kwargs)
        self._positionals.title = words.text("cli.argparse_positionals")
        self._optionals.title = words.text("cli.argparse_options")
        if add_help:
            self.add_argument(
                "-h",
                "--help",
                action="help",
                default=argparse.SUPPRESS,
                help=words.text("cli.argparse_help"),
            )

    def error(self, message: str) -> NoReturn:
        """``<prog>: エラー: <message>`` on stderr, exit status 2 (as argparse does)."""
        self.print_usage(sys.stderr)
        text = words.say("cli.argparse_error", prog=self.prog, message=translate(message))
        self.exit(2, text + "\n")


__all__ = ["JapaneseHelpFormatter", "JapaneseParser", "translate"]
