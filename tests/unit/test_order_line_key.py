"""``OrderLine.key`` is built once per line object and kept out of the model's fields."""

from __future__ import annotations

import copy
import pickle

from hypothesis import given
from hypothesis import strategies as st

from bot.core.domain import OrderLine

_TEXT = st.text(min_size=1, max_size=8)


def _line(mall: str, order_id: str, line_id: str, units: int) -> OrderLine:
    return OrderLine(mall=mall, order_id=order_id, line_id=line_id, code="c", units=units)


@given(_TEXT, _TEXT, _TEXT, st.integers(0, 5), _TEXT)
def test_kept_key_is_the_plain_key_and_the_model_is_unchanged(
    mall: str, order_id: str, line_id: str, units: int, other_id: str
) -> None:
    line = _line(mall, order_id, line_id, units)
    twin = _line(mall, order_id, line_id, units)
    dump = line.model_dump()
    assert line.key == f"{mall}:{order_id}:{line_id}"  # the plain key is the oracle
    assert line.key == f"{mall}:{order_id}:{line_id}"  # and so is the kept one
    # Only fields count: equal to a line never keyed, in both directions, same hash.
    assert line == twin and twin == line and hash(line) == hash(twin)
    assert line.model_dump() == dump == twin.model_dump()
    assert dict(line) == dict(twin) and repr(line) == repr(twin)
    assert line != _line(mall, order_id, line_id, units + 1)
    # Copies: a changed key field gives a fresh key; others keep a key that is right.
    moved = line.model_copy(update={"line_id": other_id})
    assert moved.key == f"{mall}:{order_id}:{other_id}"
    for same in (
        line.model_copy(update={"units": 0}),
        copy.copy(line),
        pickle.loads(pickle.dumps(line)),
    ):
        assert same.key == line.key


def test_a_line_is_keyed_once() -> None:
    line = _line("rakuten", "o-1", "1", 2)
    assert line.key is line.key
