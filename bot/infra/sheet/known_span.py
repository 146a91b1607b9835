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
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import from_json, to_json

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


def decode_keeping(
    content: bytes, span: KnownSpan, decode: Decode, texts: KnownTexts | None = None
) -> Any:
    """``content`` (a ``values:batchGet`` answer) decoded as ``decode`` would.

    The values of ``valueRanges[span.index]`` are ``span.values`` when their bytes are
    ``span.raw``; otherwise they are decoded and become the span known next time.
    ``texts``: long texts of another valueRange not decoded again (:class:`KnownTexts`).
    Raises what ``decode(content)`` raises.
    """
    if texts is None or texts.index < 0:
        return _decode_span(content, span, decode)
    swapped, found = texts.swapped(content)
    if found:
        try:
            got = _decode_span(swapped, span, _decode_bytes)
        except ValueError:
            got = None
        if got is not None and texts.put_back(got, [text for _, text, _ in found]):
            texts.reused += len(found)
            texts.learn(got, content, found)
            return got
        span.forget()  # (it may hold what it read of the swapped answer)
    got = _decode_span(content, span, decode)
    texts.learn(got, content, ())
    return got


def _decode_bytes(content: bytes) -> Any:
    return from_json(content, cache_strings="keys")


def _decode_span(content: bytes, span: KnownSpan, decode: Decode) -> Any:
    """``content`` decoded, the values of ``valueRanges[span.index]`` kept by their bytes."""
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
    view = memoryview(content)  # joined without copying the parts first (megabytes)
    try:
        got = from_json(b"".join((view[:start], b"null", view[end:])), cache_strings="keys")
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


# --------------------------------------------------------------------------- long texts

_VALUE_BEFORE = frozenset(b"[, \t\r\n")
"""Bytes before a string token in a values array: ``[``, ``,`` or whitespace. Before a
``"`` inside a string is a backslash, so a token found after one of these starts there."""
_AFTER_CLOSE = frozenset(b",]}: \t\r\n")
"""Bytes that may follow a string's closing quote: a token whose text starts with one is
not looked for (its opening ``"`` could be another string's closing one)."""
_SLACK = 65_536
"""Bytes before where the first known token was last time that are looked through too."""
MIN_TEXT_CHARS = 1_024
"""Texts at least this long are kept by their bytes (_state's ledger rows: ~45,000)."""


@dataclass
class KnownTexts:
    """Long texts in valueRange ``index``'s values as last answered, by their bytes.

    _state's ledger rows (:mod:`bot.infra.sheet.movement_ledger`) hold megabytes by the
    end of a busy day, read every cycle, and but the newest row are as they were. Each
    long text's string token (its bytes, quotes included) maps to the text; an answer
    holding a known token has it replaced by a marker before decoding and the kept text
    put back where the marker landed: the very object as last time.

    Why that gives what a full decode gives: a known token found after ``[``, ``,`` or
    whitespace starts a string there (inside a string a ``"`` follows a backslash; a
    closing one is not followed by the token's second byte, :data:`_AFTER_CLOSE`), and
    a token is a whole string on its own, so those bytes are that string and decode to
    the kept text wherever they are. Each marker names its number with this process's
    nonce; every marker must be found in valueRange ``index``, once and in order, else
    the answer is decoded whole.
    """

    index: int = -1
    """The valueRange whose long texts are kept (-1: none this read)."""
    tokens: dict[bytes, str] = field(default_factory=dict)
    """Token → text, in the last answer's order."""
    from_end: int = 0
    """Bytes from the first token to the answer's end, last time (where to look from)."""
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    reused: int = 0
    """Texts put back instead of decoded, over the process's life."""

    def swapped(self, content: bytes) -> tuple[bytes, list[tuple[bytes, str, int]]]:
        """``content`` with known tokens replaced by markers; (token, text, where) of each.

        Looked for from a little before where the first was last time: one missed is
        only decoded, as any other bytes.
        """
        view = memoryview(content)  # the parts joined without each copied first
        parts: list[bytes | memoryview] = []
        found: list[tuple[bytes, str, int]] = []
        pos, look = 0, max(0, len(content) - self.from_end - _SLACK)
        for token, text in self.tokens.items():
            at = _find(content, token, look)
            if at < 1 or content[at - 1] not in _VALUE_BEFORE:
                continue
            parts += [view[pos:at], self._marker(len(found)).encode()]
            found.append((token, text, at))
            pos = look = at + len(token)
        if not found:
            return content, found
        return b"".join([*parts, view[pos:]]), found

    def put_back(self, got: Any, texts: Sequence[str]) -> bool:
        """The texts in place of their markers in ``got``; False: not each found once, in order."""
        values = _values_at(got, self.index)
        head = f"\x00known:{self.nonce}:"
        found = 0
        for line in values or ():
            for i, cell in enumerate(line if isinstance(line, list) else ()):
                if type(cell) is str and cell.startswith(head):
                    if cell != f"{head}{found}" or found >= len(texts):
                        return False
                    line[i] = texts[found]
                    found += 1
        return values is not None and found == len(texts)

    def learn(self, got: Any, content: bytes, found: Sequence[tuple[bytes, str, int]]) -> None:
        """Keep the long texts of valueRange :attr:`index` as ``content`` holds them.

        ``found``: the tokens put back (not looked for again).
        """
        put = {id(text): (token, at) for token, text, at in found}
        self.tokens = {}
        pos, first = 0, None
        for line in _values_at(got, self.index) or ():
            for cell in line if isinstance(line, list) else ():
                if type(cell) is not str or len(cell) < MIN_TEXT_CHARS:
                    continue
                token, at = put.get(id(cell)) or (to_json(cell), -1)
                if at < 0 and token[1] not in _AFTER_CLOSE:
                    at = _find(content, token, pos)
                if at >= 1 and content[at - 1] in _VALUE_BEFORE:
                    self.tokens[token] = cell
                    pos, first = at + len(token), at if first is None else first
        self.from_end = len(content) - first if first is not None else 0

    def _marker(self, n: int) -> str:
        return f'"\\u0000known:{self.nonce}:{n}"'


def _find(content: bytes, token: bytes, start: int) -> int:
    """Where ``token`` is in ``content`` from ``start`` (-1: nowhere).

    Found by its first bytes, then compared whole: ``bytes.find`` with a needle of tens
    of kilobytes costs more than the decode it spares.
    """
    head = token[:_HEAD_BYTES]
    at = content.find(head, start)
    while at >= 0 and not content.startswith(token, at):
        at = content.find(head, at + 1)
    return at


_HEAD_BYTES = 64


def _values_at(got: Any, index: int) -> list[Any] | None:
    """``got["valueRanges"][index]["values"]`` when it is a list; None otherwise."""
    ranges = got.get("valueRanges") if isinstance(got, dict) else None
    if not isinstance(ranges, list) or not 0 <= index < len(ranges):
        return None
    value_range = ranges[index]
    values = value_range.get("values") if isinstance(value_range, dict) else None
    return values if isinstance(values, list) else None
