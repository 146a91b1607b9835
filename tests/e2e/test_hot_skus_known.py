"""The hot read's 商品コード column is recognised by its bytes (bot/infra/sheet/known_span.py).

Each cycle of a shop too big to read 商品マスタ whole still reads the whole 商品コード
column: the guard against rows staff moved. While its bytes are as last answered it is
not decoded again; the cycle a row's 商品コード changes, the guard still fires (the tabs
are read whole) and the product is seen where it now is.
"""

from __future__ import annotations

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
