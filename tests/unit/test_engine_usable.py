"""The usable products: ``Snapshot.products`` without the invalid sets, in sheet order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pytest import MonkeyPatch

from bot.core import engine
from bot.core.domain import Product, SetComponent
from bot.core.engine import cycle
from tests.unit.test_engine import product, run, snap

_SKUS = st.lists(st.sampled_from([f"S{i}" for i in range(12)]), unique=True)


@given(_SKUS, st.frozensets(st.sampled_from([f"S{i}" for i in range(16)])))
def test_usable_is_the_rows_not_invalid_in_order(skus: list[str], invalid: frozenset[str]) -> None:
    products = {s: product(s, i) for i, s in enumerate(skus)}
    plain = {s: p for s, p in products.items() if s not in invalid}  # the oracle
    usable = cycle._usable(products, invalid)
    assert list(usable.items()) == list(plain.items())
    assert list(products) == skus  # the snapshot's map is left as it was


def test_a_step_with_a_broken_set_takes_the_usable_copy(monkeypatch: MonkeyPatch) -> None:
    calls: list[frozenset[str]] = []

    def counted(products: dict[str, Product], invalid: frozenset[str]) -> dict[str, Product]:
        calls.append(invalid)
        return usable(products, invalid)

    usable = cycle._usable
    monkeypatch.setattr(cycle, "_usable", counted)
    s = snap(
        product("A", 1),
        product("S1", 0),
        sets=(SetComponent(set_sku="S1", component_sku="MISSING", qty=1, row=2),),
    )
    plan, _ = run(engine.EngineState(), s)
    assert calls == [frozenset({"S1"})]
    assert {p.code for p in plan.pushes} == {"a:v"}
