"""The 済 rows of 入出庫 against their ledger, checked once and carried to the next step.

``stock.apply_movements`` needs, every cycle, what the applied rows and the ledger say
together: each identity's ledger entry, the identities on the tab, the entries no row
carries (a cleared mark is found by content among them), today's last identity number,
and the 済 rows edited since they were applied. A busy day holds tens of thousands of
such rows, and from one cycle to the next the only news is the rows applied since and
their ledger entries: the tab's 済 rows and the ledger start as they did (the sheet
layer hands the settled top back as the same objects, new ledger entries go after the
others). So :func:`check` takes the last step's :class:`SettledCheck` and, when both
still start with what it saw (compared by value, at C speed by identity first), looks
only at the rows and entries after it. Anything else — a row gone or sorted, an entry
dropped at its expiry, another day, a new entry for an identity already known — is
checked in full, as is a state without memo: the answer is the same either way
(``tests/unit/test_engine_settled.py``).

The identity map and the identities on the tab are as long as the day: built again each
step they cost ~30 ms at 48,000 rows (and as much again to free the last step's). So
successive checks share one :class:`_Grown` map and set, each step adding what came
after the last. Only the newest check may add to them (``_Grown.stamp``): a check
stepped from again later (the worker steps again from the state of a commit that did not
land) has had rows of a step that did not count added to its map, so it is checked in
full instead. Read ``ledger`` and ``on_tab`` of the newest check only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from itertools import chain, compress, count, repeat
from operator import attrgetter, is_not, itemgetter, methodcaller, ne, not_, or_
from typing import cast

from bot.core.domain import Movement

_STAMPS = count(1)
"""Stamps that tell one check from another (compared by value: no reference to a check)."""

_KEY = attrgetter("key")
_IDENT = attrgetter("ident")
_SKU = attrgetter("sku")
_QTY = attrgetter("qty")
_DONE_FLAG = attrgetter("done")


@dataclass(slots=True)
class _Grown:
    """The identity map and the identities on the tab that successive checks share."""

    ledger: dict[str, Movement]
    on_tab: set[str]
    stamp: int
    """The stamp of the newest check: the only one that may step on by adding here."""


@dataclass(frozen=True, slots=True)
class SettledCheck:
    """What the 済 rows (with identity) and the ledger said together at one step."""

    prefix: str
    """Today's identity prefix (``M20261123-``) it was made for."""
    done: tuple[Movement, ...]
    """The 済 rows, in sheet order, as given."""
    entries: tuple[Movement, ...]
    """The ledger, as given."""
    grown: _Grown
    """The map and set below, shared with the checks stepped on from this one."""
    gone: tuple[Movement, ...]
    """Ledger entries whose identity no row carries, in ledger order."""
    seq: int
    """Today's last identity number among the rows and the ledger."""
    edited: tuple[tuple[Movement, Movement], ...]
    """(row, entry): 済 rows whose 商品コード or 数量 differs from their entry."""
    unique: bool = True
    """No two 済 rows share an identity (else ``edited`` is empty: see ``stock``)."""
    stamp: int = 0
    """This check's stamp (``_Grown.stamp`` while it is the newest)."""

    @property
    def ledger(self) -> Mapping[str, Movement]:
        """Identity → its ledger entry (the last one when an identity repeats)."""
        return self.grown.ledger

    @property
    def on_tab(self) -> Set[str]:
        """The identities the 済 rows carry."""
        return self.grown.on_tab

    def cleared(self) -> dict[str, Movement]:
        """Fingerprint → the first entry no row carries (a cleared mark, found by content)."""
        out: dict[str, Movement] = {}
        for entry in self.gone:
            if entry.fingerprint:
                out.setdefault(entry.fingerprint, entry)
        return out


@dataclass(frozen=True, slots=True)
class Split:
    """入出庫 rows as given, and where the rows not 済 are: which rows are 済 and which not.

    A busy day holds tens of thousands of rows, and from one step to the next the sheet
    layer hands the same rows back as the same objects, all but those the bot marked
    since and the rows added below. :func:`split` takes the last step's split and reads
    the 済 flag only of the rows from the first that is not the same object on.
    """

    rows: tuple[Movement, ...]
    open_at: tuple[int, ...]
    """Positions of the rows not 済, ascending."""

    def done(self) -> list[Movement]:
        """The 済 rows, in sheet order."""
        rows, at = self.rows, 0
        out: list[Movement] = []
        for i in self.open_at:
            out.extend(rows[at:i])
            at = i + 1
        out.extend(rows[at:])
        return out

    def open_rows(self) -> list[Movement]:
        """The rows not 済, in sheet order."""
        return list(map(self.rows.__getitem__, self.open_at))


def split(movements: Sequence[Movement], prior: Split | None = None) -> Split:
    """Which of ``movements`` are 済; ``prior``: the last step's split.

    The flags of the rows that are the same objects as ``prior``'s, up to the first that
    is not, are taken from it (a row is a frozen object: the same object, the same flag).
    """
    rows = movements if isinstance(movements, tuple) else tuple(movements)
    same, open_at = 0, list[int]()
    if prior is not None:
        old = prior.rows
        same = next(compress(count(), map(is_not, old, rows)), min(len(old), len(rows)))
        open_at = list(prior.open_at[: bisect_left(prior.open_at, same)])
    open_at.extend(compress(count(same), map(not_, map(_DONE_FLAG, rows[same:]))))
    return Split(rows, tuple(open_at))


def check(
    prefix: str,
    entries: Sequence[Movement],
    done: Sequence[Movement],
    prior: SettledCheck | None = None,
) -> SettledCheck:
    """The 済 rows ``done`` against the ledger ``entries``.

    When two rows share an identity (a copy staff made) the check says so (``unique``
    false) and finds no edits: ``stock`` sorts those rows out one by one.
    """
    if prior is not None:
        went_on = _after(prior, prefix, entries, done)
        if went_on is not None:
            return went_on
    return _in_full(prefix, tuple(entries), tuple(done))


def _in_full(
    prefix: str, entries: tuple[Movement, ...], done: tuple[Movement, ...]
) -> SettledCheck:
    idents = list(map(_IDENT, done))
    on_tab = set(idents)
    unique = len(on_tab) == len(idents)
    on_tab.discard("")  # a 済 row without identity carries none
    ledger = dict(zip(map(_KEY, entries), entries, strict=True))
    gone = tuple(compress(entries, map(not_, map(on_tab.__contains__, map(_KEY, entries)))))
    stamp = next(_STAMPS)
    return SettledCheck(
        prefix=prefix,
        done=done,
        entries=entries,
        grown=_Grown(ledger, on_tab, stamp),
        gone=gone,
        seq=last_seq(prefix, chain(on_tab, ledger)),
        edited=tuple(_edited(done, idents, ledger)) if unique else (),
        unique=unique,
        stamp=stamp,
    )


def _after(
    prior: SettledCheck, prefix: str, entries: Sequence[Movement], done: Sequence[Movement]
) -> SettledCheck | None:
    """``prior`` carried on by the rows and entries after those it saw; None: check in full."""
    n, d = len(prior.entries), len(prior.done)
    grown = prior.grown
    if (
        not prior.unique
        or grown.stamp != prior.stamp  # stepped on from already: its map has grown since
        or prefix != prior.prefix
        or len(entries) < n
        or len(done) < d
        or tuple(done[:d]) != prior.done
        or tuple(entries[:n]) != prior.entries
    ):
        return None
    new_entries, new_rows = tuple(entries[n:]), tuple(done[d:])
    keys = list(map(_KEY, new_entries))
    idents = list(map(_IDENT, new_rows))
    fresh = frozenset(idents)
    if (
        len(fresh) < len(idents)
        or "" in fresh
        or any(map(grown.on_tab.__contains__, keys))  # a row known before gets its entry now
        or any(map(grown.on_tab.__contains__, idents))  # a copy of an applied row
    ):
        return None
    ledger, on_tab = grown.ledger, grown.on_tab
    _take_reread(ledger, prior.entries, entries)
    ledger.update(zip(keys, new_entries, strict=True))
    on_tab |= fresh
    stamp = grown.stamp = next(_STAMPS)
    gone = (
        *compress(prior.gone, map(not_, map(fresh.__contains__, map(_KEY, prior.gone)))),
        *compress(new_entries, map(not_, map(on_tab.__contains__, keys))),
    )
    return SettledCheck(
        prefix=prefix,
        done=tuple(done),
        entries=tuple(entries),
        grown=grown,
        gone=gone,
        seq=max(prior.seq, last_seq(prefix, chain(keys, idents))),
        edited=(*prior.edited, *_edited(new_rows, idents, ledger)),
        stamp=stamp,
    )


def _take_reread(
    ledger: dict[str, Movement], before: Sequence[Movement], now: Sequence[Movement]
) -> None:
    """Have ``ledger`` hold the entries ``now`` where they are new objects equal in value.

    A ledger row that takes new entries is read again as new objects; the map holds the
    ledger's own rather than keep both alive. Only the entries of the row read again
    differ by identity: the loop runs over those (found at C speed).
    """
    for i in compress(count(), map(is_not, before, now)):
        old, new = before[i], now[i]
        if ledger.get(old.key) is old:
            ledger[old.key] = new


def _edited(
    rows: Sequence[Movement], idents: Sequence[str], ledger: Mapping[str, Movement]
) -> Iterable[tuple[Movement, Movement]]:
    """(row, entry) of the rows whose 商品コード or 数量 differs from their ledger entry."""
    entries = list(map(ledger.get, idents))
    known = list(map(is_not, entries, repeat(None)))
    rows = list(compress(rows, known))
    found = cast(list[Movement], list(compress(entries, known)))  # the Nones left out
    differ = map(
        or_,
        map(ne, map(_SKU, rows), map(_SKU, found)),
        map(ne, map(_QTY, rows), map(_QTY, found)),
    )
    return compress(zip(rows, found, strict=True), differ)


def last_seq(prefix: str, idents: Iterable[str]) -> int:
    """The highest number after ``prefix`` among ``idents`` (0 for none); C speed.

    The bot writes ``{prefix}{n:04d}``: among tails of the greatest length, the
    greatest text is the greatest number unless it has a leading zero (then a shorter
    tail may be greater: ``00009`` < ``0010``), is not all digits or holds a ``-`` of
    its own (the tail is what follows the last ``-``); only then is
    every tail converted (:func:`_last_seq_plainly`).
    """
    today = list(filter(methodcaller("startswith", prefix), idents))
    if not today:
        return 0
    lengths = list(map(len, today))
    width = max(lengths)
    tail = max(compress(today, map(width.__eq__, lengths)))[len(prefix) :]
    dashes = prefix.count("-")
    if (
        tail.isdigit()
        and (tail[0] != "0" or min(lengths) == width)
        and max(map(methodcaller("count", "-"), today)) == dashes  # the tail is after it
    ):
        return int(tail)
    return _last_seq_plainly(prefix, today)


def _last_seq_plainly(prefix: str, idents: Iterable[str]) -> int:
    """:func:`last_seq`, every tail of digits converted."""
    today = filter(methodcaller("startswith", prefix), idents)
    tails = map(itemgetter(2), map(methodcaller("rpartition", "-"), today))
    return max(map(int, filter(str.isdigit, tails)), default=0)
