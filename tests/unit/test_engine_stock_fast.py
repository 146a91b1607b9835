"""The stock phase's cheap paths give what the plain computations give (hypothesis).

``stock.take_stock`` compares, in C, only the rows whose 在庫数 can differ from the
on-hand the bot knows (``_read_otherwise``); the plain filter is the oracle. ``jst``
formats each instant once for the few last instants (a step marks every 入出庫 row it
applies with its ``now``); its plain formatting is the oracle.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import Movement, Product
from bot.core.engine import stock
from bot.core.engine.contract import jst
from bot.core.engine.layered import Layered, with_changes
from tests.unit.test_engine_incremental import NOW, SKUS, _product, _Sheet

_VALUES = st.integers(-2, 3)


@given(
    rows=st.dictionaries(st.sampled_from(SKUS), _VALUES, min_size=1),
    known=st.dictionaries(st.sampled_from(SKUS), _VALUES),
    changed=st.dictionaries(st.sampled_from(SKUS), _VALUES),
    layered=st.booleans(),
)
def test_rows_read_otherwise_are_those_the_plain_filter_finds(
    rows: dict[str, int], known: dict[str, int], changed: dict[str, int], layered: bool
) -> None:
    products = {sku: Product(sku=sku, stock=value) for sku, value in rows.items()}
    on_hand = with_changes(Layered(known), changed) if layered else {**known, **changed}
    skus = list(products)
    want = [s for s in skus if products[s].stock != on_hand.get(s)]
    assert stock._read_otherwise(skus, products, on_hand) == want


def test_a_steady_cycle_compares_only_the_row_staff_edited() -> None:
    """The rows the bot wrote read back as written: only the edited row is looked at."""
    sheet = _Sheet(rows={s: _product(s, 5, i + 2) for i, s in enumerate(SKUS)})
    first = engine.step(engine.EngineState(), sheet.snapshot(reparse=False), [], NOW)
    state = engine.committed(first)
    sheet.rows[SKUS[0]] = _product(SKUS[0], 7, 2)
    snapshot = sheet.snapshot(reparse=False)
    assert stock._read_otherwise(list(SKUS), snapshot.products, state.stock) == [SKUS[0]]


@given(st.datetimes(timezones=st.just(UTC)), st.integers(0, 3))
def test_jst_formats_as_plainly_once_per_instant(when: datetime, again: int) -> None:
    for _ in range(again):
        jst(when + timedelta(seconds=again))
    said = jst(when)
    assert said == jst.__wrapped__(when)
    assert jst(when) is said


def test_a_steps_marks_format_its_now_once() -> None:
    """A step applying several 入出庫 rows formats its ``now`` once."""
    jst.cache_clear()
    sheet = _Sheet(rows={s: _product(s, 5, i + 2) for i, s in enumerate(SKUS)})
    sheet.movements = [
        Movement(key=f"k{i}", sku=SKUS[0], qty=1, row=i + 2, fingerprint=f"f{i}") for i in range(3)
    ]
    plan = engine.step(engine.EngineState(), sheet.snapshot(reparse=False), [], NOW)
    assert len(plan.movement_marks) == 3
    assert jst.cache_info().misses == 1
