"""A commit's answer carries its written rows' 商品コード only (issue 10 item 3).

Checking a commit needs the key of each row it wrote; the values are read only once a
row is found moved (the repair reads the columns whole then). So the atomic
batchUpdate asks 商品マスタ's header row in every read-back column and the written
rows in the 商品コード column alone. The moved-row tests in test_gateway.py hold the
repair to what it was; this pins the narrow answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from bot.infra.sheet import repair, rows
from bot.infra.sheet.cells import column_letter
from bot.infra.sheet.gateway import SheetGateway
from tests.sheet.conftest import PRODUCTS, SALES_LOG, Book, product_row
from tests.sheet.test_gateway import Bot, order

HEADER = re.compile(r"!([A-Z]+)1:([A-Z]+)1$")


def _covers(a1: str, col: int) -> bool:
    """Whether a header range ``'t'!C1:E1`` takes in column ``col`` (0-based)."""
    found = HEADER.search(a1)
    assert found is not None
    first, last = (
        sum(26**i * (ord(ch) - 64) for i, ch in enumerate(reversed(x))) - 1 for x in found.groups()
    )
    return first <= col <= last


@pytest.fixture
def bot(book: Book) -> Bot:
    """Five products, started and one cycle run: the next cycle's commit is a usual one."""
    book.add_products([product_row(s, 10) for s in "ABCDE"])
    started = Bot.start(book)
    started.cycle()
    book.clock.advance(15)
    return started


def batch_update_bodies(monkeypatch: pytest.MonkeyPatch) -> list[Mapping[str, Any]]:
    """Every batchUpdate body the gateway sends from now on, as it hands it over."""
    bodies: list[Mapping[str, Any]] = []
    send = SheetGateway._batch_update

    def spy(self: SheetGateway, body: Mapping[str, Any], params: Any) -> Any:
        bodies.append(body)
        return send(self, body, params)

    monkeypatch.setattr(SheetGateway, "_batch_update", spy)
    return bodies


def test_the_commit_asks_back_the_written_rows_by_code_only(
    book: Book, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = batch_update_bodies(monkeypatch)

    bot.cycle([order("b", 1), order("d", 2, order_id="100-2")])

    (commit,) = [b for b in bodies if b.get("responseRanges")]
    header = book.header(PRODUCTS)
    sku = column_letter(header.index("商品コード"))
    title = f"'{PRODUCTS}'"
    mine = [r for r in commit["responseRanges"] if r.startswith(f"{title}!")]
    heads = [r for r in mine if HEADER.search(r)]
    assert [r for r in mine if r not in heads] == [
        f"{title}!{sku}3:{sku}3",
        f"{title}!{sku}5:{sku}5",
    ]
    stock = header.index("在庫数")  # the header row still in every read-back column
    assert any(_covers(r, stock) for r in heads)
    got = {r["商品コード"]: r["在庫数"] for r in book.records(PRODUCTS)}
    assert got == {"A": 10, "B": 9, "C": 10, "D": 8, "E": 10}


def test_a_commit_whose_rows_stayed_put_never_lists_what_a_repair_would_write(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cells a repair would put back are worked out only once a row is found moved."""
    made: list[repair.RowRepair] = []
    init = repair.RowRepair.__init__

    def spy(self: repair.RowRepair, *args: Any) -> None:
        init(self, *args)
        made.append(self)

    monkeypatch.setattr(repair.RowRepair, "__init__", spy)

    bot.cycle([order("b", 1), order("d", 2, order_id="100-2")])

    (checked,) = made
    assert checked.placed and not checked.wrong
    assert checked.wanted == {}


def test_a_commits_log_rows_format_each_time_once(
    book: Book, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four 販売ログ rows of one cycle: their shared time is formatted once."""
    stamped: list[object] = []
    stamp = rows.format_jst

    def counted(when: Any) -> str:
        stamped.append(when)
        return stamp(when)

    monkeypatch.setattr(rows, "format_jst", counted)
    lines = [order(c, 1, order_id=f"100-{i}") for i, c in enumerate("abcd")]

    bot.cycle(lines)

    assert len(book.records(SALES_LOG)) == 4
    assert len(stamped) == len(set(stamped)) >= 1
