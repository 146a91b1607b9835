"""The cycle's snapshot read: the hot ranges and a window of the sweep, or the tabs whole.

:class:`SnapshotReader` makes the one ``values:batchGet`` of a cycle (ARCHITECTURE.md
§3): 商品マスタ's 商品コード and 在庫数 columns and a window of its rows laid over the
tab as last read (:mod:`bot.infra.sheet.hot`), 入出庫 below its settled top
(:mod:`bot.infra.sheet.movements_read`), 設定, _state and the header rows of the log tabs
and 出品状況; with the window that ends a sweep also セット構成 whole and a check of
入出庫's settled top. The tabs are read whole only without a base to lay the read over
(the first read, a small sheet, rows that moved). A second request follows only when
rows moved: 商品マスタ's (all tabs read whole) or 入出庫's above what was read (that tab
whole).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from bot.infra.sheet.formats import TextKeeper
from bot.infra.sheet.hot import SMALL_SHEET_CELLS, GridCache, Window, grid_cells, rows_of_columns
from bot.infra.sheet.known_span import KnownSpan, KnownTexts
from bot.infra.sheet.movements_read import MovementsRead, column_of
from bot.infra.sheet.parse_tabs import MovementsPrefix
from bot.infra.sheet.spec import Template
from bot.infra.sheet.tabs import (
    CYCLE_TABS,
    HEADER_TABS,
    HOT_TABS,
    MOVEMENTS,
    PRODUCTS,
    SETS,
    STATE,
)

log = logging.getLogger(__name__)

Values = dict[str, list[list[Any]]]
"""Tab key → rows (header first), ROWS-major, as a whole read gives them."""
ValueRange = dict[str, Any]


class ValueRanges(Protocol):
    """The gateway's ``values:batchGet`` (ranges, major dimension) → ValueRanges.

    ``keep``: a range whose values are not decoded again when their bytes are as last
    answered (:mod:`bot.infra.sheet.known_span`); ``texts``: long texts so.
    """

    def __call__(
        self,
        ranges: Sequence[str],
        major: str = ...,
        keep: KnownSpan | None = None,
        texts: KnownTexts | None = None,
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class CycleValues:
    """What one snapshot read got."""

    values: Values
    movements_whole: bool
    """入出庫 was read whole: parse it from the top (no settled top to skip)."""
    movements_stale: bool = False
    """Its settled top was found changed: the next read takes 入出庫 whole."""


@dataclass
class SnapshotReader:
    """What one snapshot read needs of the gateway."""

    value_ranges: ValueRanges
    whole: Callable[[str], str]
    """Tab key → its quoted title (the whole tab as an A1 range)."""
    cache: GridCache
    text: TextKeeper
    missing: Collection[str]
    """Staff tabs not on the sheet (not read)."""
    template: Template
    malls: Sequence[str]

    def read(self, prefix: MovementsPrefix | None) -> CycleValues:
        """The tabs of a cycle; ``prefix``: 入出庫's settled top as last parsed."""
        title = self.whole(MOVEMENTS)
        self.cache.start_cycle()
        got = None
        if not self.cache.full_due() and PRODUCTS not in self.missing:
            got = self._hot(prefix, title)
        if got is None:
            if self.cache.small and _small(prefix):
                prefix = None  # a small tab of a small sheet: read whole, as the rest
            got = self._full(MovementsRead(prefix, title, check=True))
        values, stale = got
        if MOVEMENTS in values or MOVEMENTS in self.missing:
            return CycleValues(values, MovementsRead(prefix, title).whole, stale)
        log.info("入出庫 rows moved above what was read; reading it whole")
        values[MOVEMENTS] = self.value_ranges([title], "ROWS")[0].get("values", [])
        return CycleValues(values, True)

    def _full(self, moves: MovementsRead) -> tuple[Values, bool]:
        """The staff tabs whole (入出庫 below its settled top, with a check of the top).

        Also whether that check found the top changed.
        """
        keys = [k for k in CYCLE_TABS if k not in self.missing]
        asked = _asked(keys, moves, self.whole)
        ranges = [r for k in keys for r in asked[k]]
        ranges += [f"{self.whole(k)}!1:1" for k in HEADER_TABS]
        got = iter(self.value_ranges(ranges, "ROWS"))
        out: Values = {}
        stale = self._tabs(asked, got, moves, out, rows_major=True)
        self.cache.keep_full(out, self.template, self.malls)
        out.update(self.cache.grids)  # a row that reads as before is the cache's (and memo's) own
        return out, stale

    def _hot(self, prefix: MovementsPrefix | None, title: str) -> tuple[Values, bool] | None:
        """The hot ranges and the sweep's window, COLUMNS-major; None: read whole.

        Also whether the check of 入出庫's settled top (with the window that ends a
        sweep) found it changed. 入出庫 is left out when it must be read whole.
        """
        hot = self.cache.hot_ranges(self.whole(PRODUCTS))
        window = self.cache.window()
        if hot is None or window is None:
            return None
        moves = MovementsRead(prefix, title, check=window.closes)
        with_sets = window.closes and SETS not in self.missing
        keys = [k for k in HOT_TABS if k not in self.missing]
        asked = _asked(keys, moves, self.whole)
        ranges = [
            *hot,
            window.a1(self.whole(PRODUCTS), self.cache.width),
            *([self.whole(SETS)] if with_sets else []),
            *(r for k in keys for r in asked[k]),
            *(f"{self.whole(k)}!1:1" for k in HEADER_TABS),
        ]
        texts = self.cache.state_texts  # _state's ledger rows: megabytes by the evening
        texts.index = ranges.index(self.whole(STATE)) if STATE in keys else -1
        got = iter(self.value_ranges(ranges, "COLUMNS", keep=self.cache.sku_span, texts=texts))
        head, skus, stocks, rows = (next(got) for _ in range(4))
        sets = next(got) if with_sets else None
        out = self._sweep(window, head, skus, stocks, rows, sets)
        if out is None:
            log.info("商品マスタ rows moved; reading it whole")
            return None
        return out, self._tabs(asked, got, moves, out, rows_major=False)

    def _tabs(
        self,
        asked: Mapping[str, Sequence[str]],
        got: Iterator[ValueRange],
        moves: MovementsRead,
        out: Values,
        *,
        rows_major: bool,
    ) -> bool:
        """The answers for ``asked`` and the header rows into ``out``, as ROWS-major grids.

        入出庫 is joined below its settled top (left out when it must be read whole).
        Returns whether the check of that top, if asked, found it changed.
        """
        stale = False
        for key, ranges in asked.items():
            part = [next(got) for _ in ranges]
            self.text.seen(key, str(part[0].get("range", "")))
            first = _grid(part[0], rows_major)
            grid = moves.grid([first]) if key == MOVEMENTS else first
            if grid is not None:  # (入出庫 is read whole when None)
                out[key] = cast(list[list[Any]], grid)
                stale = stale or (key == MOVEMENTS and moves.stale(_checked(part, rows_major)))
        out.update((k, _grid(vr, rows_major)) for k, vr in zip(HEADER_TABS, got, strict=True))
        return stale

    def _sweep(
        self,
        window: Window,
        head: ValueRange,
        skus: ValueRange,
        stocks: ValueRange,
        rows: ValueRange,
        sets: ValueRange | None,
    ) -> Values | None:
        """商品マスタ (and セット構成) with the hot columns and the window laid over them.

        Each as read COLUMNS-major (``sets`` None: not read this cycle). None when rows
        or columns moved.
        """
        header = rows_of_columns(head.get("values", []))
        merged = self.cache.merge_window(
            header[0] if header else [],
            (skus.get("values") or [[]])[0],  # (the cache's own list when unchanged)
            (stocks.get("values") or [[]])[0],  # (the answer's: nobody else holds it)
            window,
            rows.get("values", []),
        )
        if merged is None:
            return None
        out: Values = {PRODUCTS: merged}
        self.text.seen(PRODUCTS, str(skus.get("range", "")))
        if sets is not None:
            out[SETS] = self.cache.take_sets(rows_of_columns(sets.get("values", [])))
            self.text.seen(SETS, str(sets.get("range", "")))
        elif SETS in self.cache.grids and SETS not in self.missing:
            out[SETS] = self.cache.grids[SETS]
        return out


def _asked(
    keys: Sequence[str], moves: MovementsRead, whole: Callable[[str], str]
) -> dict[str, list[str]]:
    """Each tab's ranges: 入出庫's as ``moves`` asks, any other tab whole."""
    return {k: moves.ranges() if k == MOVEMENTS else [whole(k)] for k in keys}


def _grid(value_range: ValueRange, rows_major: bool) -> list[list[Any]]:
    """A ValueRange's values as the ROWS-major grid a whole read gives."""
    values = value_range.get("values", [])
    return cast(list[list[Any]], values) if rows_major else rows_of_columns(values)


def _checked(part: Sequence[ValueRange], rows_major: bool) -> list[Sequence[Any]]:
    """The answers of 入出庫's check as :meth:`MovementsRead.stale` takes them.

    The header row as a grid, the key columns as lists (not a row per cell).
    """
    if len(part) < 2:
        return []
    columns = [column_of(vr.get("values", []), rows_major) for vr in part[2:]]
    return [_grid(part[1], rows_major), *columns]


def _small(prefix: MovementsPrefix | None) -> bool:
    """A settled top of at most SMALL_SHEET_CELLS cells (read whole: cheaper than a check)."""
    return prefix is not None and grid_cells([prefix.cells]) <= SMALL_SHEET_CELLS
