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
from bot.infra.sheet.movement_ledger import _ChunkCache, _parse_chunk, _when, chunk_key, read_ledger

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
