"""The 済 rows checked against the ledger once, then carried on (bot/core/engine/settled.py).

Carried on from the last step's check or checked in full, the answer is the same
whatever staff and the bot did in between: rows applied (a row and its entry), rows
edited, copied, deleted or un-marked, ledger entries expired, a new day.
"""

from __future__ import annotations

import copy
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from pytest import MonkeyPatch

from bot.core.domain import Movement
from bot.core.engine import settled
from bot.core.engine.settled import SettledCheck, check

DAY = "M20261123-"
NEXT_DAY = "M20261124-"

event = st.one_of(
    st.tuples(st.just("apply"), st.sampled_from(["A", "B", "C"]), st.integers(-3, 5)),
    st.tuples(st.just("edit"), st.integers(0, 30), st.integers(-3, 5)),
    st.tuples(st.just("copy"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("delete"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("sort"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("late"), st.sampled_from(["A", "B"]), st.integers(-3, 5)),
    st.tuples(st.just("restore"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("again"), st.integers(0, 30), st.integers(-3, 5)),
    st.tuples(st.just("bare"), st.just(0), st.integers(-3, 5)),
    st.tuples(st.just("expire"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("reparse"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("day"), st.just(0), st.just(0)),
)
steps = st.lists(st.lists(event, min_size=1, max_size=3), max_size=12)
"""Steps of a few events each: what happens between two cycles."""


class Tab:
    """入出庫's 済 rows and the ledger as the bot and staff leave them."""

    def __init__(self) -> None:
        self.prefix = DAY
        self.rows: list[Movement] = []
        self.entries: list[Movement] = []
        self.seq = 0
        self.removed: list[Movement] = []
        """Rows deleted or un-marked (staff may put them back)."""
        self.owed: list[Movement] = []
        """Ledger entries of rows marked already, still to come."""

    def apply(self, sku: str, qty: int) -> None:
        self.seq += 1
        ident = f"{self.prefix}{self.seq:04d}"
        fp = f"{sku}{qty}"
        self.rows.append(
            Movement(
                key=f"k{len(self.rows)}-{ident}",
                sku=sku,
                qty=qty,
                done=True,
                ident=ident,
                fingerprint=fp,
            )
        )
        self.entries.append(Movement(key=ident, sku=sku, qty=qty, fingerprint=fp, at="t"))

    def _back(self, kind: str, i: int, qty: int) -> None:
        if kind == "restore" and self.removed:  # a row staff put back
            self.rows.append(self.removed.pop(i % len(self.removed)))
        elif kind == "again" and self.entries:  # an identity's entry written twice
            self.entries.append(replace(self.entries[i % len(self.entries)], qty=qty))
        elif kind == "bare":  # 済 with no identity (the parse leaves those out; defensively)
            self.rows.append(Movement(key=f"bare{len(self.rows)}", sku="A", qty=qty, done=True))

    def on(self, event: tuple[str, object, int]) -> None:
        kind, arg, qty = event
        self.entries += self.owed
        self.owed = []
        if kind in ("apply", "late"):
            self.apply(str(arg), qty)
            if kind == "late":  # its entry comes a step after the mark, unlike the row
                self.owed.append(replace(self.entries.pop(), qty=qty + 1))
            return
        if kind in ("restore", "again", "bare"):
            self._back(kind, int(str(arg)), qty)
            return
        if kind == "day":
            self.prefix, self.seq = NEXT_DAY, 0
            return
        i = int(str(arg))
        if kind == "expire" and self.entries:
            del self.entries[i % len(self.entries)]
        elif kind == "reparse" and self.entries:  # a ledger row read again: equal, not the same
            at = i % len(self.entries)
            self.entries[at:] = [replace(e) for e in self.entries[at:]]
        elif self.rows:
            at = i % len(self.rows)
            if kind == "edit":
                self.rows[at] = replace(self.rows[at], qty=qty)
            elif kind == "copy":
                self.rows.append(replace(self.rows[at], key=f"copy{len(self.rows)}"))
            elif kind == "delete":  # or its mark cleared: then pending, not 済
                self.removed.append(self.rows.pop(at))
            elif kind == "sort":
                self.rows[at:] = reversed(self.rows[at:])


def _same(a: SettledCheck, b: SettledCheck) -> None:
    assert a.unique == b.unique
    assert a.prefix == b.prefix
    assert a.done == b.done
    assert a.entries == b.entries
    assert dict(a.ledger) == dict(b.ledger)
    assert a.on_tab == b.on_tab
    assert a.gone == b.gone
    assert a.cleared() == b.cleared()
    assert a.seq == b.seq
    assert a.edited == b.edited


@settings(max_examples=300, deadline=None)
@given(steps)
def test_carried_on_or_checked_in_full_the_answer_is_the_same(
    cycles: list[list[tuple[str, object, int]]],
) -> None:
    tab = Tab()
    prior: SettledCheck | None = None
    for events in cycles:
        for event in events:
            tab.on(event)
        went_on = check(tab.prefix, tuple(tab.entries), list(tab.rows), prior)
        _same(went_on, check(tab.prefix, tuple(tab.entries), list(tab.rows)))
        prior = went_on


@settings(max_examples=200, deadline=None)
@given(steps, st.lists(st.integers(0, 3), min_size=12, max_size=12))
def test_stepped_on_from_any_earlier_check_the_answer_is_the_same(
    cycles: list[list[tuple[str, object, int]]], back: list[int]
) -> None:
    """The worker steps again from an older state when a commit did not land: the tab
    and ledger are as they were then, and the older check's map, shared with the checks
    stepped on from it, has grown since; the answer must not show it."""
    tab = Tab()
    made: list[tuple[SettledCheck, Tab]] = []
    for events, b in zip(cycles, back, strict=False):
        prior = None
        if b < len(made):  # the commits of the last ``b`` steps did not land
            prior, kept = made[-1 - b]
            tab = copy.deepcopy(kept)
            del made[len(made) - b :]
        for event in events:
            tab.on(event)
        went_on = check(tab.prefix, tuple(tab.entries), list(tab.rows), prior)
        _same(went_on, check(tab.prefix, tuple(tab.entries), list(tab.rows)))
        made.append((went_on, copy.deepcopy(tab)))


def test_a_usual_cycle_looks_only_at_the_rows_applied_since(monkeypatch: MonkeyPatch) -> None:
    tab = Tab()
    for i in range(50):
        tab.apply("A", i % 4 + 1)
    first = check(DAY, tuple(tab.entries), list(tab.rows))
    assert first is not None
    tab.apply("B", 2)
    tab.apply("C", -1)
    tab.entries[-5:] = [replace(e) for e in tab.entries[-5:]]  # its ledger row read again

    def in_full(*_: object) -> None:
        raise AssertionError("checked in full")

    monkeypatch.setattr(settled, "_in_full", in_full)
    went_on = check(DAY, tuple(tab.entries), list(tab.rows), first)

    assert went_on is not None
    assert went_on.done[:50] == first.done and went_on.seq == 52
    assert went_on.ledger[f"{DAY}0052"].sku == "C"
    assert went_on.edited == () and went_on.gone == ()
    # The day-long map and set were added to, not built again ...
    assert went_on.grown is first.grown
    # ... and hold the ledger's own entries where its row was read again.
    assert all(went_on.ledger[e.key] is e for e in tab.entries[-5:])


def test_a_check_stepped_on_from_twice_is_checked_in_full_the_second_time(
    monkeypatch: MonkeyPatch,
) -> None:
    tab = Tab()
    tab.apply("A", 1)
    first = check(DAY, tuple(tab.entries), list(tab.rows))
    tab.apply("B", 2)  # a step whose commit does not land
    check(DAY, tuple(tab.entries), list(tab.rows), first)
    tab.rows.pop()
    tab.entries.pop()
    full: list[object] = []
    in_full = settled._in_full
    monkeypatch.setattr(settled, "_in_full", lambda *a: full.append(a) or in_full(*a))

    again = check(DAY, tuple(tab.entries), list(tab.rows), first)

    assert full and f"{DAY}0002" not in again.ledger and again.grown is not first.grown


def test_copies_are_left_to_the_row_by_row_sorting() -> None:
    tab = Tab()
    tab.apply("A", 1)
    tab.on(("copy", 0, 0))
    got = check(DAY, tuple(tab.entries), list(tab.rows))
    assert not got.unique and got.edited == ()


def test_a_cleared_mark_is_found_by_content_first_entry_first() -> None:
    tab = Tab()
    tab.apply("A", 1)
    tab.apply("A", 1)  # the same content twice
    tab.rows.clear()  # both marks cleared
    got = check(DAY, tuple(tab.entries), [])
    assert got is not None
    assert got.cleared() == {"A1": tab.entries[0]}
    assert settled.last_seq(DAY, got.ledger) == got.seq == 2
