"""A valueRange recognised by its bytes gives what a full decode gives (known_span.py).

The hot read's 商品コード column is decoded again only when its bytes differ from the
last answer's; whatever the answer holds and however it is laid out, the shortcut must
give exactly the values (and types) a full decode gives, and fall back to one whenever
the span cannot be found for sure.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import from_json

from bot.infra.sheet.known_span import KnownSpan, _with_values, decode_keeping, value_start
from tests.sheet.test_client_decode import _typed

SKUS = 1


def _decode(content: bytes) -> Any:
    return from_json(content)


_tricky = st.sampled_from(
    ["]]", "]],[[", '"values":', "null", "\\", '"', "]\n]", "}", "{", "在庫切れ", "😀", ""]
)
_cell = (
    st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | _tricky
    | st.builds("".join, st.lists(_tricky | st.text(max_size=3), max_size=4))
)
_column = st.lists(_cell, max_size=12)
_layout = st.tuples(st.sampled_from([None, 0, 2]), st.booleans())
"""json.dumps' indent and ensure_ascii: Google pretty-prints and escapes some characters."""


def _answer(header: list[Any], skus: list[Any], others: list[list[list[Any]]]) -> dict[str, Any]:
    ranges: list[dict[str, Any]] = [
        {"range": "'商品マスタ'!1:1", "majorDimension": "COLUMNS", "values": [[h] for h in header]},
        {"range": "'商品マスタ'!A2:A", "majorDimension": "COLUMNS"},
    ]
    if skus:  # an empty column comes without values, as the API answers it
        ranges[SKUS]["values"] = [skus]
    ranges += [
        {"range": f"R{i}", "majorDimension": "COLUMNS", "values": v} for i, v in enumerate(others)
    ]
    return {"spreadsheetId": "abc", "valueRanges": ranges}


def _body(answer: dict[str, Any], layout: tuple[int | None, bool]) -> bytes:
    indent, ascii_only = layout
    return json.dumps(answer, indent=indent, ensure_ascii=ascii_only).encode()


_answers = st.lists(
    st.tuples(
        st.lists(_cell, max_size=4),
        _column,
        st.lists(st.lists(_column, max_size=3), max_size=2),
        st.booleans(),  # the 商品コード column as in the answer before
        _layout,
    ),
    min_size=1,
    max_size=5,
)


@given(_answers)
def test_every_answer_reads_as_a_full_decode_reads_it(answers: list[Any]) -> None:
    span = KnownSpan(SKUS)
    last: list[Any] = []
    last_layout = None
    for header, skus, others, same, layout in answers:
        column = last if same else skus
        body = _body(_answer(header, column, others), layout)
        reused = span.reused
        got = decode_keeping(body, span, _decode)
        assert _typed(got) == _typed(json.loads(body))
        if same and last and layout == last_layout:  # the same bytes: the fast path
            assert span.reused == reused + 1
        last, last_layout = column, layout


def test_an_unchanged_column_is_not_decoded_again_and_a_changed_one_is() -> None:
    span = KnownSpan(SKUS)
    first = _body(_answer(["商品コード"], ["A", "B", "C"], [[[1, 2, 3]]]), (2, False))
    again = _body(_answer(["商品コード"], ["A", "B", "C"], [[[1, 5, 3]]]), (2, False))
    moved = _body(_answer(["商品コード"], ["A", "C", "B"], [[[1, 5, 3]]]), (2, False))

    assert decode_keeping(first, span, _decode) == json.loads(first)
    assert (span.decoded, span.reused) == (1, 0)
    kept = span.values
    assert decode_keeping(again, span, _decode) == json.loads(again)
    assert (span.decoded, span.reused) == (1, 1)
    assert json.loads(again)["valueRanges"][SKUS]["values"] is not kept
    assert decode_keeping(again, span, _decode)["valueRanges"][SKUS]["values"] is kept
    assert decode_keeping(moved, span, _decode) == json.loads(moved)
    assert span.decoded == 2


def test_the_callers_equal_values_stand_for_the_span() -> None:
    span = KnownSpan(SKUS)
    body = _body(_answer([], ["A", "B"], []), (None, True))
    decode_keeping(body, span, _decode)
    own = [["A", "B"]]
    span.holds(own)
    assert decode_keeping(body, span, _decode)["valueRanges"][SKUS]["values"] is own


def test_holds_is_ignored_without_a_known_span() -> None:
    span = KnownSpan(SKUS)
    span.holds([["A"]])
    assert span.values is None


def test_a_cell_holding_brackets_ends_the_span_at_the_right_place() -> None:
    span = KnownSpan(SKUS)
    body = _body(_answer([], ["]]", "A]] ]", '"]]"'], [[["]]"]]]), (0, True))
    assert decode_keeping(body, span, _decode) == json.loads(body)
    assert span.raw == json.dumps([["]]", "A]] ]", '"]]"']], indent=0).encode()
    assert decode_keeping(body, span, _decode) == json.loads(body)
    assert span.reused == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"valueRanges": [{"values": [["h"]]}]}',  # no second range
        b'{"valueRanges": [{"values": [["h"]]}, {"range": "A2:A"}]}',  # no values
        b'{"valueRanges": [{"values": [["h"]]}, {"values": []}]}',  # an empty array
        b'{"valueRanges": [{"values": [["h"]]}, {"values": "x"}]}',  # not an array
        b'["valueRanges", {"values": [["x"]]}]',
    ],
)
def test_an_answer_without_the_span_is_decoded_whole(body: bytes) -> None:
    span = KnownSpan(SKUS)
    for _ in range(2):
        assert decode_keeping(body, span, _decode) == json.loads(body)
    assert span.reused == 0


def test_a_broken_answer_raises_as_the_decoder_does() -> None:
    span = KnownSpan(SKUS)
    good = b'{"valueRanges": [{"values": [["h"]]}, {"values": [["A"]]}, {"values": [[1]]}]}'
    decode_keeping(good, span, _decode)
    for broken in (good[:-1], good.replace(b"[[1]]", b"[[1]"), b"<html>502</html>"):
        with pytest.raises(ValueError):
            decode_keeping(broken, span, _decode)


@pytest.mark.parametrize(
    ("body", "path", "expected"),
    [
        (b'{"a": 1, "b": [10, {"c": [5]}]}', ("b", 1, "c"), b"[5]}]}"),
        (b'{"a": 1, "b": [10, {"c": [5]}]}', ("b", 0), b'10, {"c": [5]}]}'),
        (b'{"a": "b: [", "b": 2}', ("b",), b"2}"),
        (b'{"a\\"b": 1, "b": 2}', ('a"b',), b'1, "b": 2}'),
        (b'{"a\\u0062": 1}', ("ab",), b"1}"),
        (b'{"a": []}', ("a", 0), None),
        (b"[1, 2] ,", (5,), None),
    ],
)
def test_value_start_finds_the_value_at_a_path(
    body: bytes, path: tuple[Any, ...], expected: bytes | None
) -> None:
    start = value_start(body, path)
    assert (None if start is None else body[start:]) == expected


def test_values_are_put_only_where_the_null_landed() -> None:
    """The check behind the shortcut: a cut anywhere but the span is refused."""
    body = b'{"valueRanges": [{"values": [["h"]]}, {"values": [["A"]]}, {"values": [["A"]]}]}'
    wrong = body.rindex(b'[["A"]]')
    assert _with_values(body, wrong, wrong + 7, [["X"]], SKUS) is None
    right = body.index(b'[["A"]]')
    got = _with_values(body, right, right + 7, [["X"]], SKUS)
    assert got == {"valueRanges": [{"values": [["h"]]}, {"values": [["X"]]}, {"values": [["A"]]}]}
