"""The requests writing what the :class:`~bot.infra.sheet.listing_book.ListingBook` owes.

Each :class:`Piece` is at most :data:`~bot.infra.sheet.budget.PIECE_BYTES` of requests;
the record path packs pieces into batchUpdates within Google's recommended size. A
piece also names the cells to ask back in the same batchUpdate to check that its rows
landed on the listings they were meant for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.infra.sheet import budget
from bot.infra.sheet.budget import json_size, split_by_size
from bot.infra.sheet.cells import cell_data, cell_text, column_letter
from bot.infra.sheet.encoded import AnyRequest, Encoded, cell_json, update_row, utf8
from bot.infra.sheet.headers import HeaderMap
from bot.infra.sheet.listing_book import NO_ROW, VALUES, ListingBook, Owed, Shown
from bot.infra.sheet.listing_book import Key as ListingKey
from bot.infra.sheet.logs import LogTabs, append_cells
from bot.infra.sheet.rows import Label
from bot.infra.sheet.spec import TabSpec
from bot.infra.sheet.tabs import LISTINGS, Request
from bot.infra.sheet.values import spans, update_cells


@dataclass(eq=False)
class Piece:
    """Part of one record's writes, packed with others into a batchUpdate."""

    tab: str
    size: int | None
    """JSON bytes of its requests and read-back ranges in a body (separators counted);
    None until :meth:`measured` builds them (出品状況 pieces)."""
    build: Callable[[], Sequence[AnyRequest]]
    """Its requests, built when its batchUpdate is (a log trim depends on counts then)."""
    ranges: tuple[str, ...] = ()
    """A1 ranges to ask back in the same batchUpdate."""
    checks: tuple[tuple[int, ListingKey], ...] = ()
    """出品状況 grid rows and the listing each must hold once written."""
    writes: tuple[tuple[ListingKey, int], ...] = ()
    """Owed listings it writes, and the grid row each lands on."""
    cleared: tuple[int, ...] = ()
    """出品状況 rows whose 再送 cell (or a stray row's values) it blanks."""
    appended: tuple[int, tuple[str, str]] | None = None
    """Rows it appends to 出品状況 and the key texts of the last one."""
    rows: tuple[Any, ...] = field(default=())
    """The log rows it carries (what is kept if it is not sent)."""
    bound: int | None = None
    """Bytes it adds to a body at most, known without building it (scattered rows in
    place: :func:`_row_bound`); lets a batchUpdate be packed without measuring."""
    _made: Sequence[AnyRequest] | None = field(default=None, repr=False)

    def measured(self) -> int:
        """Its size; a piece not measured yet is built to be measured.

        Measured when a batchUpdate is packed (:func:`bot.infra.sheet.record._take`),
        and the requests so built are kept for :meth:`requests`, which that batchUpdate
        calls next: a row is laid out once, and only the pieces of the batchUpdate being
        packed hold their requests (a cold start's 100,000 rows of cells never wait).
        """
        if self.size is None:
            self._made = self.build()
            self.size = _sizes(self._made, self.ranges)
        return self.size

    def requests(self) -> Sequence[AnyRequest]:
        """Its requests for the batchUpdate being sent (those :meth:`measured` built)."""
        made, self._made = self._made, None
        return made if made is not None else self.build()


@dataclass
class ListingTab:
    """Where 出品状況 is and how it reads now."""

    tab: TabSpec
    sheet_id: int
    title: str
    """Quoted title for A1 ranges."""
    header: HeaderMap
    column_count: Callable[[], int]


def listing_pieces(book: ListingBook, where: ListingTab, label: Label) -> list[Piece]:
    """Every write the book owes, in pieces: rows in place first, then new rows."""
    header = where.header
    if header.col("mall") is None or header.col("code") is None:
        # Rows cannot be located: put the headers back; the next record reads the tab.
        head, _ = LogTabs.layout(where.tab, where.sheet_id, [], header, where.column_count)
        book.dirty = True
        return [Piece(LISTINGS, _sizes(head), lambda: head)] if head else []
    updates: dict[int, tuple[ListingKey | None, dict[int, Any]]] = {}
    appends: list[tuple[ListingKey, Owed]] = []
    resend_col = header.col("resend")
    places = _Places(header)
    shown_at = book.entries.get  # (ListingBook.row_of, without a call per row)
    for key, owed in book.owed.items():
        entry = shown_at(key)
        row = entry.row if entry is not None else NO_ROW
        if row == NO_ROW:
            appends.append((key, owed))
            continue
        shown = owed.shown
        cells = {col: shown[i] for col, i in places[owed.cols]}
        if resend_col is not None and row in book.flags and (owed.pushed or not book.flags[row]):
            cells[resend_col] = None
        updates[row] = (key, cells)
    if resend_col is not None:
        for row, ticked in book.flags.items():
            if not ticked and row not in updates:  # FALSE left behind: blank costs no read
                updates[row] = (None, {resend_col: None})
    for row in book.clears:
        if row not in updates or updates[row][0] is None:
            cells = updates[row][1] if row in updates else {}
            cells.update({c: None for k in VALUES if (c := header.col(k)) is not None})
            updates[row] = (None, cells)
    return [*_update_pieces(updates, where), *_append_pieces(appends, book, where, label)]


class _Places(dict[frozenset[str], list[tuple[int, int]]]):
    """Columns owed → (grid column, place in :class:`Shown`) of each the header has.

    A record's rows owe a few column sets (all of them, 理由 alone): each is worked out
    once, not a header lookup per column per row.
    """

    def __init__(self, header: HeaderMap) -> None:
        super().__init__()
        self.header = header

    def __missing__(self, cols: frozenset[str]) -> list[tuple[int, int]]:
        found = self[cols] = [
            (col, Shown._fields.index(c)) for c in cols if (col := self.header.col(c)) is not None
        ]
        return found


Updates = Mapping[int, tuple["ListingKey | None", dict[int, Any]]]
"""出品状況 grid row → (the listing it holds, or None for a 再送 cell alone; col → value)."""


def _update_pieces(updates: Updates, where: ListingTab) -> list[Piece]:
    """Rows in place, as blocks of consecutive rows writing the same columns.

    A block of one row (the usual cycle's pushed listings lie scattered over the tab:
    a thousand of them at 100k) is not a piece of its own: consecutive ones share a
    piece up to :data:`~bot.infra.sheet.budget.PIECE_BYTES` by :func:`_row_bound`,
    with the same requests and ranges, in the same order, as a piece each would send.
    """
    pieces: list[Piece] = []
    block: list[int] = []
    singles = _Singles(updates, where)
    runs_of: dict[frozenset[int], list[tuple[int, int]]] = {}

    def close(block: list[int]) -> None:
        runs = _runs(runs_of, updates, block)
        if len(block) == 1:
            singles.add(block[0], runs, pieces)
        else:
            singles.close(pieces)
            pieces.extend(_block_pieces(block, updates, where, runs, singles.keys))

    for row in sorted(updates):
        if block and (
            row != block[-1] + 1 or updates[row][1].keys() != updates[block[0]][1].keys()
        ):
            close(block)
            block = []
        block.append(row)
    if block:
        close(block)
    singles.close(pieces)
    return pieces


class _Singles:
    """One-row blocks gathered into a piece while their bound stays within PIECE_BYTES."""

    def __init__(self, updates: Updates, where: ListingTab) -> None:
        self.updates, self.where = updates, where
        self.keys = _key_span(where)
        self.range_bound = _text_bound(self._range(0)) + 16  # a longer row number: +16
        self.rows: list[tuple[int, list[tuple[int, int]]]] = []
        self.bound = 0

    def add(self, row: int, runs: list[tuple[int, int]], pieces: list[Piece]) -> None:
        key, cells = self.updates[row]
        n = _row_bound(cells, runs) + (self.range_bound if key is not None else 0)
        if self.rows and self.bound + n > budget.PIECE_BYTES:
            self.close(pieces)
        self.rows.append((row, runs))
        self.bound += n

    def close(self, pieces: list[Piece]) -> None:
        """The gathered rows as one piece (none when there are none)."""
        if not self.rows:
            return
        rows, updates, sheet_id, bound = self.rows, self.updates, self.where.sheet_id, self.bound
        self.rows, self.bound = [], 0

        def build() -> list[AnyRequest]:
            return _single_rows(sheet_id, rows, updates)

        resend = self.where.header.col("resend")
        checks, writes, ranges, cleared = [], [], [], []
        title, (lo, hi) = self.where.title, self.keys
        for r, _ in rows:  # one pass for the four (a thousand rows a cycle at 100k)
            key, cells = updates[r]
            if key is not None:
                checks.append((r, key))
                writes.append((key, r))
                ranges.append(f"{title}!{lo}{r + 1}:{hi}{r + 1}")  # (_key_range's)
            if resend in cells or key is None:
                cleared.append(r)
        pieces.append(
            Piece(
                LISTINGS,
                None,  # measured when its batchUpdate is packed
                build,
                ranges=tuple(ranges),
                checks=tuple(checks),
                writes=tuple(writes),
                cleared=tuple(cleared),
                bound=bound,
            )
        )

    def _range(self, row: int) -> str:
        return _key_range(self.where, row, row, self.keys)


def _single_rows(
    sheet_id: int, rows: Sequence[tuple[int, list[tuple[int, int]]]], updates: Updates
) -> list[AnyRequest]:
    """:func:`~bot.infra.sheet.values.update_cells` of each row's spans, written as text.

    The same bytes on the wire (:mod:`bot.infra.sheet.encoded`). A thousand rows a
    cycle share a few 理由, one 日時, a few 結果 and a few dozen 表示在庫: a text's or a
    whole number's CellData text is made once and shared. As dicts, those rows were
    built, encoded by ``to_json`` and freed each cycle.
    """
    memo: dict[str, str] = {}
    numbers: dict[int, str] = {}  # (apart: True == 1, but writes boolValue)
    out: list[AnyRequest] = []
    for r, runs in rows:
        cells = updates[r][1]
        for lo, hi in runs:
            values = []
            for c in range(lo, hi + 1):
                value = cells[c]
                kind = type(value)
                if kind is str:
                    text = memo.get(value)
                    if text is None:
                        text = memo[value] = cell_json(value)
                elif kind is int:
                    text = numbers.get(value)
                    if text is None:
                        text = numbers[value] = cell_json(value)
                else:
                    text = cell_json(value)
                values.append(text)
            out.append(update_row(sheet_id, r, lo, ",".join(values)))
    return out


CELL_BOUND = 48
"""JSON bytes of one written cell beyond its text's: ``{"userEnteredValue":
{"stringValue":""}}`` and a separator (39 + 1), or a number's (``numberValue``)."""
REQUEST_BOUND = 160
"""JSON bytes of an updateCells of one row beyond its cells' (start, fields, brackets)."""


def _row_bound(cells: Mapping[int, Any], runs: Sequence[tuple[int, int]]) -> int:
    """Bytes one row's updateCells add to a body at most (never fewer than they do).

    No encoding: each value's text (``str``; None and "" write ``{}``) counted at 6
    bytes a character (a control character's escape is 6, UTF-8 at most 4).
    """
    total = REQUEST_BOUND * len(runs)
    for lo, hi in runs:  # each cell: CELL_BOUND + _text_bound(str(value)), summed at once
        total += (CELL_BOUND + 4) * (hi - lo + 1)
        total += 6 * sum([len(str(cells[c])) for c in range(lo, hi + 1)])
    return total


def _text_bound(text: str) -> int:
    """Bytes ``text`` is at most as a JSON string, with its quotes and a separator."""
    return 6 * len(text) + 4


def _runs(
    known: dict[frozenset[int], list[tuple[int, int]]], updates: Updates, block: list[int]
) -> list[tuple[int, int]]:
    """The column spans a block writes (a record's blocks write a few column sets)."""
    cols = frozenset(updates[block[0]][1])
    runs = known.get(cols)
    if runs is None:
        runs = known[cols] = spans(sorted(cols))
    return runs


def _block_pieces(
    block: list[int],
    updates: Updates,
    where: ListingTab,
    runs: list[tuple[int, int]],
    keys: tuple[str, str],
) -> list[Piece]:
    """One block of rows writing the same columns (``runs``): an updateCells per span."""
    resend = where.header.col("resend")

    def row_size(row: int) -> int:
        cells = updates[row][1]
        return sum(
            json_size([cell_data(cells[c]) for c in range(lo, hi + 1)]) + 16 for lo, hi in runs
        )

    # A block of one row is one piece whatever its size: no need to measure it twice.
    parts = [block] if len(block) == 1 else split_by_size(block, row_size)
    pieces = []
    for rows in parts:

        def build(rows: list[int] = rows) -> list[Request]:
            return [
                update_cells(
                    where.sheet_id,
                    rows[0],
                    lo,
                    [[updates[r][1][c] for c in range(lo, hi + 1)] for r in rows],
                )
                for lo, hi in runs
            ]

        checks = tuple((r, key) for r in rows if (key := updates[r][0]) is not None)
        ranges = (_key_range(where, rows[0], rows[-1], keys),) if checks else ()
        pieces.append(
            Piece(
                LISTINGS,
                None,  # measured when its batchUpdate is packed
                build,
                ranges=ranges,
                checks=checks,
                writes=tuple((key, r) for r, key in checks),
                cleared=tuple(r for r in rows if resend in updates[r][1] or updates[r][0] is None),
            )
        )
    return pieces


LAYOUT_BATCH = 2_000
"""New 出品状況 rows laid out at a time to size the pieces (a cold start has 100,000)."""


def _append_pieces(
    appends: Sequence[tuple[ListingKey, Owed]], book: ListingBook, where: ListingTab, label: Label
) -> list[Piece]:
    """New rows, appended after the last row in order (so each lands where predicted).

    A piece lays its rows out (their cells as RowData) when it is measured and again
    when it is sent, never all at once: a cold start's 100,000 rows of cells would be
    hundreds of MB held for the whole record.
    """
    if not appends:
        return []

    def layout(part: Sequence[int]) -> tuple[list[Request], list[dict[str, Any]]]:
        rows = [
            {
                "mall": label(mall),
                "code": code,
                **{c: getattr(o.shown, c) for c in o.shown._fields[1:]},
            }
            for (mall, code), o in (appends[i] for i in part)
        ]
        return LogTabs.layout(where.tab, where.sheet_id, rows, where.header, where.column_count)

    pieces: list[Piece] = []
    for start in range(0, len(appends), LAYOUT_BATCH):
        batch = range(start, min(len(appends), start + LAYOUT_BATCH))
        sizes = dict(zip(batch, map(json_size, layout(batch)[1]), strict=True))
        for part in split_by_size(batch, sizes.__getitem__):
            pieces.append(_append_piece(part, appends, book.end, where, label, layout))
    return pieces


def _append_piece(
    part: Sequence[int],
    appends: Sequence[tuple[ListingKey, Owed]],
    at: int,
    where: ListingTab,
    label: Label,
    layout: Callable[[Sequence[int]], tuple[list[Request], list[dict[str, Any]]]],
) -> Piece:
    """The rows ``part`` of ``appends``, appended from grid row ``at + part[0]``."""

    def build() -> list[Request]:
        head, row_data = layout(part)
        return [*(head if part[0] == 0 else []), append_cells(where.sheet_id, row_data)]

    first, last = at + part[0], at + part[-1]
    checks = ((first, appends[part[0]][0]), (last, appends[part[-1]][0]))
    ranges = (_key_range(where, first, first), _key_range(where, last, last))
    mall, code = appends[part[-1]][0]
    return Piece(
        LISTINGS,
        None,  # measured when its batchUpdate is packed
        build,
        ranges=ranges,
        checks=checks,
        writes=tuple((appends[i][0], at + i) for i in part),
        appended=(len(part), (cell_text(label(mall)), cell_text(code))),
    )


def _key_span(where: ListingTab) -> tuple[str, str]:
    """The letters of the key cells' columns (モール..モール商品コード), first and last."""
    cols = [c for c in (where.header.col("mall"), where.header.col("code")) if c is not None]
    return column_letter(min(cols)), column_letter(max(cols))


def _key_range(
    where: ListingTab, first: int, last: int, keys: tuple[str, str] | None = None
) -> str:
    """The key cells (モール..モール商品コード) of grid rows ``first``..``last``."""
    lo, hi = _key_span(where) if keys is None else keys
    return f"{where.title}!{lo}{first + 1}:{hi}{last + 1}"


def _sizes(reqs: Sequence[AnyRequest], ranges: Sequence[str] = ()) -> int:
    """Bytes ``reqs`` and ``ranges`` add to a body, each item counted with 2 for its ", ".

    Plain items measured as one list (one encoding instead of one per item): the
    compact list ``[a,b]`` is 2 bytes of brackets and 1 per separator, so adding
    ``n - 1`` gives the items' bytes plus 2 each. A request already written as text
    (:class:`~bot.infra.sheet.encoded.Encoded`) is its text's bytes plus 2.
    """
    items = [r for r in (*reqs, *ranges) if type(r) is not Encoded]
    written = sum(len(utf8(r.text)) + 2 for r in reqs if type(r) is Encoded)
    return written + (json_size(items) + len(items) - 1 if items else 0)
