"""One valueRange of a ``values:batchGet`` answer recognised by its bytes, not decoded again.

Every cycle's hot read carries 商品マスタ's whole 商品コード column (ARCHITECTURE.md §3):
the guard against rows staff moved, added or deleted, so it is read every cycle. At
100k products that is 100,000 strings to decode, compare with the column the cache
holds, and free — a few percent of the bot's cycle — while it almost never changed.

:class:`KnownSpan` keeps the bytes that valueRange's ``values`` were last answered
with. When the next answer holds the very same bytes at the same place, those bytes
read as the same values: the answer is decoded without them and the values the caller
keeps for them are put in their place. Anything unexpected — the place not found, the
bytes different, a decoder that refuses the rest — decodes the whole answer, as before.

Why the shortcut gives exactly what a full decode gives:

* :func:`value_start` walks the answer's JSON tokens from the top (the header row's
  valueRange before it is a few hundred bytes) to the position where the value of
  ``valueRanges[index].values`` begins: a value position outside any string.
* The span kept is a whole JSON array that decoded on its own (:func:`_split`). An
  array ends at its matching bracket, so when an answer holds those bytes from that
  position, they are that value, whatever follows.
* Replacing a whole value by ``null`` leaves every other token where it was; the rest
  decodes to the same answer with ``null`` at that place (checked: otherwise the whole
  answer is decoded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json

Decode = Callable[[bytes], Any]

_TOKEN = re.compile(rb'[ \t\r\n]*(?:("(?:[^"\\]|\\.)*")|([\[\]{}:,])|([^ \t\r\n\[\]{}:,"]+))')
"""One JSON token after optional whitespace: a string, a bracket or separator, a literal."""
_CLOSE = re.compile(rb"\][ \t\r\n]*\]")
"""Where a COLUMNS-major one-column ``values`` array may end (``]]``, maybe spaced)."""
MAX_PREFIX_TOKENS = 4_000
"""Tokens walked before giving up: the header row's valueRange (a few dozen cells) is all
that normally comes before the span."""
MAX_END_TRIES = 8
"""Candidate ends of the span tried (a cell holding ``]]`` makes the first one wrong)."""


@dataclass
class KnownSpan:
    """The ``values`` of valueRange ``index`` as last answered, byte for byte.

    ``values`` is what those bytes read as: the decoded values, or a value of the
    caller's own equal to them (:meth:`holds`), so the column is not kept twice.
    """

    index: int
    raw: bytes = b""
    """The span's bytes in the last answer (empty: none known)."""
    values: Any = None
    reused: int = 0
    """Answers whose span was the known bytes (decoded without them)."""
    decoded: int = 0
    """Answers decoded whole (the span new, changed or not found)."""

    def forget(self) -> None:
        """Know no span: the next answer is decoded whole."""
        self.raw, self.values = b"", None

    def holds(self, values: Any) -> None:
        """The caller's own ``values``, equal to the span's decoded values, stand for them."""
        if self.raw:
            self.values = values


def decode_keeping(content: bytes, span: KnownSpan, decode: Decode) -> Any:
    """``content`` (a ``values:batchGet`` answer) decoded as ``decode`` would.

    The values of ``valueRanges[span.index]`` are ``span.values`` when their bytes are
    ``span.raw``; otherwise they are decoded and become the span known next time.
    Raises what ``decode(content)`` raises.
    """
    start = value_start(content, ("valueRanges", span.index, "values"))
    if start is None:
        span.forget()
    elif span.raw and content.startswith(span.raw, start):
        got = _with_values(content, start, start + len(span.raw), span.values, span.index)
        if got is not None:
            span.reused += 1
            return got
    elif (split := _split(content, start, span.index)) is not None:
        got, span.raw, span.values = split
        span.decoded += 1
        return got
    span.forget()
    span.decoded += 1
    return decode(content)


def _split(content: bytes, start: int, index: int) -> tuple[Any, bytes, Any] | None:
    """The answer decoded in two: the span from ``start`` and the rest; None: not found.

    The span ends at one of the first :data:`MAX_END_TRIES` ``]]`` after ``start`` —
    the first whose bytes decode as a JSON array on their own.
    """
    if content[start : start + 1] != b"[":
        return None
    for tries, end in enumerate(_CLOSE.finditer(content, start)):
        if tries >= MAX_END_TRIES:
            return None
        raw = content[start : end.end()]
        try:
            values = from_json(raw, cache_strings="keys")
        except ValueError:
            continue
        got = _with_values(content, start, end.end(), values, index)
        return None if got is None else (got, raw, values)
    return None


def _with_values(content: bytes, start: int, end: int, values: Any, index: int) -> Any | None:
    """The answer decoded with ``null`` for ``content[start:end]`` and ``values`` put there.

    None when the rest does not decode or has no ``null`` at that place.
    """
    try:
        got = from_json(b"".join((content[:start], b"null", content[end:])), cache_strings="keys")
    except ValueError:
        return None
    ranges = got.get("valueRanges") if isinstance(got, dict) else None
    value_range = ranges[index] if isinstance(ranges, list) and index < len(ranges) else None
    if not isinstance(value_range, dict) or value_range.get("values", False) is not None:
        return None
    value_range["values"] = values
    return got


def value_start(content: bytes, path: Sequence[str | int]) -> int | None:
    """Where the value at ``path`` (object keys, array indexes) begins; None: not found.

    Walks the tokens from the top, at most :data:`MAX_PREFIX_TOKENS` of them. ``here``
    holds one entry per open container: an array's index, an object's current key
    (None before its first and between ``,`` and the next).
    """
    target = tuple(path)
    here: list[str | int | None] = []
    arrays: list[bool] = []
    expect_key = False
    pos = 0
    for _ in range(MAX_PREFIX_TOKENS):
        match = _TOKEN.match(content, pos)
        if match is None:
            return None
        pos = match.end()
        text, mark, _literal = match.groups()
        if text is not None and expect_key:
            here[-1], expect_key = _key(text), False
            continue
        if mark == b"{" or mark == b"[":
            arrays.append(mark == b"[")
            here.append(0 if mark == b"[" else None)
            expect_key = mark == b"{"
        elif (mark == b"," or mark in (b"}", b"]")) and not arrays:
            return None  # not a JSON answer: the decoder will say so
        elif mark == b",":
            last = here[-1]
            here[-1] = last + 1 if arrays[-1] and isinstance(last, int) else None
            expect_key = not arrays[-1]
        elif mark in (b"}", b"]"):
            arrays.pop()
            here.pop()
            continue
        at_value = mark in (b":", b"[") or (mark == b"," and arrays[-1])
        if at_value and tuple(here) == target:
            return _next_value(content, pos)
    return None


def _next_value(content: bytes, pos: int) -> int | None:
    """The first byte of the value that follows ``pos`` (None: an empty array or the end)."""
    while content[pos : pos + 1] in (b" ", b"\t", b"\r", b"\n"):
        pos += 1
    return None if content[pos : pos + 1] in (b"]", b"") else pos


def _key(token: bytes) -> str:
    """An object key's text (its JSON string token decoded)."""
    if b"\\" not in token:
        return token[1:-1].decode("utf-8", "replace")
    return str(json.loads(token))
