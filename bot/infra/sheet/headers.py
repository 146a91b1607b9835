"""Where the template's columns sit in a tab's header row (found by text, never position)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.infra.sheet.cells import cell_text, column_letter, header_key, is_blank
from bot.infra.sheet.spec import ColumnSpec, TabSpec


@dataclass(frozen=True)
class HeaderMap:
    """Where each template column sits in one tab's header row."""

    tab: TabSpec
    columns: Mapping[str, int]
    """Column key → 0-based index, for template columns that were found."""
    missing: list[str]
    """Keys of template columns not found (required or not)."""
    missing_required: list[str]
    """Japanese headers of required columns not found: the tab stops syncing."""
    duplicates: list[str]
    """Japanese headers found in more than one column (the first one is used)."""
    width: int
    """Number of cells in the header row (trailing blanks trimmed)."""
    inverted: frozenset[str] = frozenset()
    """Keys found under an older header of the opposite meaning (``inverted_aliases``)."""

    def col(self, key: str) -> int | None:
        """0-based index of column ``key``, or None if the header is missing."""
        return self.columns.get(key)

    def letter(self, key: str) -> str:
        """A1 letter of column ``key``; KeyError if the header is missing."""
        idx = self.columns.get(key)
        if idx is None:
            raise KeyError(f"{self.tab.title}: column {key!r} not found")
        return column_letter(idx)

    @property
    def ok(self) -> bool:
        """No required header is missing or duplicated."""
        return not self.missing_required and not self.required_duplicates

    @property
    def required_duplicates(self) -> list[str]:
        """Duplicated headers of required columns (ambiguous: the tab stops syncing)."""
        required = {c.header for c in self.tab.columns if c.required}
        return [h for h in self.duplicates if h in required]


def header_map(
    tab: TabSpec, header_row: Sequence[Any], *, malls: Collection[str] | None = None
) -> HeaderMap:
    """Find the template's columns in ``header_row`` by header text (NFKC, spaces ignored).

    Staff's own columns are ignored. With ``malls`` given, a mall code column is
    required only when its mall is enabled.

    A header row found before (the same cells, each of the same type, for the same tab
    object and malls) gives the map found then: every parse maps each tab's header, a
    few dozen cells normalised each, and they almost never change. The map is never
    changed once made.
    """
    try:
        key = (id(tab), tuple(zip(map(type, header_row), header_row, strict=True)), _malls(malls))
        hash(key)
    except TypeError:  # a cell that is not a value a read gives: found afresh
        return _header_map(tab, header_row, malls)
    known = _KNOWN.get(key)
    if known is not None and known.tab is tab:
        return known
    if len(_KNOWN) >= _KNOWN_MAX:
        _KNOWN.clear()
    found = _KNOWN[key] = _header_map(tab, header_row, malls)
    return found


_KNOWN: dict[tuple[int, tuple[tuple[type, Any], ...], frozenset[str] | None], HeaderMap] = {}
"""Header maps by (tab object, typed header cells, malls); the tab is checked on a hit."""
_KNOWN_MAX = 256
"""Maps kept before starting over (a sheet has a dozen tabs)."""


def _malls(malls: Collection[str] | None) -> frozenset[str] | None:
    return None if malls is None else frozenset(malls)


def _header_map(
    tab: TabSpec, header_row: Sequence[Any], malls: Collection[str] | None
) -> HeaderMap:
    """:func:`header_map` found afresh."""
    by_text: dict[str, ColumnSpec] = {}
    legacy: set[str] = set()
    for col in tab.columns:
        for text in (col.header, *col.aliases):
            by_text[header_key(text)] = col
        for text in col.inverted_aliases:
            by_text[header_key(text)] = col
            legacy.add(header_key(text))
    found: dict[str, int] = {}
    dupes: list[str] = []
    inverted: set[str] = set()
    for idx, raw in enumerate(header_row):
        text = header_key(cell_text(raw)) if not is_blank(raw) else ""
        spec = by_text.get(text) if text else None
        if spec is None:
            continue
        if spec.key in found:
            if spec.header not in dupes:
                dupes.append(spec.header)
            continue
        found[spec.key] = idx
        if text in legacy:
            inverted.add(spec.key)
    width = len(header_row)
    while width and is_blank(header_row[width - 1]):
        width -= 1
    missing = [c.key for c in tab.columns if c.key not in found]
    missing_required = [
        c.header
        for c in tab.columns
        if c.key not in found
        and c.required
        and (c.mall is None or malls is None or c.mall in malls)
    ]
    return HeaderMap(
        tab, found, missing, missing_required, dupes, width, inverted=frozenset(inverted)
    )


def default_header_map(tab: TabSpec) -> HeaderMap:
    """The header map of a tab laid out exactly as the template defines it."""
    return header_map(tab, [col.header for col in tab.columns])
