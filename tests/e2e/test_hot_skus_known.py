"""The hot read's 商品コード column is recognised by its bytes (bot/infra/sheet/known_span.py).

Each cycle of a shop too big to read 商品マスタ whole still reads the whole 商品コード
column: the guard against rows staff moved. While its bytes are as last answered it is
not decoded again; the cycle a row's 商品コード changes, the guard still fires (the tabs
are read whole) and the product is seen where it now is.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.infra.sheet.known_span import MIN_TEXT_CHARS
from bot.infra.sheet.layers import Layers, OnLayers
from tests.e2e.conftest import MASTER, Shop


def test_an_unchanged_column_is_not_decoded_again_in_the_usual_cycle(big: Shop) -> None:
    span = big.worker.gateway.cache.sku_span
    big.cycle()  # the first hot read since the whole one: decoded, then known
    reused, decoded = span.reused, span.decoded
    big.type("FILL007", "在庫数", 9)
    for _ in range(4):
        big.cycle()
    assert (span.reused, span.decoded) == (reused + 4, decoded)
    assert big.stock("FILL007") == 9
    assert big.worker.gateway.cache.since_full is not None
    assert big.worker.gateway.cache.since_full >= 5


def test_a_changed_code_is_still_caught_and_read_whole(big: Shop) -> None:
    gateway = big.worker.gateway
    for _ in range(2):
        big.cycle()
    decoded = gateway.cache.sku_span.decoded
    big.type("FILL011", "商品コード", "NEW-011")
    big.type("FILL012", "在庫数", 4)

    big.cycle()

    assert gateway.cache.sku_span.decoded == decoded + 1
    assert gateway.cache.since_full == 0  # rows moved: the tabs were read whole
    assert "NEW-011" in gateway.products and "FILL011" not in gateway.products
    assert gateway.products["NEW-011"].row == big._product_row("NEW-011")
    assert big.stock("FILL012") == 4
    big.cycle()
    big.cycle()
    assert gateway.cache.sku_span.reused > 0  # known again against the new column
    assert [r for r in big.rows(MASTER) if r.get("商品コード") == "NEW-011"]


def test_the_usual_cycle_parses_the_rows_logged_not_every_row(
    big: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse compares only the rows the grid cache logged (no pass over every row)."""
    from bot.infra.sheet import parse_products

    passes: list[int] = []

    every_row = parse_products._every_row_compared

    def plain(last: Any, grid: Any) -> Any:
        passes.append(1)
        return every_row(last, grid)

    monkeypatch.setattr(parse_products, "_every_row_compared", plain)
    big.cycle()
    big.type("FILL021", "在庫数", 6)
    big.order(("tshirt:m", 2))
    for _ in range(3):
        big.cycle()
    assert passes == []
    assert big.stock("FILL021") == 6
    assert big.stock("TS-M") == 8
    big.type("TS-M", "在庫数", 20)  # a count typed over the bot's own write
    big.cycle()
    assert passes == []
    assert big.worker.gateway.read().snapshot.products["TS-M"].stock == 20
    big.worker.gateway.cache.forget()  # a whole read: rows anywhere may be new
    big.cycle()
    assert passes == [1]


def test_the_ledger_rows_are_not_decoded_again_in_the_usual_cycle(big: Shop) -> None:
    """_state's ledger rows (megabytes by a busy evening) come back as the same texts."""
    texts = big.worker.gateway.cache.state_texts
    for n in range(24):  # enough applied rows for a ledger row of MIN_TEXT_CHARS
        big.movement("FILL007", 1, memo=f"入荷 {n}")
    big.cycle()
    big.cycle()
    ledger = {k: v for k, v in big.state().items() if k.startswith("movements:")}
    assert max(map(len, ledger.values())) >= MIN_TEXT_CHARS
    reused = texts.reused
    big.type("FILL008", "在庫数", 3)
    for _ in range(3):
        big.cycle()
    assert texts.reused >= reused + 3  # each cycle put the kept ledger text back
    assert big.stock("FILL007") == 1 + 24  # each row applied once
    assert big.stock("FILL008") == 3


def test_the_usual_cycle_reads_the_settled_top_of_movements_as_shared_layers(big: Shop) -> None:
    """The read's 入出庫 maps are its own rows over the settled top's, shared, not copied."""
    gateway = big.worker.gateway
    for n in range(6):
        big.movement("FILL009", 1, memo=f"{n}")
        big.cycle()
    prefix = gateway.moves_prefix
    assert prefix is not None and isinstance(prefix.movement_rows, Layers)
    big.movement("FILL010", 2)

    read = gateway.read()

    assert isinstance(read.movement_rows, OnLayers) and isinstance(read.mark_by_row, OnLayers)
    assert read.movement_rows.base is prefix.movement_rows
    assert read.mark_by_row.base is prefix.marks
    # Its own entries: the row the last commit marked (settled since) and the new one
    assert len(read.movement_rows.own) == 2
    assert len(read.movement_rows) == len(prefix.movement_rows) + 2
