"""The usual commit takes the fast forms of its checks (issue 10 item 3).

Their property tests (tests/unit/test_commit_fast.py) hold each fast form to its plain
computation; these pin that a usual cycle, nothing moved or edited under the commit,
is decided by the fast form and never falls back to the plain one.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.infra.sheet import commit, hot, logs, repair, values
from bot.infra.sheet.encoded import Encoded
from tests.sheet.conftest import MOVEMENTS, PRODUCTS, Book, product_row
from tests.sheet.test_commit_answer import batch_update_bodies
from tests.sheet.test_gateway import Bot, order


@pytest.fixture
def bot(book: Book) -> Bot:
    """Five products and a movement, started and one cycle run: the next is a usual one."""
    book.add_products([product_row(s, 10) for s in "ABCDE"])
    book.add_movement("A", 5)
    started = Bot.start(book)
    started.cycle()
    book.clock.advance(15)
    return started


def test_a_usual_reread_compares_its_rows_all_at_once(
    book: Book, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the header row is compared on its own; the rows and 入出庫 in one go."""
    pairs: list[tuple[Any, Any]] = []
    at_once: list[bool] = []
    one, many = hot.same_row, hot.same_rows

    def each(a: Any, b: Any) -> bool:
        pairs.append((a, b))
        return one(a, b)

    def all_of(a: Any, b: Any) -> bool:
        got = many(a, b)
        at_once.append(got)
        return got

    monkeypatch.setattr(hot, "same_row", each)
    monkeypatch.setattr(hot, "same_rows", all_of)
    book.add_movement("C", 2)

    plan, result = bot.cycle([order("b", 1), order("d", 2, order_id="100-2")])

    assert not result.conflict and plan.stock == {"B": 9, "D": 8, "C": 12}
    assert at_once == [True, True]  # 商品マスタ's rows, then 入出庫's re-read rows
    assert pairs == [(pairs[0][0], book.grid(PRODUCTS)[0])]  # the header row alone
    assert [m["商品コード"] for m in book.records(MOVEMENTS)] == ["A", "C"]


def test_a_usual_commit_compares_the_named_statuses_at_once(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the 状態 that can differ are compared, and in C: never one row at a time."""
    named: list[Any] = []
    by_row: list[Any] = []
    name, one_by_one = commit._named, commit._statuses_row_by_row

    def naming(*args: Any) -> Any:
        named.append(name(*args))
        return named[-1]

    def row_by_row(*args: Any) -> Any:
        by_row.append(args)
        return one_by_one(*args)

    monkeypatch.setattr(commit, "_named", naming)
    monkeypatch.setattr(commit, "_statuses_row_by_row", row_by_row)

    plan, result = bot.cycle([order("b", 1), order("d", 2, order_id="100-2")])

    assert not result.conflict and plan.stock == {"B": 9, "D": 8}
    assert named and all(n is not None for n in named)
    assert by_row == []


def _settled_two_movements(book: Book) -> Bot:
    """A bot a cycle on: products A–C, 入出庫 rows for A and B applied (済)."""
    book.add_products([product_row(s, 10) for s in "ABC"])
    book.add_movement("A", 5)
    book.add_movement("B", 1)
    bot = Bot.start(book)
    bot.cycle()
    book.clock.advance(15)
    return bot


def test_a_usual_commit_checks_its_marks_without_copying_the_settled_top(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """入出庫's settled top (two 済 rows here) is parsed on from, its rows not copied.

    (A parse the check needs when the rows below the top changed under the commit; a
    usual commit's rows read as re-read and are not parsed at all: the test below. The
    parse is forced here.)
    """
    monkeypatch.setattr(repair.RowRepair, "_kept_keys", lambda *_: None)
    bot = _settled_two_movements(book)
    grids: list[list[Any]] = []
    join = repair.after_top

    def spy(prefix: Any, tail: Any) -> list[list[Any]]:
        grids.append(join(prefix, tail))
        return grids[-1]

    monkeypatch.setattr(repair, "after_top", spy)
    book.add_movement("C", 2)

    plan, result = bot.cycle()

    assert not result.conflict and plan.stock == {"C": 12} and result.requests == 2
    (grid,) = grids
    assert grid[1] == () and len(grid) == 4  # header, (A: not copied), B, C
    assert all(str(m["反映"]).startswith("済") for m in book.records(MOVEMENTS))


def test_a_usual_commit_checks_its_marks_by_the_reread_keys_without_a_parse(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows below 入出庫's settled top as re-read: their keys are the re-read's."""
    bot = _settled_two_movements(book)
    joined: list[Any] = []
    kept: list[Any] = []
    join, keep = repair.after_top, repair.RowRepair._kept_keys
    monkeypatch.setattr(repair, "after_top", lambda *a: joined.append(a) or join(*a))

    def keeping(self: repair.RowRepair, *args: Any) -> Any:
        kept.append(keep(self, *args))
        return kept[-1]

    monkeypatch.setattr(repair.RowRepair, "_kept_keys", keeping)
    book.add_movement("C", 2)

    plan, result = bot.cycle()

    assert not result.conflict and plan.stock == {"C": 12} and result.requests == 2
    assert len(kept) == 1 and kept[0] is not None and len(kept[0]) == 1  # C's 反映
    assert joined == []  # no parse of the rows below the top
    assert all(str(m["反映"]).startswith("済") for m in book.records(MOVEMENTS))


def test_a_usual_commit_checks_its_marked_rows_without_comparing_cell_by_cell(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer's rows, 反映 blanked, read as the re-read's (no mark yet) but for a blank.

    So :func:`values.same_row` tells them alike at once, no cell compared as text.
    """
    bot = _settled_two_movements(book)
    keep, same = repair.RowRepair._kept_keys, values.same
    compared: list[Any] = []
    during: list[int] = []

    def keeping(self: repair.RowRepair, *args: Any) -> Any:
        before = len(compared)
        kept = keep(self, *args)
        during.append(len(compared) - before)
        return kept

    monkeypatch.setattr(repair.RowRepair, "_kept_keys", keeping)
    monkeypatch.setattr(values, "same", lambda a, b: compared.append(a) or same(a, b))
    book.add_movement("C", 2)

    plan, result = bot.cycle()

    assert not result.conflict and plan.stock == {"C": 12} and result.requests == 2
    assert during == [0]  # C's row checked, none of its cells compared one by one
    assert all(str(m["反映"]).startswith("済") for m in book.records(MOVEMENTS))


def test_a_usual_commit_sends_its_cells_and_log_rows_as_text(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit's one-cell writes and log appends go as JSON text, never as dicts.

    Its log rows and its cells (none on adjacent rows) are made a column at a time.
    """
    bodies = batch_update_bodies(monkeypatch)
    plain: list[Any] = []
    monkeypatch.setattr(commit, "_one_cell", lambda *a: plain.append(a))
    monkeypatch.setattr(logs, "row_json", lambda line: plain.append(line))  # (row by row)
    monkeypatch.setattr(commit, "one_cell", lambda *a: plain.append(a))  # (a cell at a time)

    plan, result = bot.cycle([order("b", 1), order("d", 2, order_id="100-2")])

    assert not result.conflict and plan.stock == {"B": 9, "D": 8}
    (body,) = [b for b in bodies if b.get("responseRanges")]
    texts = [r.value() for r in body["requests"] if isinstance(r, Encoded)]
    kinds = [next(iter(r)) for r in texts]
    assert kinds.count("appendCells") == 1  # 販売ログ (orders write no 操作ログ row)
    assert kinds.count("updateCells") >= 2  # B's and D's 在庫数 at least
    assert not [r for r in body["requests"] if isinstance(r, dict) and "appendCells" in r]
    assert plain == []
    assert {r["商品コード"]: r["在庫数"] for r in bot.book.records(PRODUCTS)}["D"] == 8
