"""出品状況's scattered one-row writes share pieces (issue 10 item 3).

The usual cycle at 100k writes about a thousand listings' rows, scattered over the
tab: each was a block of one row and a piece of its own (a dataclass, two closures, a
measurement). Consecutive one-row blocks now share a piece while a bound on their
bytes stays within ``PIECE_BYTES``. The property test holds the grouped pieces to the
plain ones, a piece per block (kept here as the reference): the same requests, ranges,
checks, writes and cleared rows in the same order, and no shared piece over the budget.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.infra.sheet import budget, listing_writes
from bot.infra.sheet.encoded import Encoded, body_bytes
from bot.infra.sheet.headers import default_header_map
from bot.infra.sheet.listing_writes import (
    ListingTab,
    Piece,
    Updates,
    _block_pieces,
    _key_span,
    _runs,
    _sizes,
    _update_pieces,
)
from bot.infra.sheet.spec import load_template
from bot.infra.sheet.tabs import LISTINGS

TAB = load_template().tab(LISTINGS)
HEADER = default_header_map(TAB)
WHERE = ListingTab(TAB, 7, "'出品状況'", HEADER, lambda: HEADER.width)
VALUE_COLS = [
    c for k in ("sku", "quantity", "reason", "at", "result") if (c := HEADER.col(k)) is not None
]
RESEND = HEADER.col("resend")


def _plain(updates: Updates, where: ListingTab) -> list[Piece]:
    """A piece per block of consecutive rows writing the same columns (the former way)."""
    pieces: list[Piece] = []
    block: list[int] = []
    runs_of: dict[frozenset[int], list[tuple[int, int]]] = {}
    keys = _key_span(where)
    for row in sorted(updates):
        if block and (
            row != block[-1] + 1 or updates[row][1].keys() != updates[block[0]][1].keys()
        ):
            pieces.extend(
                _block_pieces(block, updates, where, _runs(runs_of, updates, block), keys)
            )
            block = []
        block.append(row)
    if block:
        pieces.extend(_block_pieces(block, updates, where, _runs(runs_of, updates, block), keys))
    return pieces


def _sent(pieces: list[Piece]) -> dict[str, list[Any]]:
    """What the pieces put in batchUpdates (the bytes sent) and take from their answers."""
    return {
        "requests": body_bytes({"requests": [r for p in pieces for r in p.requests()]}),
        "ranges": [r for p in pieces for r in p.ranges],
        "checks": [c for p in pieces for c in p.checks],
        "writes": [w for p in pieces for w in p.writes],
        "cleared": [r for p in pieces for r in p.cleared],
    }


texts = st.one_of(
    st.sampled_from(["", "SKU-1", "在庫連動中", "2026-11-27 10:00", "反映済み（エラー）"]),
    st.text(max_size=300),  # control characters, astral planes, quotes: escaped
)
values = st.one_of(st.none(), st.integers(-(10**12), 10**12), texts)
row_kinds = st.sampled_from(["all", "reason", "resend", "clear", "all+resend"])


def _cells(kind: str, draw_values: list[Any]) -> tuple[bool, dict[int, Any]]:
    """(holds a listing, col → value) for one row of the kind a book owes."""
    assert RESEND is not None
    if kind == "resend":
        return False, {RESEND: None}
    if kind == "clear":
        return False, dict.fromkeys(VALUE_COLS)
    reason = HEADER.col("reason")
    assert reason is not None
    cells = (
        {reason: draw_values[0]}
        if kind == "reason"
        else dict(zip(VALUE_COLS, draw_values, strict=True))
    )
    if kind == "all+resend":
        cells[RESEND] = None
    return True, cells


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.integers(1, 400),
        st.tuples(row_kinds, st.lists(values, min_size=5, max_size=5)),
        max_size=60,
    ),
    st.sampled_from([0, 900, 3_000, 200_000]),
)
def test_grouped_pieces_send_what_a_piece_per_block_sends(
    rows: dict[int, tuple[str, list[Any]]], piece_bytes: int
) -> None:
    updates: dict[int, tuple[tuple[str, str] | None, dict[int, Any]]] = {}
    for row, (kind, drawn) in rows.items():
        listing, cells = _cells(kind, drawn)
        updates[row] = (("rakuten", f"code{row}") if listing else None, cells)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(budget, "PIECE_BYTES", piece_bytes)
        grouped = _update_pieces(updates, WHERE)
        plain = _plain(updates, WHERE)
        assert _sent(grouped) == _sent(plain)
        for piece in _update_pieces(updates, WHERE):
            made = piece.build()  # (text: measured as the plain requests it encodes)
            assert _sizes(made, piece.ranges) == _sizes(
                [r.value() if type(r) is Encoded else r for r in made], piece.ranges
            )
            rows_in = {r for r, _ in piece.checks} | set(piece.cleared)
            if len(rows_in) > 1 and all(
                r - 1 not in rows_in and r + 1 not in rows_in for r in rows_in
            ):  # a shared piece (scattered rows): within the budget, measured as sent
                assert piece.measured() <= piece_bytes
    assert len(grouped) <= len(plain)


def test_scattered_rows_share_a_few_pieces() -> None:
    """The usual cycle's shape: a thousand pushed listings' rows, none next to another."""
    updates: Updates = {
        row: (
            ("rakuten", f"c{row}"),
            dict(zip(VALUE_COLS, [f"S{row}", 5, "", "t", "OK"], strict=True)),
        )
        for row in range(2, 2_002, 2)
    }
    pieces = _update_pieces(updates, WHERE)
    assert 1 < len(pieces) <= 10
    assert _sent(pieces) == _sent(_plain(updates, WHERE))
    assert all(p.measured() <= budget.PIECE_BYTES for p in pieces)


def test_a_row_over_the_budget_is_a_piece_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "PIECE_BYTES", 2_000)
    big = "長" * 1_000
    updates: Updates = {
        row: (("rakuten", f"c{row}"), dict(zip(VALUE_COLS, ["S", 1, "", "t", text], strict=True)))
        for row, text in ((2, "a"), (4, big), (6, "b"), (8, "c"))
    }
    pieces = _update_pieces(updates, WHERE)
    assert [[r for r, _ in p.checks] for p in pieces] == [[2], [4], [6, 8]]


def test_the_bound_is_never_below_the_bytes_sent() -> None:
    """Each row's bound covers its requests and range as a body counts them."""
    assert RESEND is not None
    shapes: list[tuple[tuple[str, str] | None, dict[int, Any]]] = [(None, {RESEND: None})]
    for text in ["", "x", "\x01" * 50, "𠮷" * 50, '"\\' * 50, "出品" * 50]:
        cells = dict(zip(VALUE_COLS, [text, 10**15, text, None, text], strict=True))
        shapes += [(("rakuten", "c"), cells), (None, {**cells, RESEND: None})]
        shapes.append((("rakuten", "c"), {VALUE_COLS[2]: text}))
    for key, cells in shapes:
        runs = _runs({}, {1: (key, cells)}, [1])
        (piece,) = _update_pieces({99_999: (key, cells)}, WHERE)
        ranges = sum(listing_writes._text_bound(r) for r in piece.ranges)
        assert piece.measured() <= listing_writes._row_bound(cells, runs) + ranges, cells
