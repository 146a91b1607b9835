"""Long texts recognised by their bytes give what a full decode gives (known_span.py).

_state's ledger rows are read every cycle and but the newest are as they were: their
string tokens are not decoded again (``KnownTexts``). Whatever the answer holds, laid
out however, with the known bytes anywhere (inside another cell's text too), the answer
must read exactly as a full decode reads it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import from_json

from bot.infra.sheet.known_span import MIN_TEXT_CHARS, KnownSpan, KnownTexts, decode_keeping
from tests.sheet.test_client_decode import _typed

_tricky = st.sampled_from(['"', "\\", '\\"', "]", ",", " ", "\n", "済", "😀", "{", "M1", "\x00"])
_piece = st.builds("".join, st.lists(_tricky | st.text(max_size=4), min_size=1, max_size=4))
_long = _piece.map(lambda p: (p * (MIN_TEXT_CHARS // max(len(p), 1) + 1))[: MIN_TEXT_CHARS + 7])
_cell = st.integers() | st.booleans() | st.text(max_size=6) | _tricky


def _decode(content: bytes) -> Any:
    return from_json(content)


def _body(ranges: list[list[list[Any]]], indent: int | None, ascii_only: bool) -> bytes:
    answer = {
        "spreadsheetId": "abc",
        "valueRanges": [{"range": f"R{i}", "values": v} for i, v in enumerate(ranges)],
    }
    return json.dumps(answer, indent=indent, ensure_ascii=ascii_only).encode()


_answer = st.tuples(
    st.lists(st.integers(0, 5), max_size=6),  # which long texts _state holds, in order
    st.lists(_cell, max_size=4),  # its short cells
    st.lists(st.lists(_cell | st.integers(0, 5), max_size=3), max_size=2),  # another range
    st.booleans(),  # a long text's token typed inside another cell's text
    st.sampled_from([(None, False), (2, False), (None, True)]),
)


@settings(max_examples=200, deadline=None)
@given(longs=st.lists(_long, min_size=6, max_size=6), answers=st.lists(_answer, max_size=5))
def test_every_answer_reads_as_a_full_decode_reads_it(longs: list[str], answers: list[Any]) -> None:
    texts = KnownTexts(index=2)
    span = KnownSpan(0)
    for picks, shorts, other, inside, (indent, ascii_only) in answers:
        other = [[longs[c] if type(c) is int and 0 <= c < 6 else c for c in row] for row in other]
        if inside and picks:
            token = json.dumps(longs[picks[0]], ensure_ascii=ascii_only)
            other.append([f"x{token}", f"[{token}"])
        state = [
            ["キー", *(f"movements:{n}" for n in picks), *shorts],
            ["値", *(longs[n] for n in picks)],
        ]
        body = _body([[["A", "B"]], other, state], indent, ascii_only)
        reused = texts.reused

        got = decode_keeping(body, span, _decode, texts)

        assert _typed(got) == _typed(json.loads(body))
        if not ascii_only and texts.reused > reused:
            kept = got["valueRanges"][2]["values"][1]
            assert any(t is x for t in kept for x in texts.tokens.values())


def test_an_unchanged_long_text_is_the_same_object_and_a_changed_one_is_decoded() -> None:
    texts = KnownTexts(index=1)
    span = KnownSpan(0)
    a, b, c = ("a" * MIN_TEXT_CHARS, '"b"' * MIN_TEXT_CHARS, "c" * MIN_TEXT_CHARS)
    first = _body([[["x"]], [["k1", "k2", "cur"], [a, b, "1"]]], 2, False)
    again = _body([[["y"]], [["k1", "k2", "cur"], [a, b + "!", "2"]]], 2, False)

    got = decode_keeping(first, span, _decode, texts)
    kept = got["valueRanges"][1]["values"][1][0]
    assert (texts.reused, len(texts.tokens)) == (0, 2)
    got = decode_keeping(again, span, _decode, texts)

    assert got == json.loads(again)
    assert texts.reused == 1
    assert got["valueRanges"][1]["values"][1][0] is kept  # not decoded again
    assert sorted(texts.tokens.values()) == sorted([a, b + "!"])
    third = _body([[["z"]], [["k0", "k1"], [c, a]]], None, False)
    assert decode_keeping(third, span, _decode, texts) == json.loads(third)
    assert texts.reused == 2


def test_a_marker_that_did_not_land_in_the_range_decodes_the_answer_whole() -> None:
    texts = KnownTexts(index=1)
    span = KnownSpan(0)
    a = "a" * MIN_TEXT_CHARS
    decode_keeping(_body([[["x"]], [[a]]], None, False), span, _decode, texts)
    moved = _body([[[a]], [["b"]]], None, False)  # the text now in another range only

    assert decode_keeping(moved, span, _decode, texts) == json.loads(moved)
    assert texts.reused == 0
