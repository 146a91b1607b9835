"""出品状況 as the bot last wrote it: where each listing's row is and what it shows.

出品状況 is the bot's own tab (staff only tick 再送), so a cycle does not read it: at
100,000 listings that was 100,000 rows a cycle for nothing. :class:`ListingBook` holds
what the tab shows, from the start-up read and from the bot's own writes, and plans the
next write from it: only the rows whose values change, on the rows the book knows.

Staff may still sort, insert or delete rows there. Every write asks back, in the same
atomic batchUpdate, the key cells (モール, モール商品コード) of the rows it wrote and of
the tab's last row and the one after it (the *tail*: a sort, an insert or a delete
anywhere moves it). A write that landed on a row holding another listing, or a tail
that moved behind the bot's back, marks the book :attr:`~ListingBook.dirty`; the record
path then reads the tab once and writes every row that is not what the book says
(:meth:`ListingBook.resync`). The 再送 column comes back with that answer too (a blank
column costs nothing), which is how a tick is seen without reading the tab.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import compress
from operator import attrgetter, is_not
from typing import Any, NamedTuple

from bot.core.domain import ListingTarget, PushReason, PushResult, PushStatus, StockPush
from bot.core.engine import ChangedTargets
from bot.infra.clock import format_jst
from bot.infra.sheet.cells import cell_text, is_blank
from bot.infra.sheet.headers import HeaderMap, header_map
from bot.infra.sheet.reader import Reader
from bot.infra.sheet.rows import Label, reason_text, result_label
from bot.infra.sheet.spec import Template
from bot.infra.sheet.tabs import LISTINGS
from bot.infra.sheet.values import value_at

Key = tuple[str, str]
"""(mall key, モール商品コード) of one listing."""
VALUES = ("sku", "quantity", "reason", "at", "result")
"""The columns of a listing's row the bot writes after its key (モール, モール商品コード)."""
NO_ROW = -1
QUIET_CHECK = timedelta(seconds=60)
"""How often a record with nothing to write still reads 再送 and the tail (one small read).

A record that writes asks them back for free; a quiet shop pays one small read a minute
instead of one every cycle (15 s), and a 再送 tick then waits at most about a minute."""


class Shown(NamedTuple):
    """One listing's 出品状況 row: where it is (grid row) and its values as written."""

    row: int
    sku: str
    quantity: int | None
    reason: str
    at: str
    result: str

    def texts(self) -> tuple[str, ...]:
        """The values as a read shows them (NFKC text), for comparing with a read."""
        return tuple(cell_text(v) for v in self[1:])


class Owed(NamedTuple):
    """A write the book owes the sheet: the values, which of them, and whether pushed."""

    shown: Shown
    cols: frozenset[str]
    pushed: bool
    """A push result: the row's 再送 tick is cleared with it (the re-send is done)."""


_new_shown = tuple.__new__
"""``Shown(*values)`` (or ``Owed``) without the named tuple's own ``__new__`` (a Python function)."""
ALL = frozenset(VALUES)
RESULT_COLS = frozenset({"at", "result"})
"""What a push result changes on a row that already shows its number (a late outcome)."""


@dataclass
class _Handed:
    """The targets the last :meth:`ListingBook.want` took in, known by identity.

    The engine hands the same object for a listing whose target did not change; the
    book already shows or owes it, so of 100,000 targets a cycle looks at the new
    ones, the pushed ones and those pushed last time with a 理由 not the target's (a
    push writes its own; the target's is written after it, see
    :meth:`ListingBook.want`). A target was taken last time
    when it is the object at its place in ``targets`` (the usual cycle: compared place
    by place in C) or, when the listings changed in number, the object ``by_key``
    holds for its key. Looking at a target twice is harmless: it owes nothing new.
    """

    targets: Sequence[ListingTarget] = ()
    by_key: dict[Key, ListingTarget] = field(default_factory=dict)
    """Each listing's target as last taken (keyed by the target's own key tuple)."""
    again: set[Key] = field(default_factory=set)
    places: dict[Key, int] = field(default_factory=dict)
    """Where each of ``again`` was in last time's targets (its place is looked up there
    first: a listing's place moves only when the listings change in number)."""
    changed: list[int] | None = None
    """Places whose target is not last time's object (None: counted unalike)."""
    looked: list[int] | None = None
    """The places this call looks at (None: found by identity)."""
    exact: bool = False
    """This call's changed targets were named by the engine (every one is looked at)."""
    skus: list[str] | None = None
    """``targets``' skus in order, searched in place of the targets themselves: at 100k
    a bisect on the targets (a key call and two objects a probe, most not in the CPU's
    cache) took ~3 µs a changed listing, ~1.5 µs on this list (issue 10 item 3). Kept
    while the engine names the changes (the listings and their skus stay put), dropped
    otherwise and made again by the next search (100,000 references: 0.8 MB)."""

    def to_look_at(
        self,
        targets: Sequence[ListingTarget],
        pushed: Iterable[Key],
        changed: ChangedTargets | None = None,
    ) -> list[ListingTarget]:
        """The targets to look at, in their order: new ones, and those pushed now or last time.

        A pushed listing's place is among the changed ones when its target changed (a
        push usually comes with a new number); one pushed last time is most likely
        where it was then. Only the rest are searched for (each listing has one key).

        ``changed`` (the engine's own account of this step's changed targets) names the
        changed ones outright when it counts from the very targets handed last time:
        then no target is walked at all (:meth:`_by_change`).
        """
        keys = (*pushed, *self.again)
        last = self.targets
        self.looked = None
        self.exact = False
        if len(keys) >= SEARCH_FEWER_THAN and len(keys) * SEARCH_SHARE > len(targets):
            # A cold push and its late outcomes (an Amazon feed's, a cycle later) name
            # most listings: one walk of every target's identity costs less than
            # searching each of them (a bisect each).
            self.changed = None
            return self._by_identity(targets, keys)
        if changed is not None and changed.since is last and last:
            places = self._by_change(targets, changed.keys)
            if places is not None:
                self.exact = True
                return self._with_keys(targets, keys, places, changed.keys)
        if len(last) != len(targets):
            self.changed = None
            return self._by_identity(targets, keys)
        self.changed = list(compress(range(len(targets)), map(is_not, last, targets)))
        known = {targets[i].key for i in self.changed}
        return self._with_keys(targets, keys, set(self.changed), known)

    def _by_change(self, targets: Sequence[ListingTarget], keys: Iterable[Key]) -> set[int] | None:
        """The places of the targets ``keys`` names as changed; None when one is not found.

        Each is searched for by its old target's sku (the engine hands targets sorted by
        sku). None — the walk decides — when a key is new (no old target to tell its
        sku), gone, or not under its old sku (the listing moved to another product).
        """
        skus = self.skus
        if skus is None or len(skus) != len(self.targets):
            skus = self.skus = list(map(_SKU, self.targets))
        places: set[int] = set()
        for key in keys:
            old = self.by_key.get(key)
            place = None if old is None else _place_by(skus, targets, old)
            if place is None:
                return None
            places.add(place)
        return places

    def _with_keys(
        self,
        targets: Sequence[ListingTarget],
        keys: Iterable[Key],
        places: set[int],
        known: Collection[Key],
    ) -> list[ListingTarget]:
        """The targets at ``places`` and those of ``keys`` (pushed now or last time)."""
        for key in keys:
            if key in known:  # (the usual pushed key: its place is among the changed)
                continue
            target = self.by_key.get(key)
            if target is None:
                continue
            place = self.places.get(key)
            if place is None or targets[place].key != key:
                place = _place(targets, target)
            if place is None:  # gone, or not sorted by sku as the engine hands them
                self.exact = False
                return self._by_identity(targets, keys)
            places.add(place)
        self.looked = sorted(places)
        return [targets[i] for i in self.looked]

    def _by_identity(
        self, targets: Sequence[ListingTarget], keys: Iterable[Key]
    ) -> list[ListingTarget]:
        """:meth:`to_look_at` by one walk of every target's identity."""
        by_key = self.by_key
        todo = {id(t) for t in targets if by_key.get(t.key) is not t}
        for key in keys:
            target = by_key.get(key)
            if target is not None:
                todo.add(id(target))
        return list(compress(targets, map(todo.__contains__, map(id, targets))))

    def took(
        self, targets: Sequence[ListingTarget], looked: Sequence[ListingTarget], again: set[Key]
    ) -> None:
        """Remember this call's targets (``looked``: those looked at, new ones among them)."""
        last = self.targets
        if self.exact:  # the same listings; each changed one is among ``looked``
            for t in looked:
                self.by_key[t.key] = t
        elif self.changed is not None and len(last) == len(targets):
            for old in map(last.__getitem__, self.changed):
                if self.by_key.get(old.key) is old:
                    del self.by_key[old.key]
            for t in looked:
                self.by_key[t.key] = t
        else:
            self.by_key = {t.key: t for t in targets}
        at = self.looked or ()
        self.places = {key: i for i in at if (key := targets[i].key) in again} if again else {}
        if not self.exact:
            self.skus = None  # (the listings may have moved: made again when searched)
        self.targets, self.again, self.changed, self.looked = targets, again, None, None
        self.exact = False


_SKU = attrgetter("sku")
SEARCH_SHARE = 4
"""Keys to look at beyond a quarter of the targets are found by one walk, not searched."""
SEARCH_FEWER_THAN = 1_000
"""...unless they are this few (searching them costs little whatever the share)."""


def _place(targets: Sequence[ListingTarget], target: ListingTarget) -> int | None:
    """Where ``target``'s listing is in ``targets`` sorted by sku; None if not found there.

    Found by its key: the object there may be a new target for it (then its place is
    among the changed ones anyway).
    """
    at = bisect_left(targets, target.sku, key=_SKU)
    while at < len(targets) and targets[at].sku == target.sku:
        if targets[at].key == target.key:
            return at
        at += 1
    return None


def _place_by(
    skus: Sequence[str], targets: Sequence[ListingTarget], target: ListingTarget
) -> int | None:
    """:func:`_place` searched on ``skus`` (the skus of the targets handed last time).

    A place is only given when ``targets`` holds ``target``'s listing there under its
    sku (as :func:`_place` finds it when the skus stand place by place); None — the
    walk decides — otherwise.
    """
    sku, key = target.sku, target.key
    at = bisect_left(skus, sku)
    end = min(len(skus), len(targets))
    while at < end and skus[at] == sku:
        found = targets[at]
        if found.key == key:
            return at if found.sku == sku else None
        at += 1
    return None


@dataclass
class ListingBook:
    """出品状況 in memory; see the module docstring."""

    entries: dict[Key, Shown] = field(default_factory=dict)
    """Every listing on the tab, as last read or written."""
    owed: dict[Key, Owed] = field(default_factory=dict)
    """Writes not yet known to have landed (kept across a failed record)."""
    end: int = 1
    """Grid row after the last row with data: where the next appendCells lands."""
    grid_rows: int | None = None
    """The tab's row count as the last read or write answered it."""
    tail: tuple[str, str] = ("", "")
    """モール and モール商品コード of the last row with data, as a read shows them."""
    flags: dict[int, bool] = field(default_factory=dict)
    """Grid rows whose 再送 cell is not blank → ticked (True) or left FALSE."""
    clears: set[int] = field(default_factory=set)
    """Rows holding a listing's values but no listing (a write that went astray): blanked."""
    dirty: bool = True
    """Positions unknown (never read, or staff moved rows): read the tab before writing."""
    checked_at: datetime | None = None
    """When 再送 and the tail were last read (by a write's answer or a check)."""
    _reasons: dict[tuple[PushReason, str], tuple[str, str]] = field(
        default_factory=dict, repr=False
    )
    _texts: dict[str, str] = field(default_factory=dict, repr=False)
    _handed: _Handed = field(default_factory=lambda: _Handed(), repr=False)

    # -- reading -----------------------------------------------------------------------

    def load(self, grid: Sequence[Sequence[Any]], template: Template) -> None:
        """Take a whole read of 出品状況 as the truth (start-up)."""
        found = scan(grid, template)
        self.entries, self.flags, self.end, self.tail = (
            found.entries,
            found.flags,
            found.end,
            found.tail,
        )
        self.owed = {}
        self._handed = _Handed()
        self.dirty = False

    def resync(
        self, grid: Sequence[Sequence[Any]], template: Template, strays: Iterable[int] = ()
    ) -> int:
        """Take positions from a whole read; owe every row that is not as written.

        A listing whose row was deleted is appended again; one whose row holds other
        values (a write that landed on a moved row, a hand edit) is written again; rows
        the book did not know (typed by staff) are adopted as they are. ``strays`` are
        rows a write put a listing's values on that were not that listing's: one that
        holds no listing now (its row was deleted, the tab made again) is blanked, and
        new rows are appended from above it. Returns the number of rows owed now.
        """
        scanned = scan(grid, template)
        found = scanned.entries
        self._handed = _Handed()
        self.flags, self.end, self.tail = scanned.flags, scanned.end, scanned.tail
        header = listing_header(grid, template)
        self.clears = {
            r for r in strays if r < len(grid) and key_texts(grid[r], header) == ("", "")
        }
        if self.clears:
            rows = [i for i in range(1, len(grid)) if i not in self.clears and any(grid[i])]
            self.end = (rows[-1] + 1) if rows else 1
            self.tail = key_texts(grid[self.end - 1], header) if self.end > 1 else ("", "")
        for key, expected in self.entries.items():
            got = found.get(key)
            if key not in self.owed and (got is None or got.texts() != expected.texts()):
                self.owed[key] = Owed(expected, ALL, pushed=False)
        merged = dict(found)
        for key, expected in self.entries.items():
            got = found.get(key)
            merged[key] = expected._replace(row=got.row if got is not None else NO_ROW)
        self.entries = merged
        self.dirty = False
        return len(self.owed)

    # -- what to write -------------------------------------------------------------------

    def want(
        self,
        targets: Sequence[ListingTarget],
        pushed: Sequence[tuple[StockPush, PushResult]],
        now: datetime,
        label: Label,
        changed: ChangedTargets | None = None,
    ) -> None:
        """Owe the rows this record changes: pushed listings, new ones, changed 理由.

        A listing not pushed keeps what its row says (the number the mall shows); only a
        change of reason (連動停止 ticked or cleared, a switch in 設定) is written.
        ``changed``: the plan's :attr:`~bot.core.engine.Plan.changed_targets`.

        A pushed row shows the push's 理由; when that reads other than its target's, the
        target's is written at the next call (the listing is looked at again then). When
        it reads the same — the usual push — there is nothing to look at again: a target
        not changed by then is this very object, and a changed one is looked at anyway.
        """
        result_of = {p.key: (p, r) for p, r in pushed}
        at = format_jst(now)
        # Handed last time too: its row is as it was left (named by the engine, or
        # 100k targets sorted out in C).
        looked = self._handed.to_look_at(targets, result_of.keys(), changed)
        again: set[Key] = set()
        results: dict[tuple[PushStatus, str], str] = {}  # 結果 by status and message
        reasons: dict[tuple[PushReason, PushReason, str], tuple[str, bool]] = {}
        row_of, owed, result_owed = self.entries.get, self.owed, self._result_owed
        for target in looked:
            key = target.key  # the one tuple the engine keys this listing by
            entry = result_of.get(key)
            if entry is None:
                self._keep(key, target)
                continue
            push, result = entry
            said = results.get((result.status, result.message))
            if said is None:
                said = results[(result.status, result.message)] = result_label(result)
            pair = reasons.get((push.reason, target.reason, target.why))
            if pair is None:
                pair = reasons[(push.reason, target.reason, target.why)] = self._pushed_reason(
                    push.reason, target
                )
            # On the row the book has it on (its write lands there as a rule, and
            # landed_all then keeps this very Shown: see there).
            shown_now = row_of(key)
            row = NO_ROW if shown_now is None else shown_now.row
            owed[key] = result_owed(
                key, _new_shown(Shown, (row, target.sku, push.quantity, pair[0], at, said))
            )
            if pair[1]:
                again.add(key)  # its 理由 is checked against the target next time
        self._handed.took(targets, looked, again)

    def _pushed_reason(self, reason: PushReason, target: ListingTarget) -> tuple[str, bool]:
        """A push's 理由 as written, and whether it reads other than its target's."""
        raw = self._reason(reason, "")[0]
        return raw, self._text(raw) != self._reason(target.reason, target.why)[1]

    def _result_owed(self, key: Key, shown: Shown) -> Owed:
        """A push result's write: the whole row, or 反映日時 and 結果 alone when the rest stands.

        A late outcome (an Amazon feed's processing report, :mod:`bot.shell.late`) comes
        for a listing whose row the PENDING result wrote: same 商品コード, 表示在庫 and
        理由. Writing only the two cells that change leaves the tab as the whole row
        would, at 2 of its 5 values (a cold feed's outcome is every Amazon listing).
        """
        owed = self.owed.get(key)
        current = owed.shown if owed is not None else self.entries.get(key)
        if (
            current is None
            or current.sku != shown.sku
            or current.quantity != shown.quantity
            or self._text(current.reason) != self._text(shown.reason)
        ):
            return _new_shown(Owed, (shown, ALL, True))  # (a pushed row: a thousand a cycle)
        cols = RESULT_COLS if owed is None else owed.cols | RESULT_COLS
        return Owed(current._replace(at=shown.at, result=shown.result), cols, pushed=True)

    def _keep(self, key: Key, target: ListingTarget) -> None:
        """A listing not pushed: a row if it has none, else its 理由 if that changed."""
        raw, text = self._reason(target.reason, target.why)
        owed = self.owed.get(key)
        current = owed.shown if owed is not None else self.entries.get(key)
        if current is None:
            shown = None if target.reason is PushReason.STOPPED else target.quantity
            self.owed[key] = Owed(Shown(NO_ROW, target.sku, shown, raw, "", ""), ALL, False)
        elif self._text(current.reason) != text:
            if owed is None:
                self.owed[key] = Owed(current._replace(reason=raw), frozenset({"reason"}), False)
            else:
                self.owed[key] = owed._replace(
                    shown=current._replace(reason=raw), cols=owed.cols | {"reason"}
                )

    def _reason(self, reason: PushReason, why: str) -> tuple[str, str]:
        """理由 as written and as read back (NFKC: 「（」 reads as 「(」), remembered."""
        got = self._reasons.get((reason, why))
        if got is None:
            raw = reason_text(reason, why)
            got = self._reasons[(reason, why)] = (raw, cell_text(raw))
        return got

    def _text(self, value: str) -> str:
        """``cell_text`` of a 理由 the book holds, remembered (a few distinct values)."""
        got = self._texts.get(value)
        if got is None:
            got = self._texts[value] = cell_text(value)
        return got

    def row_of(self, key: Key) -> int:
        """The grid row of ``key`` (NO_ROW when it has none yet)."""
        entry = self.entries.get(key)
        return entry.row if entry is not None else NO_ROW

    def landed(self, key: Key, row: int) -> None:
        """An owed write landed on ``row``: the book shows it from now on."""
        self.landed_all(((key, row),))

    def landed_all(self, writes: Iterable[tuple[Key, int]]) -> None:
        """:meth:`landed` for each (key, row) of ``writes`` (a record's thousand rows).

        A write owed for a row the book knew lands on that row as a rule: its ``Shown``
        already names it (:meth:`want` builds it so) and is kept as it is, not built
        again (a thousand tuples a cycle at 100k).
        """
        pop, entries, flags = self.owed.pop, self.entries, self.flags
        for key, row in writes:
            owed = pop(key, None)
            if owed is not None:
                shown = owed.shown
                entries[key] = shown if shown[0] == row else _new_shown(Shown, (row, *shown[1:]))
                if owed.pushed and flags:
                    flags.pop(row, None)

    def ticked(self) -> set[Key]:
        """Listings whose 再送 is ticked, as the last read or write answered."""
        rows = {row for row, on in self.flags.items() if on}
        if not rows:
            return set()
        return {key for key, entry in self.entries.items() if entry.row in rows}

    def check_due(self, now: datetime) -> bool:
        """Whether a record with nothing to write should read 再送 and the tail now."""
        return self.checked_at is None or now - self.checked_at >= QUIET_CHECK

    def take_flags(self, column: Mapping[int, Any], template: Template) -> None:
        """The 再送 column as a write's answer or a read showed it (grid row → raw value)."""
        self.flags = flags_of(column, template)

    def appended(self, rows: int, tail: tuple[str, str]) -> None:
        """``rows`` rows were appended after the last one; ``tail`` is the new last row."""
        self.end += rows
        self.tail = tail


@dataclass
class Scan:
    """One whole read of 出品状況, parsed."""

    entries: dict[Key, Shown]
    """Each listing's row and values (the first row of a key wins)."""
    flags: dict[int, bool]
    end: int
    tail: tuple[str, str]


def flags_of(column: Mapping[int, Any], template: Template) -> dict[int, bool]:
    """Non-blank 再送 cells (grid row → raw value) → ticked or not."""
    reader = None  # made for the first non-blank cell (the column is blank as a rule)
    flags: dict[int, bool] = {}
    for row, raw in column.items():
        if row > 0 and not is_blank(raw):
            reader = reader or Reader(template)
            try:
                flags[row] = bool(reader.bool_word(raw))
            except ValueError:
                flags[row] = False  # not a tick made with the checkbox: cleared like FALSE
    return flags


def key_texts(row: Sequence[Any], header: HeaderMap) -> tuple[str, str]:
    """モール and モール商品コード of one read row, as text."""
    return (
        cell_text(value_at(row, header.col("mall"))),
        cell_text(value_at(row, header.col("code"))),
    )


def scan(grid: Sequence[Sequence[Any]], template: Template) -> Scan:
    """Parse a whole read of 出品状況 (see :class:`Scan`)."""
    header = listing_header(grid, template)
    mall_col, code_col = header.col("mall"), header.col("code")
    cols = [header.col(k) for k in VALUES]
    resend_col = header.col("resend")
    found: dict[Key, Shown] = {}
    shared: dict[Any, Any] = {}
    malls: dict[str, str | None] = {}
    column: dict[int, Any] = {}
    for gi in range(1, len(grid)):
        row = grid[gi]
        flag = value_at(row, resend_col)
        if flag is not None:
            column[gi] = flag
        mall_text = cell_text(value_at(row, mall_col))
        if mall_text not in malls:
            malls[mall_text] = template.mall_key(mall_text)
        mall = malls[mall_text]
        code = cell_text(value_at(row, code_col))
        if mall is None or not code or (mall, code) in found:
            continue
        sku, qty, reason, at, result = (value_at(row, c) for c in cols)
        found[(mall, code)] = Shown(
            gi,
            _text(sku),
            int(qty) if isinstance(qty, int | float) and not isinstance(qty, bool) else None,
            shared.setdefault(_text(reason), _text(reason)),
            shared.setdefault(_text(at), _text(at)),
            shared.setdefault(_text(result), _text(result)),
        )
    tail = key_texts(grid[-1], header) if len(grid) > 1 else ("", "")
    return Scan(found, flags_of(column, template), max(1, len(grid)), tail)


def listing_header(grid: Sequence[Sequence[Any]], template: Template) -> HeaderMap:
    """出品状況's header map from a read's first row."""
    return header_map(template.tab(LISTINGS), grid[0] if grid else [])


def _text(value: Any) -> str:
    """A read cell as the text it was written as ("" for blank)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def misplaced(
    cells: Mapping[tuple[int, int], Any],
    checks: Iterable[tuple[int, Key]],
    header: HeaderMap,
    template: Template,
) -> list[int]:
    """Checked rows that do not hold the listing they were written for (a write's answer)."""
    mall_col, code_col = header.col("mall"), header.col("code")
    if mall_col is None or code_col is None:
        return [row for row, _ in checks]
    malls: dict[str, str | None] = {}  # a モール label → its key, each label once

    def mall_key(value: Any) -> str | None:
        text = cell_text(value)
        if text not in malls:
            malls[text] = template.mall_key(text)
        return malls[text]

    return [
        row
        for row, (mall, code) in checks
        if mall_key(cells.get((row, mall_col))) != mall
        or cell_text(cells.get((row, code_col))) != code
    ]
