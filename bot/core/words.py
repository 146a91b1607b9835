"""Staff-facing wording, kept in one place: ``sheets_template/words.json``.

Sentences staff read (状態, エラーログ, 操作ログ, 出品状況 理由, Slack) live beside the
sheet's own words in ``sheets_template/`` rather than scattered through engine, shell
and infrastructure; code names a sentence by its key (``engine.set_sku_missing``) and
fills its ``{placeholders}``. Loaded once, lazily, from package data (no I/O at import).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources

WORDS_PACKAGE = "sheets_template"
WORDS_FILE = "words.json"


@cache
def _words() -> Mapping[str, Mapping[str, str]]:
    text = resources.files(WORDS_PACKAGE).joinpath(WORDS_FILE).read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)
    return {section: table for section, table in data.items() if not section.startswith("_")}


def text(key: str) -> str:
    """The sentence ``section.name`` as written (KeyError names a missing key)."""
    section, _, name = key.partition(".")
    try:
        return _words()[section][name]
    except KeyError:
        raise KeyError(f"no staff wording {key!r} in {WORDS_PACKAGE}/{WORDS_FILE}") from None


def say(key: str, **values: object) -> str:
    """The sentence ``key`` with its placeholders filled in."""
    if not values:
        return _said(key)
    return text(key).format(**values)


@cache
def _said(key: str) -> str:
    """A sentence without placeholders, worded once.

    The engine says some per row it logs: a 在庫数 stocktake says three (~300 a cycle at
    100k, ``python -m bench scale``).
    """
    return text(key).format()


def all_keys() -> list[str]:
    """Every key (tests check each one is used and fills without error)."""
    return [
        f"{section}.{name}"
        for section, table in _words().items()
        for name in table
        if not name.startswith("_")
    ]
