"""The sheet read's fast paths at 100k, each against the plain computation it replaces.

* ``hot._reuse_rows`` compares a window's rows with the cache's chunk by chunk (values,
  then the types of the value-equal rows at once); the plain pick is
  :func:`values.identical` per row.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

import bot.infra.sheet.hot as hot
from bot.infra.sheet.values import identical

# --------------------------------------------------------------------------- rows read again

_cells = st.lists(st.sampled_from([0, 1, 1.0, True, False, 0.0, "", "1", "x", None]), max_size=4)


def _retype(cell: Any) -> Any:
    """A number of another type: equal in Python (``1 == 1.0 == True``), not on a sheet."""
    if isinstance(cell, bool):
        return int(cell)
    if isinstance(cell, int):
        return float(cell)
    if isinstance(cell, float) and cell in (0.0, 1.0):
        return bool(cell)
    return cell


def _plain_reuse(old: list[list[Any]], new: list[list[Any]]) -> list[list[Any]]:
    """The oracle: each row of ``new`` identical to ``old``'s at its place is ``old``'s."""
    return [o if identical(o, n) else n for o, n in zip(old, new, strict=False)] + new[len(old) :]


@given(
    st.lists(_cells, max_size=12),
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["copy", "retyped", "one retyped"]), st.integers(0, 13)),
            _cells,
        ),
        max_size=14,
    ),
    st.integers(1, 5),
)
def test_rows_read_again_keep_the_old_lists_as_identical_picks_them(
    old: list[list[Any]], picks: list[Any], chunk: int
) -> None:
    """Chunks of any size (a row retyped anywhere in a chunk of equal rows among them)."""
    new: list[list[Any]] = []
    for pick in picks:
        if isinstance(pick, list):
            new.append(pick)
            continue
        how, i = pick
        row = list(old[i]) if i < len(old) else []
        if how == "retyped":
            row = [_retype(c) for c in row]
        elif how == "one retyped" and row:
            row[-1] = _retype(row[-1])
        new.append(row)
    with mock.patch.object(hot, "_REUSE_CHUNK", chunk):
        got = hot._reuse_rows(old, new)
    plain = _plain_reuse(old, new)
    assert len(got) == len(plain) == len(new)
    assert all(g is p for g, p in zip(got, plain, strict=True))


def test_a_window_read_as_before_is_compared_without_a_row_by_row_pass() -> None:
    """The usual window (every row as cached, fresh objects) never calls ``identical``."""
    old = [[f"P{i:05d}", "商品", i % 300, False, "", 2.5, "OK"] for i in range(300)]
    new = [[f"P{i:05d}", "商品", i % 300, False, "", 2.5, "OK"] for i in range(300)]
    new[7] = [*new[7][:2], 8, *new[7][3:]]  # one row changed in value
    with mock.patch.object(hot, "identical", side_effect=identical) as spy:
        got = hot._reuse_rows(old, new)
    assert spy.call_count == 0
    assert got[7] is new[7] and all(
        g is o for i, (g, o) in enumerate(zip(got, old, strict=True)) if i != 7
    )
