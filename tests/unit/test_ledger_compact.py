"""The movement ledger keeps one ``at`` string and one ``datetime`` per commit time (issue 10).

A commit applies its 入出庫 rows at one time, ~200 a cycle at 100k products, and the
ledger keeps 60 days of them: entries of one time share one string and one datetime
instead of a 72-byte string and a 48-byte datetime each.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.core.domain import Movement
from bot.infra.sheet.movement_ledger import (
    DoneRows,
    _ChunkCache,
    _parse_chunk,
    _when,
    chunk_key,
    read_ledger,
)

TIMES = ["2026-11-23 09:00:00", "2026-11-23 09:00:15", "2026-09-01 00:00:00", "", "x"]


def _text(entries: list[tuple[str, str]]) -> str:
    """A ledger row of ``(identity, at)`` entries, as ``_state`` holds it."""
    return json.dumps(
        {ident: ["SKU", 1, f"f{ident}", at] for ident, at in entries},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _plain(text: str) -> tuple[Movement, ...]:
    """The entries as a plain parse gives them (a string and a datetime each)."""
    return tuple(
        Movement(key=k, sku=sku, qty=qty, fingerprint=fp, at=at)
        for k, (sku, qty, fp, at) in json.loads(text).items()
    )


def test_the_entries_of_one_commit_share_their_time() -> None:
    idents = [f"M20261123-{n:04d}" for n in range(1, 6)]
    chunk = _parse_chunk(_text([(i, TIMES[0]) for i in idents]))
    first, *rest = chunk.entries
    assert all(m.at is first.at for m in rest)
    assert all(w is chunk.whens[0] for w in chunk.whens)
    assert chunk.whens[0] == _when(TIMES[0])


def test_entries_a_row_grew_by_share_their_time_too() -> None:
    cache = _ChunkCache()
    base = _text([("M20261123-0001", TIMES[0])])
    cache.keep([cache.get(base)])
    grown = cache.get(
        _text([("M20261123-0001", TIMES[0])] + [(f"M20261123-000{n}", TIMES[1]) for n in (2, 3, 4)])
    )
    added = grown.entries[1:]
    assert len(added) == 3 and all(m.at is added[0].at for m in added)
    assert grown.whens[1] is grown.whens[2] is grown.whens[3]
    assert grown.entries[0] is cache.get(base).entries[0]  # the row read before is kept


@given(
    st.lists(
        st.tuples(st.integers(1, 40).map(lambda n: f"M20261123-{n:04d}"), st.sampled_from(TIMES)),
        max_size=12,
    )
)
def test_a_row_reads_as_a_plain_parse(entries: list[tuple[str, str]]) -> None:
    text = _text(entries)
    chunk = _parse_chunk(text)
    assert chunk.entries == _plain(text)
    assert chunk.whens == tuple(_when(m.at) for m in _plain(text))
    assert read_ledger({chunk_key(1): text}) == _plain(text)


# --------------------------------------------------------------------------- shared texts


def _done(ident: str, sku: str, fingerprint: str) -> Movement:
    """A done 入出庫 row as parsed (its strings built apart from any JSON)."""
    return Movement(
        key=f"{fingerprint}-0", sku="".join(sku), qty=1, done=True, ident="".join(ident),
        fingerprint="".join(fingerprint),
    )  # fmt: skip


def test_an_entry_holds_the_strings_of_its_done_row() -> None:
    text = json.dumps({"M20261123-0007": ["SKU-7", 1, "f7", TIMES[0]]})
    row = _done("M20261123-0007", "SKU-7", "f7")
    pending = Movement(key="p-0", sku="SKU-7", qty=1)
    (entry,) = _ChunkCache().get(text, DoneRows([row, pending])).entries
    assert entry.key is row.ident and entry.sku is row.sku and entry.fingerprint is row.fingerprint
    (plain,) = _ChunkCache().get(text).entries
    assert plain == entry and plain.key is not row.ident


def test_a_sheet_read_shares_the_ledgers_texts_with_the_tab() -> None:
    from bot.infra.sheet.layout import load_template, parse_sheet

    head = [c.header for c in load_template().tab("products").columns]
    mark = "済 2026-11-23 10:00:07 #M20261123-0007"
    grid = [["日時", "商品コード", "数量", "区分", "メモ", "反映"], ["", "A", 1, "入荷", "", mark]]
    first = parse_sheet({"products": [head], "movements": grid}, malls=("rakuten",))
    (row,) = first.snapshot.movements
    entry = [row.sku, row.qty, row.fingerprint, "2026-11-23 10:00:07"]
    state = [["キー", "値"], [chunk_key(1), json.dumps({"M20261123-0007": entry})]]
    read = parse_sheet({"products": [head], "movements": grid, "state": state}, malls=("rakuten",))
    (done,) = read.snapshot.movements
    (kept,) = read.snapshot.movement_ledger
    assert kept.key is done.ident and kept.sku is done.sku and kept.fingerprint is done.fingerprint


rows_ = st.lists(
    st.builds(
        _done,
        st.integers(1, 8).map(lambda n: f"M20261123-{n:04d}"),
        st.sampled_from(["SKU", "B"]),
        st.sampled_from(["fM20261123-0001", "f2"]),
    ),
    max_size=10,
)


@given(
    st.lists(
        st.tuples(st.integers(1, 8).map(lambda n: f"M20261123-{n:04d}"), st.sampled_from(TIMES)),
        max_size=8,
    ),
    rows_,
)
def test_an_entry_sharing_strings_reads_as_a_plain_parse(
    entries: list[tuple[str, str]], rows: list[Movement]
) -> None:
    text = _text(entries)
    assert _ChunkCache().get(text, DoneRows(rows)).entries == _plain(text)
    base = _ChunkCache()
    base.keep([base.get(_text(entries[:1]))])
    assert base.get(text, DoneRows(rows)).entries == _plain(text)  # grown, or parsed whole


def test_a_row_far_up_the_tab_is_found_too() -> None:
    """A ledger row parsed whole (a restart) holds entries of rows far above the tab's end."""
    idents = [f"M20261123-{n:04d}" for n in range(1, 4)]
    text = json.dumps({i: ["SKU-7", 1, "f7", TIMES[0]] for i in idents})
    done = [_done(i, "SKU-7", "f7") for i in idents]
    later = [Movement(key=f"p-{n}", sku="B", qty=1) for n in range(500)]
    entries = _ChunkCache().get(text, DoneRows([*done, *later])).entries
    assert [m.key for m in entries] == idents
    assert all(m.key is r.ident and m.sku is r.sku for m, r in zip(entries, done, strict=True))
    assert entries == _plain(text)


class _Counted(list[Movement]):
    """Rows that count how often one is looked at."""

    looked = 0

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        self.looked += 1
        return super().__getitem__(i)


def test_one_read_looks_at_each_row_at_most_once() -> None:
    """A restart parses every ledger row: the walk goes on where it stopped, never again."""
    rows = _Counted(_done(f"M20261123-{n:04d}", "S", f"f{n}") for n in range(1, 301))
    idents = [f"M20261123-{n:04d}" for n in range(1, 301)] + ["M20261123-9999"]
    state = {
        chunk_key(i + 1): json.dumps({ident: ["S", 1, "f", TIMES[0]] for ident in idents[i::3]})
        for i in range(3)
    }
    entries = read_ledger(state, rows)
    assert rows.looked <= len(rows)
    assert sum(any(m.key is r.ident for r in rows) for m in entries) == 300


def test_the_newest_rows_are_found_without_a_pass_over_the_tab() -> None:
    rows = _Counted(_done(f"M20261123-{n:04d}", "S", "f") for n in range(1, 1001))
    done = DoneRows(rows)
    assert done.find("M20261123-1000") is rows[-1]
    assert done.find("M20261123-0999") is rows[-2]
    assert rows.looked <= 4
