"""The record step at size: bounded request bodies, 出品状況 from memory, log retention.

Every test runs the production gateway through real gspread on the emulator; request
bodies are measured as they cross the transport (:class:`BodyMeter`), exactly as
``requests`` sends them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

from bot.core import engine, words
from bot.core.domain import (
    ErrorLogRow,
    ListingTarget,
    MallLogRow,
    PushReason,
    PushResult,
    PushStatus,
    StockPush,
)
from bot.infra.sheet import budget, listing_writes
from bot.infra.sheet import record as record_module
from bot.infra.sheet.gateway import (
    RecordIncomplete,
    SheetGateway,
    make_client,
    state_values,
)
from bot.infra.sheet.layout import SheetRead, column_letter, load_template
from bot.infra.sheet.rows import reason_text
from bot.infra.sheet.tabs import MALL_LOG as MALL_LOG_KEY
from bot.sandbox.sheets import SHEETS_PREFIX, DenyAllAdapter, SheetsEmulator
from bot.shell.push_log import push_log_rows
from tests.sheet.conftest import ERROR_LOG, LISTINGS, MALL_LOG, STATE, Book

LABEL = "楽天"
TAIL_CHECK = timedelta(seconds=61)


class BodyMeter(BaseAdapter):
    """A requests adapter in front of the emulator keeping each body's size and JSON."""

    def __init__(self, emu: SheetsEmulator) -> None:
        super().__init__()
        self.emu = emu
        self.bodies: list[tuple[str, int, dict[str, Any]]] = []

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        body = request.body or b""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        url = (request.url or "").split("?", 1)[0]
        op = "batchUpdate" if url.endswith(":batchUpdate") else str(request.method)
        self.bodies.append((op, len(raw), json.loads(raw) if raw else {}))
        return self.emu.send(request, stream, timeout, verify, cert, proxies)

    def close(self) -> None:
        """The emulator outlives every session."""

    def writes(self) -> list[tuple[int, dict[str, Any]]]:
        return [(n, body) for op, n, body in self.bodies if op == "batchUpdate"]


def metered_gateway(book: Book) -> tuple[SheetGateway, BodyMeter, SheetRead]:
    """A started gateway (start-up read and one commit) behind a body meter."""
    meter = BodyMeter(book.emu)
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", DenyAllAdapter())
    session.mount(SHEETS_PREFIX, meter)
    client = make_client(session=session, clock=book.clock, stop=book.stop, rng=book.rng)
    gw = SheetGateway.open(client, book.sid, malls=["rakuten"])
    gw.load_startup()
    read = gw.read()
    plan = engine.step(engine.EngineState(), read.snapshot, [], book.clock.now())
    values = state_values({}, plan.next_state.conditions, plan.next_state.stock)
    result = gw.commit(plan, read, values, bot_stock=None, commit_id="c-0")
    assert not result.conflict
    meter.bodies.clear()
    book.emu.reset_counts()
    return gw, meter, result.read


def code(i: int) -> str:
    return f"item{i:05d}:v"


def targets(n: int, *, qty: int = 0) -> list[ListingTarget]:
    return [
        ListingTarget(mall="rakuten", code=code(i), sku=f"SKU{i:05d}", quantity=qty + i % 50)
        for i in range(n)
    ]


def pushes(
    listings: Sequence[ListingTarget], failed: frozenset[int] = frozenset()
) -> list[tuple[StockPush, PushResult]]:
    out = []
    for i, t in enumerate(listings):
        status = PushStatus.UNKNOWN_CODE if i in failed else PushStatus.APPLIED
        push = StockPush(mall=t.mall, code=t.code, quantity=t.quantity, sku=t.sku)
        out.append((push, PushResult(code=t.code, status=status, quantity=t.quantity)))
    return out


def mall_logs(book: Book, pushed: Sequence[tuple[StockPush, PushResult]]) -> list[MallLogRow]:
    """The worker's rows for one cycle's pushes (a summary row above 200 to one channel)."""
    rows = [
        MallLogRow(
            at=book.clock.now(),
            mall=p.mall,
            code=p.code,
            sku=p.sku,
            quantity=p.quantity,
            result="コードなし" if r.status is PushStatus.UNKNOWN_CODE else "反映済",
        )
        for p, r in pushed
    ]
    return push_log_rows(pushed, rows, book.clock.now(), {"rakuten": LABEL})


def record(
    gw: SheetGateway,
    book: Book,
    read: SheetRead,
    listings: Sequence[ListingTarget],
    pushed: Sequence[tuple[StockPush, PushResult]],
    logs: Sequence[MallLogRow] | None = None,
    errors: Sequence[ErrorLogRow] = (),
    commit_id: str = "c-1",
) -> int:
    rows = mall_logs(book, pushed) if logs is None else logs
    return gw.record(read, pushed, rows, listings, errors, book.clock.now(), commit_id)


def listing_rows(book: Book) -> dict[str, dict[str, Any]]:
    """出品状況 by モール商品コード; fails on a listing with two rows."""
    out: dict[str, dict[str, Any]] = {}
    for row in book.records(LISTINGS):
        assert row["モール商品コード"] not in out, f"two rows for {row['モール商品コード']}"
        out[row["モール商品コード"]] = row
    return out


def assert_bounded(meter: BodyMeter) -> None:
    sizes = [n for _, n, _ in meter.bodies]
    assert sizes and max(sizes) <= budget.MAX_REQUEST_BYTES, max(sizes)


# =========================================================================== at size


def test_a_cold_start_of_30000_listings_is_sent_in_bodies_under_two_megabytes(book: Book) -> None:
    gw, meter, read = metered_gateway(book)
    listings = targets(30_000)
    pushed = pushes(listings, failed=frozenset({7, 20_000, 29_999}))

    sent = record(gw, book, read, listings, pushed)

    writes = meter.writes()
    assert len(writes) > 1 and sent == len(meter.bodies)
    assert_bounded(meter)
    # Before: one batchUpdate of the same rows (the code this replaces sent them whole).
    assert sum(n for n, _ in writes) > budget.MAX_REQUEST_BYTES * 2
    rows = listing_rows(book)
    assert len(rows) == 30_000
    assert all(rows[code(i)]["表示在庫"] == i % 50 for i in range(30_000))
    assert rows[code(7)]["結果"] == words.say("engine.push_unknown_code")
    assert rows[code(8)]["結果"] == words.say("engine.push_applied")
    # モール更新ログ: one summary row for the channel, then each failed listing.
    (summary, *failed) = book.records(MALL_LOG)
    assert summary["結果"] == words.say("shell.push_bulk_result") == "一括送信"
    assert summary["モール"] == LABEL and summary["表示在庫"] in ("", None)
    assert "30000件" in summary["詳細"] and "成功 29997件・失敗 3件" in summary["詳細"]
    assert [r["モール商品コード"] for r in failed] == [code(7), code(20_000), code(29_999)]
    # Each batchUpdate carried its own marker; the last one is in _state.
    state = {r["キー"]: r["値"] for r in book.records(STATE)}
    assert state["last_record"] == f"c-1/record/{len(writes)}"


def test_after_the_cold_start_only_changed_rows_are_written(book: Book) -> None:
    gw, meter, read = metered_gateway(book)
    listings = targets(2_000)
    record(gw, book, read, listings, pushes(listings))
    before = listing_rows(book)
    book.clock.advance(15)
    meter.bodies.clear()

    changed = [replace(listings[5], quantity=49)]
    record(gw, book, read, listings, pushes(changed), commit_id="c-2")

    ((_, body),) = meter.writes()
    writes = [r for r in body["requests"] if "updateCells" in r]
    listings_id = gw.sheet_ids["listings"]
    (row_write,) = [w for w in writes if w["updateCells"]["start"]["sheetId"] == listings_id]
    assert len(row_write["updateCells"]["rows"]) == 1  # one row, in place
    assert not [r for r in body["requests"] if "appendCells" in r and "sheetId" in r]
    after = listing_rows(book)
    assert after[code(5)]["表示在庫"] == 49
    assert {k: v for k, v in after.items() if k != code(5)} == {
        k: v for k, v in before.items() if k != code(5)
    }
    # 出品状況 is not read: a cycle reads its header row only.
    book.emu.reset_counts()
    gw.read()
    (call,) = book.emu.requests
    assert f"'{LISTINGS}'!1:1" in call.ranges and f"'{LISTINGS}'" not in call.ranges


def test_each_listing_piece_is_laid_out_once_whether_it_updates_or_appends(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A piece is built when its batchUpdate is packed and sent as built (not built again)."""
    gw, meter, read = metered_gateway(book)
    listings = targets(6_000)
    built: list[int] = []
    layout = listing_writes.LogTabs.layout
    update = listing_writes.update_cells

    def counted_layout(*args: Any) -> Any:
        if args[0].key == "listings":  # (the log tabs' rows are laid out by the same)
            built.append(len(args[2]))
        return layout(*args)

    def counted_update(*args: Any) -> Any:
        built.append(len(args[3]))
        return update(*args)

    single = listing_writes._single_rows

    def counted_single(*args: Any) -> Any:  # scattered rows: one updateCells each, inline
        made = single(*args)
        built.extend(1 for _ in made)
        return made

    monkeypatch.setattr(listing_writes.LogTabs, "layout", staticmethod(counted_layout))
    monkeypatch.setattr(listing_writes, "update_cells", counted_update)
    monkeypatch.setattr(listing_writes, "_single_rows", counted_single)
    record(gw, book, read, listings, pushes(listings))
    assert len(meter.writes()) > 1  # a cold start of several batchUpdates
    # Rows are laid out once to cut them into pieces and once as each piece is sent.
    assert sum(built) == 2 * 6_000
    book.clock.advance(15)
    built.clear()
    meter.bodies.clear()

    changed = [replace(t, quantity=t.quantity + 1) for t in listings[::7]]
    record(gw, book, read, listings, pushes(changed), commit_id="c-2")

    ((_, body),) = meter.writes()
    listings_id = gw.sheet_ids["listings"]
    sent = [
        r
        for r in body["requests"]
        if r.get("updateCells", {}).get("start", {}).get("sheetId") == listings_id
    ]
    assert len(sent) == len(changed) == len(built)  # each row's request built once


def test_the_usual_cycles_scattered_rows_share_pieces(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows pushed here and there (the usual cycle): a few pieces, not one a row."""
    gw, meter, read = metered_gateway(book)
    listings = targets(3_000)
    record(gw, book, read, listings, pushes(listings))
    book.clock.advance(15)
    meter.bodies.clear()
    planned: list[int] = []
    plan = record_module.listing_pieces

    def counted(*args: Any) -> list[listing_writes.Piece]:
        pieces = plan(*args)
        planned.append(len(pieces))
        return pieces

    monkeypatch.setattr(record_module, "listing_pieces", counted)
    changed = [replace(t, quantity=t.quantity + 1) for t in listings[::3]]
    record(gw, book, read, listings, pushes(changed), commit_id="c-2")

    assert planned and planned[0] <= 5  # 1,000 rows, none next to another
    assert len(meter.writes()) == 1
    rows = listing_rows(book)
    assert all(rows[t.code]["表示在庫"] == t.quantity for t in changed)


# =========================================================================== failures


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small pieces and bodies, so a few hundred rows make many batchUpdates."""
    monkeypatch.setattr(budget, "PIECE_BYTES", 3_000)
    monkeypatch.setattr("bot.infra.sheet.record.MAX_REQUEST_BYTES", 12_000)


def fail_nth_write(book: Book, nth: int, status: int = 503, times: int = 5) -> None:
    """The ``nth`` next write and its retries are answered ``status`` (nothing applied)."""
    book.emu.before_next(lambda: book.emu.fail_next(status, times=times), nth, kind="write")


@pytest.mark.usefixtures("small_budget")
def test_a_batch_failing_halfway_keeps_what_landed_and_hands_back_the_rest(book: Book) -> None:
    gw, meter, read = metered_gateway(book)
    listings = targets(300)
    pushed = pushes(listings, failed=frozenset(range(0, 300, 10)))  # 30 failures
    logs = mall_logs(book, pushed)
    errors = [
        ErrorLogRow(at=book.clock.now(), where="楽天 在庫更新", message=f"m{i}") for i in range(40)
    ]
    fail_nth_write(book, 3)

    with pytest.raises(RecordIncomplete) as info:
        record(gw, book, read, listings, pushed, logs, errors)

    landed = meter.writes()
    assert len([b for b in landed if b]) >= 3
    done_logs = book.records(MALL_LOG)
    done_errors = book.records(ERROR_LOG)
    err = info.value
    # Nothing is lost: what landed plus what is handed back is everything, once.
    assert len(done_logs) + len(err.mall_logs) == len(logs)
    assert len(done_errors) + len(err.errors) == len(errors)
    assert gw.listing_book.owed  # 出品状況 rows not written stay owed in the gateway

    book.clock.advance(15)
    record(gw, book, read, listings, [], list(err.mall_logs), list(err.errors), "c-2")

    assert len(book.records(MALL_LOG)) == len(logs)  # nothing twice
    assert [r["内容"] for r in book.records(ERROR_LOG)] == [f"m{i}" for i in range(40)]
    rows = listing_rows(book)
    assert len(rows) == 300 and all(rows[code(i)]["表示在庫"] == i % 50 for i in range(300))
    assert not gw.listing_book.owed
    assert_bounded(meter)


@pytest.mark.usefixtures("small_budget")
def test_bodies_are_measured_as_the_client_sends_them_and_stay_within_the_limit(
    book: Book,
) -> None:
    gw, meter, read = metered_gateway(book)
    listings = targets(300)
    pushed = pushes(listings, failed=frozenset(range(0, 300, 7)))
    errors = [
        ErrorLogRow(at=book.clock.now(), where="楽天 在庫更新", message="在庫" * i)
        for i in range(60)
    ]

    record(gw, book, read, listings, pushed, errors=errors)
    book.clock.advance(15)
    changed = [replace(t, quantity=t.quantity + 1) for t in listings[::3]]
    record(gw, book, read, listings, pushes(changed), commit_id="c-2")

    writes = meter.writes()
    assert len(writes) > 10
    # The budget counts the bytes that cross the wire (UTF-8, compact), not json.dumps'.
    assert all(n == budget.json_size(body) for n, body in writes)
    limit = 12_000  # small_budget's MAX_REQUEST_BYTES
    assert max(n for n, _ in writes) <= limit
    assert max(n for n, _ in writes) > limit // 2  # packed, not cut by a loose guess


@pytest.mark.usefixtures("small_budget")
def test_a_batch_whose_answer_is_lost_is_not_sent_twice(book: Book) -> None:
    gw, _, read = metered_gateway(book)
    listings = targets(300)
    pushed = pushes(listings, failed=frozenset(range(0, 300, 3)))  # 100 rows to log
    logs = mall_logs(book, pushed)
    book.emu.before_next(book.emu.timeout_after_apply_next, 2, kind="write")

    record(gw, book, read, listings, pushed, logs)

    assert len(book.records(MALL_LOG)) == len(logs) == 101
    assert len(listing_rows(book)) == 300


@pytest.mark.usefixtures("small_budget")
def test_a_batch_lost_before_it_was_applied_is_sent_again_once(book: Book) -> None:
    gw, meter, read = metered_gateway(book)
    listings = targets(300)
    pushed = pushes(listings, failed=frozenset(range(0, 300, 3)))
    logs = mall_logs(book, pushed)

    def drop() -> None:
        raise requests.exceptions.ConnectionError("emulated connection reset before the request")

    book.emu.before_next(drop, kind="write")
    record(gw, book, read, listings, pushed, logs)

    (lost_op, _, lost), (check_op, _, _), (again_op, _, again) = meter.bodies[:3]
    assert (lost_op, check_op, again_op) == ("batchUpdate", "GET", "batchUpdate")
    assert again == lost  # _state did not hold its marker: the same batch, sent again
    assert len(book.records(MALL_LOG)) == len(logs) == 101
    assert len(listing_rows(book)) == 300


# =========================================================================== staff edits


def cold_start(
    book: Book, n: int = 60
) -> tuple[SheetGateway, BodyMeter, SheetRead, list[ListingTarget]]:
    gw, meter, read = metered_gateway(book)
    listings = targets(n)
    record(gw, book, read, listings, pushes(listings))
    book.clock.advance(15)
    meter.bodies.clear()
    book.emu.reset_counts()
    return gw, meter, read, listings


def listings_col(book: Book, header: str) -> int:
    return book.header(LISTINGS).index(header)


def test_rows_sorted_between_cycles_are_found_and_put_right(book: Book) -> None:
    gw, _, read, listings = cold_start(book)
    book.emu.sort_rows(book.sid, LISTINGS, listings_col(book, "モール商品コード"), descending=True)
    changed = [replace(t, quantity=0) for t in (listings[3], listings[40])]

    record(gw, book, read, listings, pushes(changed), commit_id="c-2")

    rows = listing_rows(book)
    assert len(rows) == 60
    want = {code(i): i % 50 for i in range(60)} | {code(3): 0, code(40): 0}
    assert {c: r["表示在庫"] for c, r in rows.items()} == want
    assert [r.op for r in book.emu.requests] == [
        "spreadsheets.batchUpdate",  # the write; its answer shows the rows moved
        "values.batchGet",  # 出品状況 read once
        "spreadsheets.batchUpdate",  # every row put right
    ]
    codes = [r["モール商品コード"] for r in book.records(LISTINGS)]
    assert codes == sorted(codes, reverse=True)  # staff's order is kept


def test_rows_swapped_where_the_tail_cannot_see_are_caught_by_the_written_rows(
    book: Book,
) -> None:
    gw, _, read, listings = cold_start(book)
    grid = book.grid(LISTINGS)
    book.emu.set_values(book.sid, LISTINGS, "A11", [grid[11], grid[10]])  # staff swap two rows

    record(gw, book, read, listings, pushes([listings[9]]), commit_id="c-2")

    rows = listing_rows(book)
    assert {c: r["表示在庫"] for c, r in rows.items()} == {code(i): i % 50 for i in range(60)}
    assert rows[code(10)]["反映日時"] != rows[code(9)]["反映日時"]  # each keeps its own


def test_unchanged_targets_write_nothing_and_a_changed_reason_writes_its_row(book: Book) -> None:
    gw, meter, read, listings = cold_start(book)
    record(gw, book, read, listings, [], commit_id="c-2")  # the same targets, nothing pushed
    listings_id = gw.sheet_ids["listings"]

    def listing_writes() -> list[dict[str, Any]]:
        return [
            r
            for _, body in meter.writes()
            for r in body["requests"]
            if r.get("updateCells", {}).get("start", {}).get("sheetId") == listings_id
        ]

    assert listing_writes() == []
    meter.bodies.clear()
    stopped = replace(listings[3], reason=PushReason.STOPPED, why="連動停止")
    now = [*listings[:3], stopped, *listings[4:]]  # one new target object, the rest the same

    record(gw, book, read, now, [], commit_id="c-3")

    (write,) = listing_writes()
    assert len(write["updateCells"]["rows"]) == 1
    assert listing_rows(book)[code(3)]["理由"] == reason_text(PushReason.STOPPED, "連動停止")


def test_rows_deleted_between_cycles_are_written_again(book: Book) -> None:
    gw, _, read, listings = cold_start(book)
    book.emu.delete_rows(book.sid, LISTINGS, 10, 15)  # five listings' rows

    record(gw, book, read, listings, pushes([listings[50]]), commit_id="c-2")

    rows = listing_rows(book)
    assert set(rows) == {code(i) for i in range(60)}
    assert rows[code(12)]["表示在庫"] == 12 and rows[code(12)]["反映日時"]


def test_a_write_past_the_end_of_a_shrunk_grid_is_refused_and_sent_again(book: Book) -> None:
    # 1,200 listings grow the grid to exactly 1,201 rows; staff then delete ten rows, so
    # the rows the bot knows for the last listings are past the grid's end.
    gw, _, read, listings = cold_start(book, 1_200)
    assert book.emu.sheet_properties(book.sid, LISTINGS)["gridProperties"]["rowCount"] == 1_201
    book.emu.delete_rows(book.sid, LISTINGS, 100, 110)

    record(gw, book, read, listings, pushes([listings[1_199]]), commit_id="c-2")

    assert [(r.op, r.status) for r in book.emu.requests] == [
        ("spreadsheets.batchUpdate", 400),  # refused whole: nothing applied
        ("values.batchGet", 200),  # 出品状況 read once
        ("spreadsheets.batchUpdate", 200),  # the push result, the ten rows again
    ]
    rows = listing_rows(book)
    assert set(rows) == {code(i) for i in range(1_200)}
    assert rows[code(1_199)]["反映日時"] != rows[code(1_198)]["反映日時"]


def test_rows_deleted_in_a_quiet_shop_are_noticed_by_the_minute_check(book: Book) -> None:
    gw, _, read, listings = cold_start(book)
    book.emu.delete_rows(book.sid, LISTINGS, 1, 3)

    assert record(gw, book, read, listings, []) == 0  # nothing to write, checked just now
    book.clock.advance(TAIL_CHECK.total_seconds())
    record(gw, book, read, listings, [], commit_id="c-3")

    assert set(listing_rows(book)) == {code(i) for i in range(60)}
    assert [r.op for r in book.emu.requests] == [
        "values.batchGet",  # 再送 and the tail: rows went
        "values.batchGet",  # 出品状況 read once
        "spreadsheets.batchUpdate",  # the two rows written again
    ]


def test_inserted_blank_rows_move_the_tail_and_nothing_is_written_on_them(book: Book) -> None:
    gw, _, read, listings = cold_start(book)
    book.emu.insert_rows(book.sid, LISTINGS, 5, [[], [], []])

    record(gw, book, read, listings, pushes([listings[30]]), commit_id="c-2")

    rows = listing_rows(book)
    assert len(rows) == 60 and rows[code(30)]["反映日時"]
    assert all(rows[code(i)]["表示在庫"] == i % 50 for i in range(60))


def test_a_ticked_resend_is_seen_and_cleared_once_pushed(book: Book) -> None:
    gw, _, read, listings = cold_start(book)
    row = book.row_of(code(9), LISTINGS, "モール商品コード")
    letter = column_letter(listings_col(book, "再送"))
    book.emu.set_values(book.sid, LISTINGS, f"{letter}{row}", [[True]])
    book.clock.advance(TAIL_CHECK.total_seconds())

    record(gw, book, read, listings, [])
    assert gw.listing_book.ticked() == {("rakuten", code(9))}

    record(gw, book, read, listings, pushes([listings[9]]), commit_id="c-2")
    assert listing_rows(book)[code(9)]["再送"] in ("", None)
    assert gw.listing_book.ticked() == set()


def test_unticked_false_cells_are_blanked_so_the_column_costs_nothing(book: Book) -> None:
    gw, _, read, listings = cold_start(book)
    letter = column_letter(listings_col(book, "再送"))
    book.emu.set_values(book.sid, LISTINGS, f"{letter}2", [[False]] * 60)  # an older sheet
    gw.load_startup()  # a restart on it

    record(gw, book, read, listings, pushes([listings[0]]), commit_id="c-2")

    column = [r.get("再送") for r in book.records(LISTINGS)]
    assert len(column) == 60 and all(v in ("", None) for v in column)


# =========================================================================== retention


def test_a_big_log_is_trimmed_in_the_same_bounded_write(book: Book) -> None:
    header = book.header(MALL_LOG)
    old = [["2026-11-01 00:00:00", LABEL, f"old{i}", "X", 1, "反映済", ""] for i in range(50_000)]
    book.emu.set_values(book.sid, MALL_LOG, "A2", [r[: len(header)] for r in old])
    gw, meter, read = metered_gateway(book)
    assert gw.log_rows[MALL_LOG_KEY] == 50_000
    listings = targets(6_000)
    pushed = pushes(listings, failed=frozenset(range(0, 6_000, 2)))  # 3,000 failures: past 5 %

    record(gw, book, read, listings, pushed)

    assert_bounded(meter)
    max_rows, _ = gw.retention[MALL_LOG_KEY]
    rows = book.records(MALL_LOG)
    assert len(rows) <= max_rows * 1.05 and gw.log_rows[MALL_LOG_KEY] == len(rows)
    assert rows[-1]["モール商品コード"] == code(5_998)  # the newest kept, the oldest trimmed
    assert rows[0]["モール商品コード"] != "old0"
    trims = [r for _, b in meter.writes() for r in b["requests"] if "deleteDimension" in r]
    assert trims  # deleteDimension: one small request whatever it deletes


def test_one_write_never_holds_a_log_tab_past_its_retention(book: Book) -> None:
    gw, _, read = metered_gateway(book)
    gw.logs.retention[MALL_LOG_KEY] = (500, None)
    listings = targets(2_400)
    pushed = pushes(listings, failed=frozenset(range(2_400)))  # every push refused

    record(gw, book, read, listings, pushed)

    rows = book.records(MALL_LOG)
    assert len(rows) == 500 and gw.log_rows[MALL_LOG_KEY] == 500
    assert rows[-1]["モール商品コード"] == code(2_399)


def test_a_cold_start_at_100000_listings_fits_the_10_million_cell_limit() -> None:
    """Every tab at its largest after a 100,000-product cold start, in grid cells.

    Staff tabs hold the catalogue (商品マスタ, 出品状況: one row per listing, one channel
    per product here as in the benchmark); each log tab at most its retention plus the
    5 % a trim lets through; 入出庫 and セット構成 are staff's (a generous 20,000 rows).
    Google counts every cell of every grid, blank or not (google-sheets.md §1).
    """
    products = 100_000
    tpl = load_template()
    cells = 0
    for tab in tpl.tabs:
        spare = 5 if any(c.owner != "bot" for c in tab.columns) else 0
        width = len(tab.columns) + spare  # 商品マスタ: a code column for every channel
        if tab.retention is not None:
            rows = int(tab.retention.max_rows * 1.05) + 1
        elif tab.key in ("products", "listings"):
            rows = products + 1
        else:
            rows = max(tab.rows, 20_000)
        cells += rows * width
    assert cells < 10_000_000, cells


def test_a_quiet_check_past_the_end_of_a_shrunk_grid_reads_the_tab_again(book: Book) -> None:
    gw, _, read, listings = cold_start(book, 1_200)
    book.emu.delete_rows(book.sid, LISTINGS, 100, 110)
    book.clock.advance(TAIL_CHECK.total_seconds())

    record(gw, book, read, listings, [], commit_id="c-2")

    assert set(listing_rows(book)) == {code(i) for i in range(1_200)}
    assert [r.op for r in book.emu.requests][-2:] == ["values.batchGet", "spreadsheets.batchUpdate"]
