"""The movement ledger as _state rows: stable rows, batched expiry, the old form read (issue 10).

A commit applying one 入出庫 row must send about one ledger row, however long the
ledger; entries are kept at least KEEP_DAYS days and while their row is on the tab.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.domain import Movement
from bot.infra.clock import JST
from bot.infra.sheet.movement_ledger import (
    KEEP_DAYS,
    LEDGER_KEY,
    SWEEP_CHUNKS,
    expiry_horizon,
    is_ledger_key,
    next_ledger,
    next_ledger_rows,
    read_ledger,
    with_ledger,
)
from bot.infra.sheet.state import CELL_CHARS, chunks, plan_state

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=JST)
OTHER = {"cursor:rakuten": "2026-11-23T01:00:00+00:00", "last_commit": "c-1", "zz": "1"}


def stamp(when: datetime) -> str:
    return when.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def pending(n: int, sku: str = "") -> Movement:
    """The n-th pending 入出庫 row (its own content)."""
    return Movement(key=f"{n:016x}-0", sku=sku or f"SKU{n:06d}", qty=1, fingerprint=f"{n:016x}")


def applied(rows: list[Movement], when: datetime, first: int = 1) -> dict[str, str]:
    """The 反映 marks a commit at ``when`` writes on ``rows`` (identities from ``first``)."""
    day = when.astimezone(JST).strftime("%Y%m%d")
    return {mv.key: f"済 {stamp(when)} #M{day}-{first + i:04d}" for i, mv in enumerate(rows)}


def commit(
    state: dict[str, str],
    on_tab: list[Movement] | None,
    marks: dict[str, str],
    now: datetime,
) -> dict[str, str]:
    """_state after a commit, the way the gateway builds it."""
    return with_ledger(state, next_ledger_rows(state, on_tab, marks, now))


def ledger_rows(state: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in state.items() if is_ledger_key(k)}


def idents(state: dict[str, str]) -> set[str]:
    return {m.key for m in read_ledger(state)}


def busy_state(entries: int, when: datetime = NOW) -> tuple[dict[str, str], list[Movement]]:
    """_state after one commit applied ``entries`` rows (they stay on the tab, done)."""
    rows = [pending(n) for n in range(entries)]
    marks = applied(rows, when)
    state = commit(dict(OTHER), rows, marks, when)
    done = [replace(mv, done=True, ident=marks[mv.key].rpartition("#")[2]) for mv in rows]
    return state, done


def test_applied_rows_are_read_back_with_what_the_engine_needs() -> None:
    rows = [pending(1, "A"), pending(2, "B")]
    state = commit(dict(OTHER), rows, applied(rows, NOW), NOW)

    assert list(ledger_rows(state)) == ["movements:0001"]
    got = {(m.key, m.sku, m.qty, m.fingerprint, m.at) for m in read_ledger(state)}
    assert got == {
        ("M20261123-0001", "A", 1, rows[0].fingerprint, "2026-11-23 10:00:00"),
        ("M20261123-0002", "B", 1, rows[1].fingerprint, "2026-11-23 10:00:00"),
    }
    assert {k: state[k] for k in OTHER} == OTHER


def test_rows_stay_within_one_cell_and_hold_whole_entries() -> None:
    state, _ = busy_state(48_000)

    rows = ledger_rows(state)
    assert len(rows) > 70
    assert all(len(text) <= CELL_CHARS for text in rows.values())
    assert all(json.loads(text) for text in rows.values())  # each a JSON object of its own
    assert len(read_ledger(state)) == 48_000


def test_applying_one_row_rewrites_one_ledger_row_of_a_48000_entry_ledger() -> None:
    state, done = busy_state(48_000)
    later = NOW + timedelta(seconds=15)
    new = pending(999_999)

    after = commit(state, [*done, new], applied([new], later, first=48_001), later)

    changed = [k for k in ledger_rows(after) if after[k] != state.get(k)]
    assert len(changed) == 1
    assert {k for k in ledger_rows(state) if k not in after} == set()
    assert idents(after) == idents(state) | {"M20261123-48001"}
    # What the _state write sends for it: about one row, not the ledger.
    before = [["キー", "値"], *([k, v] for k, v in sorted(state.items()))]
    plan = plan_state(0, before, None, after | {"last_commit": "c-2"})
    size = len(json.dumps(plan.requests))
    assert size < CELL_CHARS + 2_000
    assert size * 50 < sum(len(v) for v in ledger_rows(after).values())


def test_a_full_row_is_left_as_it_is_and_a_new_one_begins() -> None:
    state = dict(OTHER)
    tab: list[Movement] = []
    for cycle in range(40):  # 40 cycles of 20 rows: about 1.3 rows of ledger
        when = NOW + timedelta(seconds=15 * cycle)
        rows = [pending(cycle * 20 + i) for i in range(20)]
        before = ledger_rows(state)
        state = commit(state, tab + rows, applied(rows, when, first=cycle * 20 + 1), when)
        tab += rows
        changed = [k for k, v in ledger_rows(state).items() if before.get(k) != v]
        assert len(changed) <= 2  # the open row, and a new one when it fills
        assert all(before[k] == state[k] for k in before if k not in changed)
    assert len(ledger_rows(state)) == 2
    assert len(idents(state)) == 800


def test_identities_past_9999_are_kept_in_the_order_they_were_given() -> None:
    entries = {
        f"M20261123-{n:04d}": ["A", 1, f"{n:016x}", "2026-11-23 10:00:00"]
        for n in (10000, 9999, 2, 10001)
    }
    state = {LEDGER_KEY: json.dumps(entries)}

    rows = next_ledger_rows(state, None, {}, NOW)

    assert list(json.loads(rows["movements:0001"])) == [
        "M20261123-0002",
        "M20261123-9999",
        "M20261123-10000",
        "M20261123-10001",
    ]


# --------------------------------------------------------------------------- expiry


def test_the_horizon_is_a_jst_midnight_at_least_keep_days_back() -> None:
    for hours in range(0, 48, 5):
        now = NOW + timedelta(hours=hours)
        horizon = expiry_horizon(now)
        assert horizon <= now - timedelta(days=KEEP_DAYS)
        assert horizon > now - timedelta(days=KEEP_DAYS + 1)
        assert stamp(horizon).endswith(" 00:00:00")


@settings(max_examples=200, deadline=None)
@given(
    ages=st.lists(st.integers(0, (KEEP_DAYS + 3) * 86_400), min_size=1, max_size=30),
    kept_on_tab=st.sets(st.integers(0, 29)),
)
def test_an_entry_is_kept_keep_days_and_while_its_row_is_on_the_tab(
    ages: list[int], kept_on_tab: set[int]
) -> None:
    state = dict(OTHER)
    rows = [pending(i) for i in range(len(ages))]
    for i, (mv, age) in enumerate(zip(rows, ages, strict=True)):
        when = NOW - timedelta(seconds=age)
        state = commit(state, rows[: i + 1], applied([mv], when, first=i + 1), when)
    on_tab = [mv for i, mv in enumerate(rows) if i in kept_on_tab]

    for _ in range(len(ages)):  # enough commits for every sweep to finish
        state = commit(state, on_tab, {}, NOW)

    left = {m.fingerprint for m in read_ledger(state)}
    for i, (mv, age) in enumerate(zip(rows, ages, strict=True)):
        if age < KEEP_DAYS * 86_400 or i in kept_on_tab:
            assert mv.fingerprint in left
        if NOW - timedelta(seconds=age) < expiry_horizon(NOW) and i not in kept_on_tab:
            assert mv.fingerprint not in left


def test_entries_expire_once_a_day_and_the_rows_stay_still_in_between() -> None:
    day = datetime(2026, 9, 20, 12, 0, tzinfo=JST)
    state = dict(OTHER)
    n = 0
    for _ in range(4):  # four days of 600 rows
        rows = [pending(n + i) for i in range(600)]
        state = commit(state, rows, applied(rows, day), day)
        n += 600
        day += timedelta(days=1)
    total = len(read_ledger(state))
    assert total == 2400

    # KEEP_DAYS after the first day, the whole day goes at the first commit past midnight.
    now = datetime(2026, 9, 20, 12, 0, tzinfo=JST) + timedelta(days=KEEP_DAYS + 1, hours=-11)
    assert now.hour == 1
    swept = state
    for _ in range(3):
        swept = commit(swept, [], {}, now)
    assert len(read_ledger(swept)) == total - 600
    # Later that day nothing else expires, nothing is rewritten.
    later = commit(swept, [], {}, now + timedelta(hours=20))
    assert later == swept


def test_a_commit_rewrites_at_most_sweep_chunks_rows_to_drop_entries() -> None:
    old = NOW - timedelta(days=KEEP_DAYS + 2)
    state = dict(OTHER)
    tab: list[Movement] = []
    for i in range(6):  # about six rows of old entries, a recent one among each
        rows = [pending(i * 1000 + j) for j in range(590)]
        tab += rows
        state = commit(state, tab, applied(rows, old, first=i * 1000 + 1), old)
        if i < 5:
            fresh = [pending(900_000 + i)]
            tab += fresh
            when = NOW - timedelta(days=1)
            state = commit(state, tab, applied(fresh, when, first=i + 1), when)
    before = ledger_rows(state)
    assert len(before) >= 6

    after = commit(state, [], {}, NOW)

    rewritten = [k for k in after if is_ledger_key(k) and k in before and after[k] != before[k]]
    cleared = [k for k in before if k not in after]
    assert len(rewritten) <= SWEEP_CHUNKS
    assert all(len(after[k]) < len(before[k]) for k in rewritten)
    assert len(json.dumps({k: after[k] for k in rewritten})) < SWEEP_CHUNKS * CELL_CHARS + 100
    assert cleared or rewritten
    # The next commits finish the sweep; every fresh entry stays.
    for _ in range(6):
        after = commit(after, [], {}, NOW)
    assert {m.sku for m in read_ledger(after)} == {f"SKU{900_000 + i:06d}" for i in range(5)}


def test_nothing_expires_or_is_added_when_the_tab_was_not_read() -> None:
    old = NOW - timedelta(days=KEEP_DAYS + 5)
    rows = [pending(1)]
    state = commit(dict(OTHER), rows, applied(rows, old), old)

    assert commit(state, None, {}, NOW) == state
    assert commit(state, [], {}, NOW) != state


# --------------------------------------------------------------------------- reading


def test_the_old_one_value_form_is_read_and_rewritten_as_rows() -> None:
    rows = [pending(n) for n in range(1200)]
    marks = applied(rows, NOW)
    legacy = next_ledger((), rows, marks, NOW)
    assert len(legacy) > CELL_CHARS
    state = dict(OTHER) | chunks(LEDGER_KEY, legacy)
    assert "movements#1" in state
    before = {(m.key, m.sku, m.fingerprint, m.at) for m in read_ledger(state)}
    assert len(before) == 1200

    after = commit(state, rows, {}, NOW)

    assert not [k for k in after if k == LEDGER_KEY or k.startswith(LEDGER_KEY + "#")]
    assert len(ledger_rows(after)) == 2
    assert {(m.key, m.sku, m.fingerprint, m.at) for m in read_ledger(after)} == before
    assert {k: after[k] for k in OTHER} == OTHER


def test_unchanged_rows_give_the_same_entry_objects_each_read() -> None:
    state, done = busy_state(2_000)
    first = read_ledger(dict(state))
    later = NOW + timedelta(seconds=15)
    new = pending(999_999)
    after = commit(state, [*done, new], applied([new], later, first=2_001), later)

    again = read_ledger(after)

    changed = {k for k in ledger_rows(after) if after[k] != state.get(k)}
    same_rows = [json.loads(state[k]) for k in sorted(ledger_rows(state)) if k not in changed]
    unchanged = {ident for row in same_rows for ident in row}
    by_key = {m.key: m for m in first}
    assert unchanged
    assert all(by_key[m.key] is m for m in again if m.key in unchanged)


def test_an_unreadable_row_is_kept_as_it_is_and_not_added_to() -> None:
    rows = [pending(1)]
    state = commit(dict(OTHER), rows, applied(rows, NOW), NOW) | {"movements:0002": "{broken"}
    new = pending(2)

    after = commit(state, [*rows, new], applied([new], NOW, first=2), NOW)

    assert after["movements:0002"] == "{broken"
    assert idents(after) == {"M20261123-0001", "M20261123-0002"}


def test_a_row_that_grew_keeps_the_entry_objects_it_had() -> None:
    """Each commit adds entries to the end of one row: only those are parsed again."""
    state, done = busy_state(2_000)
    first = read_ledger(dict(state))
    later = NOW + timedelta(seconds=15)
    new = pending(999_999)
    after = commit(state, [*done, new], applied([new], later, first=2_001), later)

    again = read_ledger(after)

    grown = [k for k in ledger_rows(after) if after[k] != state.get(k)]
    assert len(grown) == 1 and after[grown[0]].startswith(state[grown[0]][:-1])
    by_key = {m.key: m for m in first}
    assert [m for m in again if m.key not in by_key] == [
        m for m in again if m.key == "M20261123-2001"
    ]
    assert all(by_key[m.key] is m for m in again if m.key in by_key)


_ident = st.sampled_from([f"M20261123-{n:04d}" for n in range(1, 6)])
_readable = st.tuples(
    st.sampled_from(["A", "商品"]),
    st.integers(-3, 3),
    st.sampled_from(["f1", "f2"]),
    st.sampled_from(["2026-11-23 09:00:00", "2026-09-01 00:00:00", "", "昨日"]),
).map(list)
_entry = st.one_of(_readable, _readable, _readable, st.sampled_from(["x", ["A", "one", "f", ""]]))
_members = st.lists(st.tuples(_ident, _entry), max_size=4)
_usually = {"}": 6, "{": 6, "": 1, ",}": 1, "}}": 1, "} ": 1, "]": 1, "[": 1, " {": 1}


def _member_text(members: list[tuple[str, object]]) -> str:
    return ",".join(
        f"{json.dumps(k, ensure_ascii=False)}:{json.dumps(v, ensure_ascii=False)}"
        for k, v in members
    )


def _mostly(*texts: str) -> st.SearchStrategy[str]:
    return st.sampled_from([t for t in texts for _ in range(_usually[t])])


@settings(max_examples=1500, deadline=None)
@given(
    _members,
    _members,
    _mostly("}", "", ",}", "}}", "} ", "]"),
    _mostly("{", "", "[", " {"),
    _mostly("{", " {"),
    st.booleans(),
)
def test_a_row_read_after_it_grew_reads_as_a_fresh_parse_of_it(
    before: list[tuple[str, object]],
    added: list[tuple[str, object]],
    close: str,
    open_: str,
    base_open: str,
    edited: bool,
) -> None:
    """Whatever was added or changed (duplicate keys, entries that do not read, bad JSON)."""
    from bot.infra.sheet.movement_ledger import _ChunkCache, _parse_chunk

    base = base_open + _member_text(before) + "}"
    kept = _member_text(before).replace("A", "B") if edited else _member_text(before)
    text = open_ + kept + ("," if before and added else "") + _member_text(added) + close
    cache = _ChunkCache()
    cache.keep([cache.get(base)])

    assert cache.get(text) == _parse_chunk(text)


def _m(n: int, entry: object = ("A", 1, "f1", "2026-11-23 09:00:00")) -> str:
    return f'"M20261123-{n:04d}":{json.dumps(list(entry) if isinstance(entry, tuple) else entry)}'


@pytest.mark.parametrize(
    ("base", "text"),
    [
        (f" {{{_m(1)}}}", f" {{{_m(1)},{_m(2)}}}"),  # neither is a JSON object as written
        (f"{{{_m(1)}}}", f"{{{_m(1, ('B', 1, 'f1', ''))},{_m(2)}}}"),  # an entry changed
        (f"{{{_m(1)}}}", f"{{{_m(1)},{_m(2)}}} "),  # not ending the object
        (f"{{{_m(1)}}}", f"{{{_m(1)},{_m(1, ('B', 2, 'f2', ''))}}}"),  # a key again
        (f"{{{_m(1)}}}", f"{{{_m(1)},{_m(2)},{_m(1, 'x')}}}"),  # a key again, unreadable
        (f"{{{_m(1)},{_m(2, 'x')}}}", f"{{{_m(1)},{_m(2, 'x')},{_m(2)}}}"),  # one was not read
        (f"{{{_m(1)}}}", f"{{{_m(1)},}}"),  # nothing added but a comma
        (f"{{{_m(1)}}}", f"{{{_m(1)} {_m(2)}}}"),  # no comma
    ],
)
def test_a_row_that_did_not_just_grow_is_parsed_whole(base: str, text: str) -> None:
    from bot.infra.sheet.movement_ledger import _ChunkCache, _parse_chunk

    cache = _ChunkCache()
    cache.keep([cache.get(base)])

    assert cache.get(text) == _parse_chunk(text)
