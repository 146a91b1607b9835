"""A ledger line holds its key, not order and line ids of its own (issue 10 item 5).

The ledger keeps its lines for the cancel window: 120,000 an hour at 100k products. A
``LineState`` holds the key string the ledger's mapping is keyed by and where the order
id ends in it; ``order_id`` and ``line_id`` are cut from the key when asked.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import OrderLine, Product, SaleKind, Snapshot
from bot.core.engine.rebuild import LedgerEntry, rebuild
from bot.core.engine.state import LineState

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)

ids = st.text(alphabet=st.sampled_from("ab:1-_楽"), max_size=8)


def _stored_key(mapping: dict[str, object], key: str) -> str:
    """The key object ``mapping`` holds for ``key`` (not the equal one asked with)."""
    return next(k for k in mapping if k == key)


def test_a_line_state_has_no_order_or_line_id_of_its_own() -> None:
    assert "order_id" not in LineState.__slots__
    assert "line_id" not in LineState.__slots__


@given(mall=st.sampled_from(["rakuten", "yahoo", "a:b"]), order_id=ids, line_id=ids)
def test_the_ids_read_back_as_given_even_with_colons(
    mall: str, order_id: str, line_id: str
) -> None:
    line = OrderLine(mall=mall, order_id=order_id, line_id=line_id, code="c", units=1)
    key = line.key
    ls = LineState.of(
        mall=mall, order_id=order_id, line_id=line_id, code="c", sku="S", applied=1,
        reported=1, key=key,
    )  # fmt: skip
    assert (ls.mall, ls.order_id, ls.line_id, ls.key) == (mall, order_id, line_id, key)
    assert ls.key is key
    bare = LineState.of(
        mall=mall, order_id=order_id, line_id=line_id, code="c", sku="S", applied=1, reported=1
    )
    assert bare == ls
    wrong = LineState.of(
        mall=mall, order_id=order_id, line_id=line_id, code="c", sku="S", applied=1,
        reported=1, key=key + "x",
    )  # fmt: skip
    assert wrong == ls  # a key that is not the line's own is not taken


def _step(lines: list[OrderLine], state: engine.EngineState | None = None) -> engine.Plan:
    products = {"A": Product(sku="A", stock=5, codes={"rakuten": ("a",)})}
    return engine.step(state or engine.EngineState(), Snapshot(products=products), lines, NOW)


def test_the_ledger_lines_hold_the_key_their_mapping_is_keyed_by() -> None:
    sold = OrderLine(mall="rakuten", order_id="100-1:x", line_id="7", code="a", units=2)
    waiting = OrderLine(mall="rakuten", order_id="100-2", line_id="1", code="zz", units=1)
    plan = _step([sold, waiting])
    lines = dict(plan.next_state.lines)
    assert set(lines) == {sold.key, waiting.key}
    for key, ls in lines.items():
        assert ls.key is key
    assert (lines[sold.key].order_id, lines[sold.key].line_id) == ("100-1:x", "7")
    assert lines[waiting.key].pending is SaleKind.UNASSIGNED
    # a waiting line retried (built from its state) keeps the same key and ids
    again = _step([], engine.committed(plan))
    kept = dict(again.next_state.lines)[waiting.key]
    assert kept.key is _stored_key(dict(again.next_state.lines), waiting.key)
    assert (kept.order_id, kept.line_id) == ("100-2", "1")


def test_a_rebuilt_line_holds_its_mapping_key() -> None:
    entry = LedgerEntry(
        key="rakuten:9:1", mall="rakuten", order_id="9", line_id="1", kind=SaleKind.SALE,
        code="a", sku="A", qty=-1, applied=1, at=NOW,
    )  # fmt: skip
    state = rebuild([entry])
    (key, ls), = state.lines.items()  # fmt: skip
    assert ls.key is key
    assert (ls.order_id, ls.line_id, ls.applied) == ("9", "1", 1)
