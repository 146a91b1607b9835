"""Log tabs are trimmed oldest-first to their retention; 販売ログ keeps its minimum days."""

from __future__ import annotations

from datetime import timedelta

from bot.core.domain import OrderLine
from tests.sheet.conftest import Book
from tests.sheet.test_gateway import Bot, three_products

SALES = "販売ログ"
OPS = "操作ログ"


def sale(n: int) -> OrderLine:
    return OrderLine(mall="rakuten", order_id=f"o{n}", line_id="1", code="a", units=1)


def test_ops_log_is_trimmed_oldest_first_in_the_same_call(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    bot.gw.retention["ops_log"] = (20, None)
    for n in range(30):
        book.set_cell("B", "在庫数", 100 + n)  # a stocktake: one 操作ログ row per cycle
        book.clock.advance(15)
        book.emu.reset_counts()
        bot.cycle()
        assert book.emu.counts()["write"] == 1  # the trim rides in the commit
    rows = book.records(OPS)
    assert 20 <= len(rows) <= 21
    assert rows[-1]["変更後"] == "129"  # the newest kept, the oldest gone
    assert bot.gw.log_rows["ops_log"] == len(rows)


def test_sales_log_keeps_the_cancellation_window(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    bot.gw.retention["sales_log"] = (10, 60)
    for n in range(30):
        bot.cycle([sale(n)])
        book.clock.advance(3600)
    # Every row is younger than 60 days: nothing may go, whatever the row limit.
    assert len(book.records(SALES)) == 30
    book.clock.advance(timedelta(days=61).total_seconds())
    bot.cycle([sale(100)])
    rows = book.records(SALES)
    assert len(rows) <= 11
    assert rows[-1]["注文番号"] == "o100"


def test_restart_counts_existing_rows(book: Book) -> None:
    three_products(book)
    bot = Bot.start(book)
    for n in range(5):
        bot.cycle([sale(n)])
    again = Bot.start(book)
    assert again.gw.log_rows["sales_log"] == 5
    assert len(again.gw.sales_dates) == 5


def test_the_dates_kept_for_retention_share_one_object_per_written_time(book: Book) -> None:
    # 販売ログ's dates are kept one per row (120,000 an hour at 100k products): the rows of
    # one write carry one 日時 and keep one datetime, not one each.
    three_products(book)
    bot = Bot.start(book)
    bot.cycle([sale(1), sale(2), sale(3)])
    book.clock.advance(15)
    bot.cycle([sale(4)])
    dates = list(bot.gw.sales_dates)
    assert len(dates) == 4 and None not in dates
    assert dates[0] is dates[1] is dates[2]
    assert dates[3] is not dates[0] and dates[3] == dates[0] + timedelta(seconds=15)
    again = Bot.start(book)  # a restart's count shares them the same way
    kept = list(again.gw.sales_dates)
    assert kept == dates and kept[0] is kept[1] is kept[2] and kept[3] is not kept[0]
