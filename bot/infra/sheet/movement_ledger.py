"""The ledger of applied 入出庫 rows: identities the bot wrote in 反映, kept in ``_state``.

A 入出庫 row is applied once and marked ``済 <time> #M20261123-0007``. The mark alone
cannot protect it: staff may clear it, copy the row, or edit it. So every identity is
also kept in ``_state`` (key ``movements``: identity → 商品コード, 数量, fingerprint of the
row's cells, time applied), written in the same atomic commit as the mark and the
stock, and read back with every cycle's one batchGet — a restart knows it too. The
engine (``stock.apply_movements``) decides with it; this module reads and writes it.

Entries are kept while their identity or their content is still on the tab, and at
least :data:`KEEP_DAYS` days; when 入出庫 was not read (its tab is missing) the ledger is
written back as it was read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.core.domain import Movement
from bot.infra.sheet.cells import parse_jst

LEDGER_KEY = "movements"
"""The _state key holding the ledger (JSON, split over ``movements#n`` rows when long)."""

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
    if not text:
        return ()
    try:
        raw = json.loads(text)
    except ValueError:
        return ()
    out: list[Movement] = []
    if not isinstance(raw, dict):
        return ()
    for ident, entry in raw.items():
        try:
            sku, qty, fingerprint, at = entry
            out.append(
                Movement(
                    key=str(ident),
                    sku=str(sku),
                    qty=int(qty),
                    fingerprint=str(fingerprint),
                    at=str(at),
                )
            )
        except (TypeError, ValueError):
            continue
    return tuple(out)


def next_ledger(
    ledger: Sequence[Movement],
    movements: Sequence[Movement] | None,
    marks: Mapping[str, str],
    now: datetime,
) -> str:
    """The ledger after a commit writing ``marks`` (row key → 反映 text), as JSON.

    ``movements`` are the 入出庫 rows read (None when the tab was not read: the
    ledger is then kept whole).
    """
    entries = {m.key: m for m in ledger}
    if movements is not None:
        by_key = {m.key: m for m in movements}
        for key, text in marks.items():
            ident = ident_of(text)
            mv = by_key.get(key)
            if ident and mv is not None and ident not in entries:
                at = text.split("#")[0].removeprefix("済").strip()
                entries[ident] = mv.model_copy(update={"key": ident, "at": at})
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
