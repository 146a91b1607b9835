"""The spreadsheet's own first tab (シート1 / Sheet1): removed by init-sheet when empty.

A spreadsheet made in Google Sheets starts with one empty tab, named after the account's
language. Left in place it stays the first tab, so the sheet opens on an empty grid
instead of 商品マスタ. ``init-sheet`` deletes it in its one batchUpdate — after the
template's tabs are added, so the book is never without a tab — but only when it holds
no value at all: a tab staff typed into is theirs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.infra.sheet.cells import quote_title

DEFAULT_TITLES = ("シート1", "Sheet1")
"""The first tab's name in a Japanese and an English Google account."""


def default_tab(metadata: Mapping[str, Any], taken: Sequence[str]) -> tuple[int, str] | None:
    """(sheetId, title) of the default first tab, unless the template uses that title."""
    for sheet in metadata.get("sheets") or []:
        props = sheet.get("properties", {})
        title = str(props.get("title", ""))
        if title in DEFAULT_TITLES and title not in taken:
            return int(props.get("sheetId", 0)), title
    return None


def default_tab_range(found: tuple[int, str] | None) -> list[str]:
    """The range reading the whole default tab (none when there is no such tab)."""
    return [quote_title(found[1])] if found is not None else []


def removal(found: tuple[int, str] | None, values: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """``deleteSheet`` for the default tab when no cell of it holds a value."""
    if found is None or any(cell not in (None, "") for row in values for cell in row):
        return []
    return [{"deleteSheet": {"sheetId": found[0]}}]


__all__ = ["DEFAULT_TITLES", "default_tab", "default_tab_range", "removal"]
