"""入出庫 rows have an identity (issue 7 item 6): the engine's decisions, with plain values.

A row the bot applied carries ``済 <time> #M<yyyymmdd>-<nnnn>`` in 反映 and an entry in
the ledger (``Snapshot.movement_ledger``, kept in ``_state``). The gateway tests and
tests/e2e/test_movement_identity.py run the same cases through the sheet.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from bot.core import engine
from bot.core.domain import AlertKind, Movement, Product, Snapshot
from bot.core.engine import settled
from bot.core.engine.stock import _copies_sorted_out, _edited_after_done, _Identities
from bot.core.engine.work import Work

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 14:00 JST
DAY = "M20261123-"  # the identities of that day
APPLIED_AT = "2026-11-22 10:00:00"


def product(sku: str, stock: int) -> Product:
    return Product(sku=sku, stock=stock, codes={"rakuten": (f"{sku.lower()}:v",)})


def row(key: str, qty: int = 5, sku: str = "A", *, fp: str = "fp1", row: int = 2) -> Movement:
    """A pending 入出庫 row (no 済)."""
    return Movement(key=key, sku=sku, qty=qty, kind="入荷", row=row, fingerprint=fp)


def done(
    key: str, ident: str, qty: int = 5, sku: str = "A", *, fp: str = "fp1", row: int = 2
) -> Movement:
    """A 済 row carrying the identity the bot wrote."""
    return Movement(key=key, sku=sku, qty=qty, row=row, fingerprint=fp, done=True, ident=ident)


def entry(ident: str, qty: int = 5, sku: str = "A", fp: str = "fp1") -> Movement:
    """A ledger entry as _state keeps it."""
    return Movement(key=ident, sku=sku, qty=qty, fingerprint=fp, at=APPLIED_AT)


def step(*movements: Movement, ledger: tuple[Movement, ...] = (), stock: int = 10) -> engine.Plan:
    snapshot = Snapshot(
        products={"A": product("A", stock)}, movements=movements, movement_ledger=ledger
    )
    state = engine.committed(engine.step(engine.EngineState(), snapshot, [], NOW))
    return engine.step(state, snapshot, [], NOW)


def test_a_new_row_is_applied_with_an_identity() -> None:
    plan = step(row("k1"), row("k2", 2, fp="fp2", row=3))
    assert plan.stock == {"A": 17}
    assert plan.movement_marks == {
        "k1": "済 2026-11-23 14:00:00 #M20261123-0001",
        "k2": "済 2026-11-23 14:00:00 #M20261123-0002",
    }


def test_identities_continue_after_those_already_used_today() -> None:
    plan = step(
        done("k0", "M20261123-0007", fp="fp0"),
        row("k1"),
        ledger=(entry("M20261123-0007", fp="fp0"), entry("M20261123-0003", fp="gone")),
    )
    assert plan.movement_marks["k1"].endswith("#M20261123-0008")


def test_an_applied_row_is_left_alone() -> None:
    plan = step(done("k1", "M20261122-0001"), ledger=(entry("M20261122-0001"),))
    assert plan.stock == {} and plan.movement_marks == {} and plan.problems == ()


def test_a_cleared_mark_is_restored_not_applied_again() -> None:
    plan = step(row("k1"), ledger=(entry("M20261122-0001"),))
    assert plan.stock == {}
    assert plan.movement_marks == {"k1": f"済 {APPLIED_AT} #M20261122-0001"}
    assert plan.ops_log == ()


def test_a_copy_of_an_applied_row_is_a_new_movement() -> None:
    """Copy-paste keeps the 済 mark: two rows carry one identity. The one matching the
    ledger is the original; the copy (here with its own date, so its own content) is
    applied and gets an identity of its own."""
    original = done("k1", "M20261122-0001", row=2)
    copy = done("k2", "M20261122-0001", qty=5, fp="fp-copy", row=9)
    plan = step(copy, original, ledger=(entry("M20261122-0001"),))
    assert plan.stock == {"A": 15}
    assert plan.movement_marks == {"k2": "済 2026-11-23 14:00:00 #M20261123-0001"}


def test_an_identical_copy_is_applied_once_too() -> None:
    original = done("k1-0", "M20261122-0001", row=2)
    copy = done("k1-1", "M20261122-0001", row=3)
    plan = step(original, copy, ledger=(entry("M20261122-0001"),))
    assert plan.stock == {"A": 15}
    assert list(plan.movement_marks) == ["k1-1"]


def test_a_copy_whose_mark_was_cleared_is_applied() -> None:
    """The original still shows its identity: the cleared copy is new, not a restore."""
    plan = step(
        done("k1-0", "M20261122-0001"), row("k1-1", row=3), ledger=(entry("M20261122-0001"),)
    )
    assert plan.stock == {"A": 15}
    assert plan.movement_marks["k1-1"].endswith("#M20261123-0001")


def test_a_row_edited_after_it_was_applied_changes_nothing_and_says_so_once() -> None:
    edited = done("k1", "M20261122-0001", qty=8, fp="fp-edited")
    snapshot = Snapshot(
        products={"A": product("A", 10)},
        movements=(edited,),
        movement_ledger=(entry("M20261122-0001"),),
    )
    state = engine.committed(engine.step(engine.EngineState(), snapshot, [], NOW))
    first = engine.step(state, snapshot, [], NOW)
    assert first.stock == {} and first.movement_marks == {}
    [problem] = [p for p in first.problems if p.tab == "movements"]
    assert "#M20261122-0001" in problem.message and "A +5" in problem.message
    assert "入出庫 2行目" in problem.message
    second = engine.step(engine.committed(first), snapshot, [], NOW)
    assert [a for a in second.alerts if a.kind is AlertKind.ROW_PROBLEM] == []
    assert second.error_log == ()


def test_a_memo_edit_after_it_was_applied_is_no_problem() -> None:
    plan = step(done("k1", "M20261122-0001", fp="fp-new-memo"), ledger=(entry("M20261122-0001"),))
    assert plan.problems == () and plan.stock == {}


def test_sorting_changes_nothing() -> None:
    ledger = (entry("M20261122-0001"), entry("M20261122-0002", qty=-1, fp="fp2"))
    a = done("k1", "M20261122-0001", row=2)
    b = done("k2", "M20261122-0002", qty=-1, fp="fp2", row=3)
    for order in ((a, b), (b, a)):
        plan = step(*order, ledger=ledger)
        assert plan.stock == {} and plan.movement_marks == {} and plan.problems == ()


def test_a_mark_from_before_identities_is_left_alone() -> None:
    """The parse passes no 済 row without identity; a pending row with no ledger match is new."""
    plan = step(row("k1"), ledger=())
    assert plan.stock == {"A": 15}


_ident = st.sampled_from(["", "M20261123-0001", "M20261123-0002", "M20261122-0009"])
_on_tab = st.builds(
    Movement,
    key=st.uuids().map(str),
    sku=st.sampled_from(["A", "B"]),
    qty=st.integers(0, 3),
    done=st.booleans(),
    ident=_ident,
    fingerprint=st.sampled_from(["fp1", "fp2"]),
)
_entry = st.builds(
    Movement,
    key=_ident.filter(bool),
    sku=st.sampled_from(["A", "B"]),
    qty=st.integers(0, 3),
    fingerprint=st.sampled_from(["fp1", "fp2", ""]),
    at=st.just("2026-11-23 10:00:00"),
)


@given(st.lists(_on_tab, max_size=8), st.lists(_entry, max_size=4, unique_by=lambda m: m.key))
def test_the_fast_path_sorts_rows_as_the_general_one(
    movements: list[Movement], ledger: list[Movement]
) -> None:
    """The check of 済 rows at C speed gives what the by-identity grouping gives."""
    fast, slow = Work(now=NOW, stock={}, lines={}), Work(now=NOW, stock={}, lines={})
    done = [m for m in movements if m.done]
    idents = [m.ident for m in done]
    # The plain reading: the ledger by identity, a cleared mark found by content among
    # the entries no row carries (the first one), today's last identity number.
    by_key = {m.key: m for m in ledger}
    on_tab = set(idents) - {""}
    cleared: dict[str, Movement] = {}
    for entry in ledger:
        if entry.key not in on_tab and entry.fingerprint:
            cleared.setdefault(entry.fingerprint, entry)
    seq = max((int(i[10:]) for i in {*by_key, *idents} if i.startswith(DAY)), default=0)
    ids = _Identities(slow, DAY, by_key, dict(cleared), seq)
    expected = _copies_sorted_out(slow, movements, done, ids)
    checked = settled.check(DAY, ledger, done)
    assert checked.unique == (len(set(idents)) == len(idents))  # copies: row by row
    if checked.unique:
        for mv, entry in checked.edited:
            _edited_after_done(fast, mv, entry)
        assert [m for m in movements if not m.done] == expected
        assert fast.problems == slow.problems
    assert checked.cleared() == cleared
    assert dict(checked.ledger) == by_key
    assert checked.seq == seq


_tails = st.one_of(
    st.integers(0, 120_000).map(lambda n: f"{n:04d}"),  # as the bot writes them
    st.text("0123456789", min_size=0, max_size=7),  # typed by hand: any width, zeros
    st.text("0123456789x-", min_size=1, max_size=6),  # not a number
)


@given(st.lists(st.tuples(st.sampled_from([DAY, "M20261122-", "X"]), _tails)))
@example([(DAY, "00009"), (DAY, "0010")])  # the wider is not the greater
@example([(DAY, "9999"), (DAY, "10000")])  # past 9,999 in a day
@example([(DAY, "0000"), (DAY, "00-1")])  # typed with a dash: the tail follows the last
def test_the_last_identity_number_is_the_plain_maximum(idents: list[tuple[str, str]]) -> None:
    texts = [head + tail for head, tail in idents]
    assert settled.last_seq(DAY, texts) == settled._last_seq_plainly(DAY, texts)
