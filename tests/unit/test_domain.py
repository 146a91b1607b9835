"""The per-product and per-listing value objects: checks, value equality, immutability.

``Product``, ``ListingTarget``, ``StockPush``, ``PushResult``, ``MallLogRow`` and ``Movement`` are
slotted dataclasses (domain.py's docstring says why); these tests hold what the pydantic
models gave.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import MappingProxyType

import pytest
from pydantic import ValidationError

from bot.core.domain import (
    DisplayRule,
    ListingTarget,
    MallLogRow,
    Movement,
    Product,
    PushReason,
    PushResult,
    PushStatus,
    Snapshot,
    StockPush,
)
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.rows import meaning

AT = datetime(2026, 11, 23, tzinfo=UTC)


def product(**changes: object) -> Product:
    base = Product(
        sku="A",
        name="シャツ",
        stock=5,
        rule=DisplayRule.parse("-1"),
        codes={"rakuten": ("a:v",), "yahoo": ("a",)},
        row=2,
    )
    return dataclasses.replace(base, **changes)


def test_a_negative_quantity_is_refused_like_pydantic_refused_it() -> None:
    with pytest.raises(ValueError, match=r"ListingTarget\.quantity must be 0 or more, not -1"):
        ListingTarget(mall="rakuten", code="a:v", sku="A", quantity=-1)
    with pytest.raises(ValueError, match=r"StockPush\.quantity must be 0 or more, not -2"):
        StockPush(mall="rakuten", code="a:v", quantity=-2)
    target = ListingTarget(mall="rakuten", code="a:v", sku="A", quantity=0)
    with pytest.raises(ValueError, match="quantity"):
        dataclasses.replace(target, quantity=-1)
    assert target.quantity == 0
    assert StockPush(mall="rakuten", code="a:v", quantity=0).quantity == 0


def test_defaults_are_the_models_defaults() -> None:
    p = Product(sku="A")
    assert (p.name, p.stock, p.rule, p.low_stock, p.alloc_threshold) == ("", 0, None, None, None)
    assert (p.sync, p.backorder, p.row, dict(p.codes)) == (True, False, 0, {})
    target = ListingTarget(mall="rakuten", code="a:v", sku="A", quantity=3)
    assert (target.reason, target.backorder, target.why) == (PushReason.RULE, False, "")
    push = StockPush(mall="rakuten", code="a:v", quantity=3)
    assert (push.compare_to, push.backorder, push.reason, push.sku) == (
        None,
        None,
        PushReason.RULE,
        "",
    )
    result = PushResult(code="a:v", status=PushStatus.APPLIED)
    assert (result.quantity, result.message) == (None, "")


def test_equality_is_by_value_not_identity() -> None:
    assert product() == product() and product() is not product()
    assert product(codes=MappingProxyType({"rakuten": ("a:v",), "yahoo": ("a",)})) == product()
    assert product(rule=DisplayRule(kind="minus", n=1)) == product()
    for field, value in (
        ("stock", 6),
        ("row", 3),
        ("codes", {"rakuten": ("a:v",)}),
        ("rule", None),
        ("sync", False),
    ):
        assert product(**{field: value}) != product(), field
    a = ListingTarget(mall="rakuten", code="a:v", sku="A", quantity=3, why="")
    assert a == ListingTarget(mall="rakuten", code="a:v", sku="A", quantity=3)
    assert a != dataclasses.replace(a, reason=PushReason.STOPPED)
    assert PushResult(code="x", status=PushStatus.APPLIED) != PushResult(
        code="x", status=PushStatus.REJECTED
    )


def test_the_objects_are_frozen_and_carry_no_instance_dict() -> None:
    objects = (
        product(),
        ListingTarget(mall="rakuten", code="a:v", sku="A", quantity=3),
        StockPush(mall="rakuten", code="a:v", quantity=3),
        PushResult(code="a:v", status=PushStatus.APPLIED),
        MallLogRow(at=AT, mall="rakuten", code="a:v", sku="A", quantity=3, result="反映"),
        Movement(key="fp-1", sku="A", qty=5, done=True, ident="M20261123-0001"),
    )
    for obj in objects:
        for field in dataclasses.fields(obj):
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(obj, field.name, None)
        assert not hasattr(obj, "__dict__"), type(obj).__name__


def test_a_product_listed_nowhere_shares_one_read_only_empty_codes() -> None:
    a, b = Product(sku="A"), Product(sku="B")
    assert a.codes is b.codes
    with pytest.raises(TypeError):
        a.codes["rakuten"] = ("a:v",)  # type: ignore[index]
    assert dict(b.codes) == {}


def test_a_snapshot_keeps_the_products_it_is_given_in_its_own_dict() -> None:
    given = {"A": product(), "B": product(sku="B", row=3)}
    snap = Snapshot(products=given)
    assert snap.products == given
    assert snap.products is not given
    assert all(snap.products[sku] is p for sku, p in given.items())
    given["C"] = product(sku="C")
    assert "C" not in snap.products
    assert dict(Snapshot().products) == {}
    with pytest.raises(ValidationError, match="mapping of sku to Product"):
        Snapshot(products=[product()])  # type: ignore[arg-type]


def test_a_reads_meaning_ignores_where_rows_sit_but_sees_every_other_field() -> None:
    def read(*products: Product) -> SheetRead:
        return SheetRead(snapshot=Snapshot(products={p.sku: p for p in products}))

    assert meaning(read(product())) == meaning(read(product(row=40)))
    for field, value in (("stock", 4), ("name", "靴"), ("backorder", True), ("codes", {})):
        assert meaning(read(product(**{field: value}))) != meaning(read(product())), field


def test_equal_display_rules_are_one_shared_object() -> None:
    assert DisplayRule.parse("-1") is DisplayRule.parse(" -1 ") is DisplayRule.of("minus", 1)
    assert DisplayRule.parse("") is DisplayRule.of("stock")
    assert DisplayRule.parse("5") == DisplayRule(kind="cap", n=5)
    assert DisplayRule.parse("+2") is not DisplayRule.parse("2")
    with pytest.raises(ValidationError):
        DisplayRule.of("cap", -1)


def test_a_snapshot_keeps_the_movements_it_is_given() -> None:
    rows = (Movement(key="fp-1", sku="A", qty=5), Movement(key="fp-2", sku="B", qty=-1))
    snap = Snapshot(movements=rows, movement_ledger=list(rows))
    assert snap.movements is rows  # not copied row by row every cycle
    assert snap.movement_ledger == rows
    with pytest.raises(ValidationError, match="tuple of Movement"):
        Snapshot(movements={"fp-1": rows[0]})  # type: ignore[arg-type]
