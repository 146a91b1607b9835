"""How a cycle reads 入出庫: below its settled top, the top itself only when it changed.

Staff add 入出庫 rows at the bottom and the bot marks them 済; the rows above the first
pending one (the settled top, :class:`~bot.infra.sheet.parse_tabs.MovementsPrefix`)
then stay as they are, and a busy shop's tab grows by thousands of them a day. So:

- every read takes 入出庫 from the top's last row down (:func:`movements_tail`);
  :meth:`MovementsPrefix.join` checks that row and that no row of the top turned up
  below it (rows inserted, deleted or sorted above it), else the tab is read whole
  at once (one request more);
- a read that takes 商品マスタ whole (the cadence of :mod:`bot.infra.sheet.hot`)
  checks the top too, on its header and the columns that decide what a row does
  (商品コード, 数量, 反映: ``MovementsPrefix.key_columns``); when they differ the next read
  takes the tab whole (this one goes on with the top as it was, as every cycle
  between checks does: no request more in the cycle). That finds what the boundary
  row cannot show: a 済 mark cleared, a row typed into a blank row of the top, a 済
  row's 商品コード or 数量 edited, rows deleted and inserted above it in equal number.
  日時, 区分 and メモ of a settled row change nothing the bot does; an edit to them
  is seen when the tab is next read whole.

(The commit's re-read and its answer take 入出庫 from the same row down:
:meth:`bot.infra.sheet.gateway.SheetGateway.reread`,
:func:`bot.infra.sheet.commit.narrow_movements`.)

A small sheet (read whole every cycle) reads a small 入出庫 whole too: cheaper than a
check. Cells compare as they read (:func:`bot.infra.sheet.values.same_row`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.infra.sheet.cells import column_letter
from bot.infra.sheet.parse_tabs import MovementsPrefix
from bot.infra.sheet.values import identical, same_row, value_at

Grid = list[list[Any]]


def movements_tail(prefix: MovementsPrefix | None, quoted_title: str) -> str | None:
    """入出庫 from its settled top's last row down; None without a top yet."""
    if prefix is None or not prefix.cells or not prefix.cells[0]:
        return None
    width = max(len(prefix.cells[0]), *(len(r) for r in prefix.cells[-1:]))
    return f"{quoted_title}!A{prefix.tail_row}:{column_letter(width - 1)}"


@dataclass(frozen=True)
class MovementsRead:
    """The ranges one read takes 入出庫 by, and the tab they give back."""

    prefix: MovementsPrefix | None
    """The settled top as last parsed (None: read the tab whole)."""
    title: str
    """The tab's quoted title."""
    check: bool = False
    """Whether the settled top is checked too (the reads that take 商品マスタ whole)."""

    @property
    def whole(self) -> bool:
        """Whether the tab is read whole (no settled top to read below)."""
        return movements_tail(self.prefix, self.title) is None

    def ranges(self) -> list[str]:
        """The A1 ranges to ask for, in the order :meth:`grid` takes their answers."""
        tail = movements_tail(self.prefix, self.title)
        if tail is None or self.prefix is None:
            return [self.title]
        if not self.check:
            return [tail]
        last = self.prefix.rows - 1  # the sheet row above the boundary row
        letters = [column_letter(c) for c in self.prefix.key_columns]
        columns = [f"{self.title}!{x}2:{x}{last}" for x in letters] if last >= 2 else []
        return [tail, f"{self.title}!1:1", *columns]

    def grid(self, got: Sequence[Sequence[Sequence[Any]]]) -> list[Sequence[Any]] | None:
        """入出庫 as a whole read gives it, from the first of :meth:`ranges`' answers.

        ``got[0]`` ROWS-major. None when the tab must be read whole now: the boundary row
        moved, or a row of the top turned up below it (:meth:`MovementsPrefix.join`).
        """
        if self.prefix is None or self.whole:
            return [list(row) for row in got[0]] if got else []
        return self.prefix.join(got[0])

    def stale(self, got: Sequence[Sequence[Any]]) -> bool:
        """Whether the check found the settled top changed.

        ``got``: :meth:`ranges`' answers after the first, as :func:`top_unchanged`
        takes them. The next read then takes the tab whole. Until then the top as it
        was is as safe as on any cycle that reads below it: nothing in it is applied,
        and a row that left it for below is caught by the join.
        """
        return self.check and not self.whole and not top_unchanged(self.prefix, got)


def column_of(values: Sequence[Sequence[Any]], rows_major: bool) -> list[Any]:
    """A one-column range's ``values`` as the list a COLUMNS-major read gives."""
    if not rows_major:
        return list(values[0]) if values else []
    return [row[0] if row else "" for row in values]


def top_unchanged(prefix: MovementsPrefix | None, got: Sequence[Sequence[Any]]) -> bool:
    """Whether the header row and key columns read now are the settled top's.

    ``got``: the header row (ROWS-major: a list of one row), then each of
    :attr:`MovementsPrefix.key_columns` from sheet row 2 to the row above the boundary
    (none when there is no such row), each as a COLUMNS-major read gives it
    (:func:`column_of`). Compared with the top's own columns
    (:attr:`MovementsPrefix.key_cells`) at C speed when they read as the API gave
    them both times; cell by cell as text otherwise.
    """
    if prefix is None:
        return False
    header = got[0][0] if got and got[0] else []
    if not same_row(header, prefix.cells[0]):
        return False
    top = prefix.rows - 2  # the rows between the header and the boundary row
    for kept, now in zip(_kept_columns(prefix), got[1:], strict=False):
        if not _same_column(now, kept):
            return False
    return len(got) - 1 == (len(prefix.key_columns) if top > 0 else 0)


def _kept_columns(prefix: MovementsPrefix) -> list[list[Any]]:
    """The top's key columns below the header, above the boundary row."""
    if prefix.key_cells:
        return [column.items() for column in prefix.key_cells]
    top = prefix.cells[1 : prefix.rows - 1]
    return [[value_at(row, col) for row in top] for col in prefix.key_columns]


def _same_column(now: Sequence[Any], kept: Sequence[Any]) -> bool:
    """A column read now and as kept: the same cells but for trailing blanks, or read alike."""
    n = len(now)
    if n <= len(kept) and identical(now, kept[:n]) and not any(map(_filled, kept[n:])):
        return True
    return same_row(now, kept)


def _filled(value: Any) -> bool:
    return value is not None and value != ""
