"""The ledger of applied 入出庫 rows: identities the bot wrote in 反映, kept in ``_state``.

A 入出庫 row is applied once and marked ``済 <time> #M20261123-0007``. The mark alone
cannot protect it: staff may clear it, copy the row, or edit it. So every identity is
also kept in ``_state`` (identity → 商品コード, 数量, fingerprint of the row's cells,
time applied), written in the same atomic commit as the mark and the stock, and read
back with every cycle's one batchGet — a restart knows it too. The engine
(``stock.apply_movements``) decides with it; this module reads and writes it.

Entries are kept while their identity or their content is still on the tab, and at
least :data:`KEEP_DAYS` days; when 入出庫 was not read (its tab is missing) the ledger is
written back as it was read.

Rows (:func:`next_ledger_rows`): ``movements:0001``, ``movements:0002``, … each hold a
JSON object of whole entries, at most :data:`~bot.infra.sheet.state.CELL_CHARS` long.
A row is rewritten only when its own entries change, so with the _state writer sending
only changed rows (``state.plan_state``) a commit applying one 入出庫 row sends about
one row of the ledger, however long it is (a busy shop's ledger runs to megabytes;
a commit should stay far below Google's 2 MB advice). New entries go to the row holding
the newest identity until it is full, then to the lowest free row number. Entries
expire in batches: the horizon is a JST midnight (:func:`expiry_horizon`), so it moves
once a day and the rows between sweeps stay as they are; a row whose entries all
expired is cleared (a few bytes), and at most :data:`SWEEP_CHUNKS` rows per commit are
rewritten to drop some of their entries (the rest wait for the next commits: being
kept longer is always safe). Before these rows the whole ledger was one JSON value
under ``movements`` (split over ``movements#n`` rows): it is still read, and the first
commit through :func:`next_ledger_rows` rewrites it as rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import chain, count
from typing import Any

from bot.core.domain import Movement
from bot.infra.clock import JST
from bot.infra.sheet.cells import parse_jst
from bot.infra.sheet.state import CELL_CHARS, chunk_base

LEDGER_KEY = "movements"
"""The _state key that held the whole ledger before rows (``movements#n`` when long)."""

CHUNK_PREFIX = "movements:"
"""Ledger rows are ``movements:0001``, ``movements:0002``, … (see the module docstring)."""

_CHUNK_KEY = re.compile(r"^movements:(\d+)$")
_IDENT_ORDER = re.compile(r"M(\d{8})-(\d+)")

SWEEP_CHUNKS = 2
"""Ledger rows one commit may rewrite to drop expired entries (each ≤ CELL_CHARS)."""

KEEP_DAYS = 60
"""Days an applied row is remembered after it left the tab (like 販売ログ's window)."""

IDENT = re.compile(r"#(M\d{8}-\d{4,})")
"""The identity in a 反映 cell (``済 2026-11-23 14:05:09 #M20261123-0007``)."""


def ident_of(mark: str) -> str:
    """The identity written in a 反映 cell, "" for none (a mark from before identities)."""
    m = IDENT.search(mark)
    return m.group(1) if m else ""


def ledger_text(state: Mapping[str, str]) -> str:
    """The ledger's JSON from _state rows, joined back from ``movements#n`` rows."""
    parts = [state.get(LEDGER_KEY, "")]
    n = 1
    while f"{LEDGER_KEY}#{n}" in state:
        parts.append(state[f"{LEDGER_KEY}#{n}"])
        n += 1
    return "".join(parts)


def parse_ledger(text: str) -> tuple[Movement, ...]:
    """The ledger as ``_state`` holds it; unreadable entries are dropped (logged upstream)."""
    return _entries(text)


def _entries(text: str) -> tuple[Movement, ...]:
    """The entries of one JSON object of the ledger; () when it cannot be read."""
    return _read_entries(text)[0]


def _read_entries(text: str, rows: DoneRows | None = None) -> tuple[tuple[Movement, ...], int]:
    """The entries of one JSON object of the ledger, and how many keys it has.

    ``rows``: 入出庫 rows as parsed; an entry takes the strings of its done row
    (:func:`_shared`).
    """
    if not text:
        return (), 0
    try:
        raw = json.loads(text)
    except ValueError:
        return (), 0
    out: list[Movement] = []
    if not isinstance(raw, dict):
        return (), 0
    times: dict[str, str] = {}
    for ident, entry in raw.items():
        try:
            sku, qty, fingerprint, at = entry
            at = str(at)
            out.append(
                Movement(
                    key=str(ident),
                    sku=str(sku),
                    qty=int(qty),
                    fingerprint=str(fingerprint),
                    at=times.setdefault(at, at),
                )
            )
        except (TypeError, ValueError):
            continue
    return tuple(_shared(out, rows) if rows is not None and out else out), len(raw)


def _shared(entries: list[Movement], rows: DoneRows) -> list[Movement]:
    """``entries`` holding the identity, 商品コード and fingerprint strings of their done rows.

    An applied row stays on 入出庫 (a done ``Movement``, kept by the settled top) while
    its entry stays in the ledger: each would hold a string of its own for the same
    three texts, ~200 bytes an entry, ~200 entries a cycle at 100k products. Only equal
    texts are taken, so every entry reads as parsed.
    """
    for i, e in enumerate(entries):
        row = rows.find(e.key)
        if row is not None:
            entries[i] = Movement(
                key=row.ident,
                sku=row.sku if row.sku == e.sku else e.sku,
                qty=e.qty,
                fingerprint=row.fingerprint if row.fingerprint == e.fingerprint else e.fingerprint,
                at=e.at,
            )
    return entries


class DoneRows:
    """The done 入出庫 rows of one read by identity, found from the tab's end when asked.

    A ledger row grows by the rows the last commit marked, the newest done rows: they
    are found a few hundred rows from the end. The walk goes on from where it stopped
    and remembers what it passed, so one read looks at each row at most once however
    many ledger rows it parses (a restart parses them all). The last done row carrying
    an identity is the one found (a copy below its row, were there one).
    """

    def __init__(self, rows: Sequence[Movement] = ()) -> None:
        self._rows = rows
        self._next = len(rows) - 1
        self._seen: dict[str, Movement] = {}

    def find(self, ident: str) -> Movement | None:
        """The last done row carrying ``ident``; None when no row on the tab does."""
        hit = self._seen.get(ident)
        while hit is None and self._next >= 0:
            row = self._rows[self._next]
            self._next -= 1
            if row.done and row.ident and row.ident not in self._seen:
                self._seen[row.ident] = row
                if row.ident == ident:
                    hit = row
        return hit


def next_ledger(
    ledger: Sequence[Movement],
    movements: Sequence[Movement] | None,
    marks: Mapping[str, str],
    now: datetime,
) -> str:
    """The ledger after a commit writing ``marks`` (row key → 反映 text), as JSON.

    ``movements`` are the 入出庫 rows read (None when the tab was not read: the
    ledger is then kept whole). The whole ledger in one value under :data:`LEDGER_KEY`:
    superseded by :func:`next_ledger_rows`, which a commit can write row by row.
    """
    entries = {m.key: m for m in ledger}
    if movements is not None:
        by_key = {m.key: m for m in movements}
        for key, text in marks.items():
            ident = ident_of(text)
            mv = by_key.get(key)
            if ident and mv is not None and ident not in entries:
                at = text.split("#")[0].removeprefix("済").strip()
                entries[ident] = replace(mv, key=ident, at=at)
        entries = _kept(entries, movements, marks, now)
    payload = {k: [m.sku, m.qty, m.fingerprint, m.at] for k, m in sorted(entries.items())}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _kept(
    entries: Mapping[str, Movement],
    movements: Sequence[Movement],
    marks: Mapping[str, str],
    now: datetime,
) -> dict[str, Movement]:
    on_tab = {m.ident for m in movements if m.ident} | {ident_of(t) for t in marks.values()}
    contents = {m.fingerprint for m in movements}
    horizon = now - timedelta(days=KEEP_DAYS)
    kept: dict[str, Movement] = {}
    for ident, entry in entries.items():
        when = parse_jst(entry.at)
        recent = when is None or when >= horizon
        if ident in on_tab or entry.fingerprint in contents or recent:
            kept[ident] = entry
    return kept


# --------------------------------------------------------------------------- rows


def chunk_key(n: int) -> str:
    """The _state key of ledger row ``n`` (``movements:0007``)."""
    return f"{CHUNK_PREFIX}{n:04d}"


def is_ledger_key(key: str) -> bool:
    """Whether a _state key holds (part of) the ledger, in either form."""
    return chunk_base(key) == LEDGER_KEY or _CHUNK_KEY.match(key) is not None


def with_ledger(state: Mapping[str, str], rows: Mapping[str, str]) -> dict[str, str]:
    """_state rows ``state`` with the ledger's rows, in either form, replaced by ``rows``."""
    return {k: v for k, v in state.items() if not is_ledger_key(k)} | dict(rows)


def expiry_horizon(now: datetime) -> datetime:
    """Entries applied before this may go: JST midnight :data:`KEEP_DAYS` days back.

    At most ``now - KEEP_DAYS`` days, so an entry is kept at least KEEP_DAYS days; it
    moves once a day, so expiry comes in one batch a day instead of a few entries at
    the ledger's start every commit (each of which would rewrite a row).
    """
    day = now.astimezone(JST).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=KEEP_DAYS)


@dataclass(frozen=True)
class _Chunk:
    """One ledger row as read: its text, its entries and when each was applied."""

    text: str
    entries: tuple[Movement, ...]
    whens: tuple[datetime | None, ...]
    readable: bool
    """Its text is a JSON object (new entries may be added to it)."""
    oldest: datetime | None
    """When its oldest entry was applied (None: no entry is dated)."""
    newest: tuple[int, str, int, str]
    """Its newest identity, as :func:`_order` sorts them."""
    idents: frozenset[str]
    whole: bool = False
    """Every key of its JSON object made an entry (:func:`_grown` builds on such rows)."""


def _parse_chunk(text: str, rows: DoneRows | None = None) -> _Chunk:
    entries, keys = _read_entries(text, rows)
    readable = text.startswith("{") and text.endswith("}") and (bool(entries) or text == "{}")
    whens = _whens(entries)
    return _Chunk(
        text,
        entries,
        whens,
        readable,
        oldest=min((w for w in whens if w is not None), default=None),
        newest=max((_order(m.key) for m in entries), default=(-1, "", 0, "")),
        idents=frozenset(m.key for m in entries),
        whole=len(entries) == keys,
    )


def _grown(base: _Chunk, text: str, rows: DoneRows | None = None) -> _Chunk | None:
    """``text`` read as ``base`` with entries added at its end; None when it is not that.

    A commit adds the new identities to the end of the row holding the newest one, so
    each cycle that row's text is the last one's with a few entries more: only those
    are parsed (the row holds up to a cell's worth, hundreds of entries), and the
    entries read before stay the same objects. ``text`` must be ``base``'s object with
    more members after a comma, each making an entry under a key ``base`` does not
    have; anything else (a duplicate key, an entry that does not read) is parsed whole.
    """
    end = len(base.text) - 1  # base's closing brace
    if not (base.readable and base.whole and base.entries) or len(text) <= end + 1:
        return None
    if text[end] != "," or not text.startswith(base.text[:end]):
        return None
    added = _parse_chunk("{" + text[end + 1 :], rows)
    if not (added.readable and added.whole and added.entries) or added.idents & base.idents:
        return None
    whens = [w for w in (base.oldest, added.oldest) if w is not None]
    return _Chunk(
        text,
        base.entries + added.entries,
        base.whens + added.whens,
        readable=True,
        oldest=min(whens, default=None),
        newest=max(base.newest, added.newest),
        idents=base.idents | added.idents,
        whole=True,
    )


def _whens(entries: Sequence[Movement]) -> tuple[datetime | None, ...]:
    """When each entry was applied: one ``datetime`` per distinct ``at``.

    A commit applies its rows at one time, so a row of the ledger holds runs of entries
    with the same ``at`` (one string for them all, :func:`_read_entries`): they share
    one ``datetime`` too. The ledger keeps 60 days of entries, ~200 a cycle at 100k
    products, and a ``datetime`` is 48 bytes.
    """
    seen: dict[str, datetime | None] = {}
    out: list[datetime | None] = []
    for m in entries:
        if m.at not in seen:
            seen[m.at] = _when(m.at)
        out.append(seen[m.at])
    return tuple(out)


def _when(at: str) -> datetime | None:
    """``at`` as parse_jst reads it, the bot's own ``YYYY-MM-DD HH:MM:SS`` quickly."""
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        return parse_jst(at)
    return when if when.tzinfo is not None else when.replace(tzinfo=JST)


class _ChunkCache:
    """The ledger rows of the last read, parsed, by text.

    An unchanged row is not parsed again, and its entries stay the very same objects
    cycle after cycle (so the engine can tell them unchanged by identity); of a row
    that only grew, only the added entries are parsed (:func:`_grown`). Only the
    rows of the last read are kept: memory stays that of one ledger.
    """

    def __init__(self) -> None:
        self._last: dict[str, _Chunk] = {}

    def get(self, text: str, rows: DoneRows | None = None) -> _Chunk:
        """``text`` parsed; entries parsed anew share their done rows' strings (``rows``)."""
        hit = self._last.get(text)
        if hit is not None:
            return hit
        for base in self._last.values():  # the row new entries went to, as last read
            grown = _grown(base, text, rows)
            if grown is not None:
                return grown
        return _parse_chunk(text, rows)

    def keep(self, chunks: Iterable[_Chunk]) -> None:
        self._last = {c.text: c for c in chunks}


_CACHE = _ChunkCache()


def _chunk_keys(state: Mapping[str, str]) -> list[tuple[int, str]]:
    """(row number, key) of the ledger rows in ``state``, by number."""
    found = ((_CHUNK_KEY.match(k), k) for k in state)
    return sorted((int(m.group(1)), k) for m, k in found if m is not None)


def read_ledger(state: Mapping[str, str], rows: Sequence[Movement] = ()) -> tuple[Movement, ...]:
    """The ledger from _state rows as read (``#n`` rows not joined), in either form.

    ``rows``: the 入出庫 rows the same read parsed; entries parsed anew hold their done
    rows' strings (:func:`_shared`: the same texts, kept once).
    """
    texts = [ledger_text(state)] if LEDGER_KEY in state else []
    texts += [state[key] for _, key in _chunk_keys(state)]
    done = DoneRows(rows)
    chunks = [_CACHE.get(text, done) for text in texts]
    if chunks:  # a parse without _state (a commit's read-back) leaves the cache be
        _CACHE.keep(chunks)
    return tuple(chain.from_iterable(chunk.entries for chunk in chunks))


def next_ledger_rows(
    state: Mapping[str, str],
    movements: Sequence[Movement] | None,
    marks: Mapping[str, str],
    now: datetime,
) -> dict[str, str]:
    """The ledger's _state rows after a commit writing ``marks`` (row key → 反映 text).

    ``state`` is _state as read (key → value, ``#n`` rows not joined: ``read.state``);
    ``movements`` the 入出庫 rows read (None when the tab was not read: no entry is
    added or dropped). Rows whose entries did not change keep their text as read. A
    ledger in the old one-value form comes back as rows (dropping the old rows is
    :func:`with_ledger`'s part).
    """
    chunks = {n: _CACHE.get(state[key]) for n, key in _chunk_keys(state)}
    loose = list(_CACHE.get(ledger_text(state)).entries) if LEDGER_KEY in state else []
    texts = {n: chunk.text for n, chunk in chunks.items()}
    if movements is not None:
        expiry = _Expiry(movements, marks, now)
        for n, kept in expiry.sweep(chunks).items():
            if kept:
                texts[n] = _text(kept)
            else:
                del texts[n]
        loose = [m for m in loose if not expiry.expired(m, _when(m.at))]
        known = [chunk.idents for chunk in chunks.values()] + [{m.key for m in loose}]
        loose += _applied(movements, marks, known)
    _append(texts, chunks, sorted(loose, key=lambda m: _order(m.key)))
    return {chunk_key(n): text for n, text in sorted(texts.items())}


def _order(ident: str) -> tuple[int, str, int, str]:
    """Identities in the order they were given (``M20261123-10000`` after ``-9999``)."""
    m = _IDENT_ORDER.fullmatch(ident)
    return (1, m.group(1), int(m.group(2)), ident) if m else (0, "", 0, ident)


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, its encoder built
once: a commit at 100k writes hundreds of ledger entries, and ``json.dumps`` with
arguments builds a new encoder for each value (a twentieth of the commit's time)."""


def _entry_text(m: Movement) -> str:
    """One ledger entry as ``"key":[sku,qty,fingerprint,at]``."""
    return _COMPACT(m.key) + ":" + _COMPACT([m.sku, m.qty, m.fingerprint, m.at])


def _text(entries: Iterable[Movement]) -> str:
    return "{" + ",".join(_entry_text(m) for m in entries) + "}"


def _applied(
    movements: Sequence[Movement], marks: Mapping[str, str], known: Sequence[AbstractSet[str]]
) -> list[Movement]:
    """Entries for the identities ``marks`` give that the ledger (``known``) lacks yet."""
    wanted: dict[str, tuple[str, str]] = {}
    taken: set[str] = set()
    for key, text in marks.items():
        ident = ident_of(text)
        if ident and ident not in taken and not any(ident in ids for ids in known):
            taken.add(ident)
            wanted[key] = (ident, text.split("#")[0].removeprefix("済").strip())
    out: list[Movement] = []
    for mv in reversed(movements):  # pending rows are found near the end
        if not wanted:
            break
        found = wanted.pop(mv.key, None)
        if found is not None:
            ident, at = found
            out.append(
                Movement(key=ident, sku=mv.sku, qty=mv.qty, fingerprint=mv.fingerprint, at=at)
            )
    return out


def _append(texts: dict[int, str], chunks: Mapping[int, _Chunk], entries: list[Movement]) -> None:
    """Add ``entries`` to the row holding the newest identity, then to free rows."""
    if not entries:
        return
    n = _open_row(texts, chunks)
    # The row's text without its closing brace; entries are added after it.
    parts = [texts[n][:-1]] if texts.get(n, "{}") != "{}" else []
    size = len(texts[n]) if parts else 1
    for mv in entries:
        entry = _entry_text(mv)
        if parts and size + len(entry) + 1 > CELL_CHARS:
            texts[n] = "".join(parts) + "}"
            n, parts, size = _free(texts), [], 1
        parts.append(("," if parts else "{") + entry)
        size += len(entry) + 1
    texts[n] = "".join(parts) + "}"


def _open_row(texts: Mapping[int, str], chunks: Mapping[int, _Chunk]) -> int:
    """The readable row holding the newest identity; a free row when there is none."""
    rows = [n for n in texts if n in chunks and chunks[n].readable]
    if not rows:
        return _free(texts)
    return max(rows, key=lambda n: (chunks[n].newest, n))


def _free(texts: Mapping[int, Any]) -> int:
    return next(i for i in count(1) if i not in texts)


class _Expiry:
    """Which ledger entries may go at ``now`` (see :func:`expiry_horizon`)."""

    def __init__(
        self, movements: Sequence[Movement], marks: Mapping[str, str], now: datetime
    ) -> None:
        self.horizon = expiry_horizon(now)
        self._movements = movements
        self._marks = marks
        self._on_tab: set[str] | None = None
        self._contents: set[str] = set()

    def expired(self, entry: Movement, when: datetime | None) -> bool:
        """Applied before the horizon, and neither its identity nor its content on the tab."""
        if when is None or when >= self.horizon:
            return False
        if self._on_tab is None:  # built only when an old entry is met
            marks = (ident_of(t) for t in self._marks.values())
            self._on_tab = {m.ident for m in self._movements if m.ident} | set(marks)
            self._contents = {m.fingerprint for m in self._movements}
        return entry.key not in self._on_tab and entry.fingerprint not in self._contents

    def sweep(self, chunks: Mapping[int, _Chunk]) -> dict[int, list[Movement]]:
        """Rows losing entries → the entries they keep ([]: the row is cleared)."""
        edits: dict[int, list[Movement]] = {}
        partial = 0
        for n, chunk in sorted(chunks.items()):
            oldest = chunk.oldest
            if oldest is None or oldest >= self.horizon:
                continue
            kept = [
                m for m, w in zip(chunk.entries, chunk.whens, strict=True) if not self.expired(m, w)
            ]
            if len(kept) == len(chunk.entries) or (kept and partial >= SWEEP_CHUNKS):
                continue
            partial += bool(kept)
            edits[n] = kept
        return edits
