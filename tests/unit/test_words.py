"""Staff wording lives in sheets_template/words.json and every key is used by the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core import words

ROOT = Path(__file__).resolve().parents[2]


def test_every_key_is_used_somewhere_in_production_code() -> None:
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for folder in ("bot", "adapters")
        for p in (ROOT / folder).rglob("*.py")
    )
    unused = [key for key in words.all_keys() if f'"{key}"' not in sources]
    assert not unused, f"unused wording: {unused}"


def test_placeholders_are_plain_names() -> None:
    for key in words.all_keys():
        for name in re.findall(r"{([^}]*)}", words.text(key)):
            assert re.fullmatch(r"[a-z_]+", name), (key, name)


def test_unknown_key_is_named() -> None:
    with pytest.raises(KeyError, match=r"engine\.nope"):
        words.text("engine.nope")


def test_a_sentence_without_placeholders_is_worded_once() -> None:
    """Said again, it is the very string worded the first time (``words._said``), and
    each reads as its text formatted plainly (the oracle)."""
    plain = [key for key in words.all_keys() if "{" not in words.text(key).replace("{{", "")]
    assert plain
    for key in plain:
        said = words.say(key)
        assert said == words.text(key).format()
        assert words.say(key) is said
