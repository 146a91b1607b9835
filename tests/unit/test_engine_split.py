"""入出庫 rows split into 済 and not, going on from the last step's split (settled.split).

The sheet layer hands unchanged rows back as the same objects; a step reads the 済 flag
only from the first row that is not the same object on. These tests hold the split to
the plain reading of every row, whatever the rows did in between (marked, added,
deleted, sorted, parsed afresh), from any older split too; and pin that the usual step
(rows marked and added at the bottom) reuses the flags of the rows above.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.domain import Movement, Snapshot
from bot.core.engine.settled import Split, split


def _row(n: int, done: bool) -> Movement:
    return Movement(key=f"mv{n}", sku="A", qty=1, row=n + 2, done=done, ident="M1" if done else "")


def _plain(rows: list[Movement]) -> tuple[list[Movement], list[Movement]]:
    return [m for m in rows if m.done], [m for m in rows if not m.done]


EDIT = st.tuples(
    st.sampled_from(["mark", "add", "delete", "swap", "reparse", "back"]), st.integers(0, 30)
)


@given(st.lists(st.booleans(), max_size=12), st.lists(st.lists(EDIT, max_size=4), max_size=8))
def test_a_split_going_on_from_an_older_one_reads_what_a_plain_split_reads(
    start: list[bool], steps: list[list[tuple[str, int]]]
) -> None:
    rows = [_row(n, done) for n, done in enumerate(start)]
    made: list[Split] = []
    prior: Split | None = None
    serial = len(rows)
    for edits in steps:
        for op, n in edits:
            at = n % len(rows) if rows else 0
            if op == "mark" and rows:
                rows[at] = replace(rows[at], done=not rows[at].done)
            elif op == "add":
                serial += 1
                rows.insert(min(n, len(rows)), _row(serial, n % 2 == 0))
            elif op == "delete" and rows:
                del rows[at]
            elif op == "swap" and len(rows) > 1:
                rows[0], rows[at] = rows[at], rows[0]
            elif op == "reparse":
                rows = [replace(m) for m in rows]
            elif op == "back" and made:
                prior = made[n % len(made)]
        parts = split(rows, prior)
        assert (parts.done(), parts.open_rows()) == _plain(rows)
        assert all(a is b for a, b in zip(parts.done(), _plain(rows)[0], strict=True))
        made.append(parts)
        prior = parts


def test_the_usual_step_reads_the_flags_of_the_rows_it_marked_and_the_new_ones_only() -> None:
    """Rows above the first one marked since are never looked at: here they are objects
    without a 済 flag at all, and the split still goes through."""
    settled_rows = cast(list[Movement], [object() for _ in range(1000)])
    waiting = [_row(n, False) for n in range(3)]
    first = Split((*settled_rows, *waiting), (1000, 1001, 1002))
    marked = [replace(m, done=True, ident="M2") for m in waiting]
    then = split([*settled_rows, *marked, _row(9, False)], first)
    assert then.open_at == (1003,)
    assert then.done() == [*settled_rows, *marked]
    assert then.open_rows() == [_row(9, False)]


def test_a_steady_step_goes_on_from_the_last_steps_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine hands the memo's split on (a slow fallback would pass every other test)."""
    from bot.core import engine
    from bot.core.engine import stock
    from tests.unit.test_engine_fast_paths import NOW, _landed, _snapshot

    calls: list[Split | None] = []
    plain = stock.split

    def spy(movements: list[Movement], prior: Split | None = None) -> Split:
        calls.append(prior)
        return plain(movements, prior)

    monkeypatch.setattr(stock, "split", spy)
    sheet = _snapshot({f"P{i:02d}": 5 for i in range(12)})
    rows = (Movement(key="mv1", sku="P01", qty=2, row=2),)
    snapshot = Snapshot(products=sheet.products, mall_labels=sheet.mall_labels, movements=rows)
    state = _landed(engine.step(engine.EngineState(), snapshot, [], NOW), NOW)
    assert state.memo is not None and state.memo.split is not None
    assert state.memo.split.rows is rows
    engine.step(state, snapshot, [], NOW + timedelta(seconds=15))
    assert calls == [None, state.memo.split]
