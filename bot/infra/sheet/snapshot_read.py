"""The cycle's snapshot read: the tabs whole on the cadence, or the hot ranges.

:class:`SnapshotReader` makes the one ``values:batchGet`` of a cycle (ARCHITECTURE.md
§3): most cycles 商品マスタ's 商品コード and 在庫数 columns laid over its last whole read
(:mod:`bot.infra.sheet.hot`), 入出庫 below its settled top
(:mod:`bot.infra.sheet.movements_read`), 設定, _state and the header rows of the log tabs
and 出品状況; on the cadence the staff tabs whole instead, and a check of 入出庫's settled
top. A second request follows only when rows moved: 商品マスタ's (all tabs read whole)
or 入出庫's above what was read (that tab whole).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from bot.infra.sheet.formats import TextKeeper
from bot.infra.sheet.hot import SMALL_SHEET_CELLS, GridCache, grid_cells
from bot.infra.sheet.movements_read import MovementsRead
from bot.infra.sheet.parse_tabs import MovementsPrefix
from bot.infra.sheet.spec import Template
from bot.infra.sheet.tabs import CYCLE_TABS, HEADER_TABS, HOT_TABS, MOVEMENTS, PRODUCTS, SETS

log = logging.getLogger(__name__)

Values = dict[str, list[list[Any]]]
"""Tab key → rows (header first), ROWS-major, as a whole read gives them."""
ValueRanges = Callable[[Sequence[str], str], list[dict[str, Any]]]
"""The gateway's ``values:batchGet`` (ranges, major dimension) → ValueRanges."""


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
        values = None
        if not self.cache.full_due() and PRODUCTS not in self.missing:
            values = self._hot(MovementsRead(prefix, title))
        stale = False
        if values is None:
            if self.cache.small and _small(prefix):
                prefix = None  # a small tab of a small sheet: read whole, as the rest
            values, stale = self._full(MovementsRead(prefix, title, check=True))
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
        asked = {k: moves.ranges() if k == MOVEMENTS else [self.whole(k)] for k in keys}
        ranges = [r for k in keys for r in asked[k]]
        ranges += [f"{self.whole(k)}!1:1" for k in HEADER_TABS]
        got = iter(self.value_ranges(ranges, "ROWS"))
        out: Values = {}
        stale = False
        for key in keys:
            part = [next(got) for _ in asked[key]]
            self.text.seen(key, str(part[0].get("range", "")))
            grids = [vr.get("values", []) for vr in part]
            grid = moves.grid(grids) if key == MOVEMENTS else grids[0]
            if grid is not None:  # (入出庫 is read whole when None)
                out[key] = cast(list[list[Any]], grid)
                stale = stale or (key == MOVEMENTS and moves.stale(grids))
        out.update(zip(HEADER_TABS, (vr.get("values", []) for vr in got), strict=True))
        self.cache.keep_full(out, self.template, self.malls)
        out.update(self.cache.grids)  # a row that reads as before is the cache's (and memo's) own
        return out, stale

    def _hot(self, moves: MovementsRead) -> Values | None:
        """商品マスタ's two columns and the small tabs, COLUMNS-major; None: read whole.

        入出庫 is left out when it must be read whole.
        """
        hot = self.cache.hot_ranges(self.whole(PRODUCTS))
        if hot is None:
            return None
        keys = [k for k in HOT_TABS if k not in self.missing]
        tabs = [moves.ranges()[0] if k == MOVEMENTS else self.whole(k) for k in keys]
        ranges = hot + tabs + [f"{self.whole(k)}!1:1" for k in HEADER_TABS]
        got = self.value_ranges(ranges, "COLUMNS")
        out = self.cache.lay_over(got, (*keys, *HEADER_TABS), keep_sets=SETS not in self.missing)
        if out is None:
            log.info("商品マスタ rows moved; reading it whole")
            return None
        if MOVEMENTS in out and (joined := moves.grid([out.pop(MOVEMENTS)])) is not None:
            out[MOVEMENTS] = cast(list[list[Any]], joined)
        for key, value_range in [(PRODUCTS, got[1]), *zip(keys, got[3:], strict=False)]:
            self.text.seen(key, str(value_range.get("range", "")))
        return out


def _small(prefix: MovementsPrefix | None) -> bool:
    """A settled top of at most SMALL_SHEET_CELLS cells (read whole: cheaper than a check)."""
    return prefix is not None and grid_cells([prefix.cells]) <= SMALL_SHEET_CELLS
