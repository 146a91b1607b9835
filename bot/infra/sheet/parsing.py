"""One parse of the sheet: its result (:class:`SheetRead`) and the state a parse carries.

The per-tab parsers (``parse_products``, ``parse_tabs``) take a :class:`ParseContext`:
the template, the enabled malls, the problems and grid positions collected so far.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import TYPE_CHECKING, Any

from bot.core.domain import RowProblem, Snapshot
from bot.infra.sheet.cells import a1
from bot.infra.sheet.headers import HeaderMap, header_map
from bot.infra.sheet.reader import Reader
from bot.infra.sheet.spec import TabSpec, Template

if TYPE_CHECKING:
    from bot.infra.sheet.parse_tabs import MovementsPrefix

TabRows = tuple[TabSpec, HeaderMap, list[list[Any]]]

_TOKENS = count(1)


class RowStatuses(list[str]):
    """``SheetRead.row_statuses`` as a parse hands it out, saying what changed since.

    ``token`` names this list among every list handed out (no two share one); ``since``
    pairs the tokens of earlier lists of the same parser with the 商品コード whose rows
    may read another 状態 in this list than in that one. Any other row of a 商品コード
    reads the same in both (``product_rows`` then the same map in both reads). So a
    commit need not compare every product's 状態 (:func:`bot.infra.sheet.commit.placed_cells`).
    Never changed once handed out.
    """

    __slots__ = ("since", "token")

    def __init__(self, texts: Iterable[str] = ()) -> None:
        super().__init__(texts)
        self.token = next(_TOKENS)
        self.since: tuple[tuple[int, frozenset[str]], ...] = ()


"""A tab's spec, where its columns are, and its rows (header included)."""


@dataclass
class SheetRead:
    """One parsed read of the sheet: the snapshot and where things sit in the grid.

    Grid indexes are 0-based (the header is row 0), as the API's GridRange wants;
    ``RowProblem.row`` and ``Product.row`` are 1-based sheet rows for messages.
    """

    snapshot: Snapshot
    headers: dict[str, HeaderMap] = field(default_factory=dict)
    """Tab key → header positions, for every tab that was read."""
    product_rows: dict[str, int] = field(default_factory=dict)
    """商品コード → grid row, for every 商品コード that appears exactly once."""
    row_statuses: Sequence[str] = ()
    """Current 状態 text by 商品マスタ grid row ("" when blank; see :meth:`status_at`)."""
    movement_rows: MutableMapping[str, int] = field(default_factory=dict)
    """Movement key → grid row, for 入出庫 rows not yet marked 済 (valid or not) and 済
    rows with the bot's identity (the settled top's entries shared with the last read's:
    :class:`~bot.infra.sheet.layers.OnLayers`)."""
    movement_marks: dict[str, str] = field(default_factory=dict)
    """Movement key → current 反映 text of pending rows (e.g. an error already shown)."""
    movement_problems: dict[str, RowProblem] = field(default_factory=dict)
    """Movement key → why that 入出庫 row cannot be applied (for its 反映 cell)."""
    listing_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    """(mall, code) → grid row in 出品状況."""
    listing_reasons: dict[tuple[str, str], str] = field(default_factory=dict)
    """出品状況 理由 as the sheet shows it (so only a change is written)."""
    state: dict[str, str] = field(default_factory=dict)
    """_state キー → 値."""
    state_rows: dict[str, int] = field(default_factory=dict)
    """_state キー → grid row (to update cursors in place)."""
    duplicate_rows: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """商品コード → every grid row holding it, for the 商品コード on several rows (the
    rest are in ``product_rows``; see :meth:`rows_of`)."""
    mark_by_row: MutableMapping[int, str] = field(default_factory=dict)
    """入出庫 grid row → current 反映 text (pending rows and 済 rows with identity;
    layered as :attr:`movement_rows`)."""
    raw: dict[str, list[list[Any]]] = field(default_factory=dict)
    """The values this read was parsed from, by tab key (for a partial re-read)."""
    movements_prefix: MovementsPrefix | None = None
    """The settled top of 入出庫 as parsed, for the next parse to skip (None: not read)."""

    def rows_of(self, sku: str) -> tuple[int, ...]:
        """Every 商品マスタ grid row holding ``sku`` (for writing its 状態)."""
        row = self.product_rows.get(sku)
        return (row,) if row is not None else self.duplicate_rows.get(sku, ())

    def first_rows(self) -> Iterator[tuple[str, int]]:
        """(商品コード, its first grid row) for every 商品コード of 商品マスタ."""
        yield from self.product_rows.items()
        for sku, rows in self.duplicate_rows.items():
            yield sku, rows[0]

    def status_at(self, row: int) -> str:
        """Current 状態 text at a 商品マスタ grid row ("" when blank)."""
        statuses = self.row_statuses
        return statuses[row] if 0 <= row < len(statuses) else ""

    def movement_mark_at(self, row: int) -> str:
        """Current 反映 text at a pending 入出庫 grid row ("" when blank)."""
        return self.mark_by_row.get(row, "")


class ParseContext:
    """One parse_sheet call; collects problems and positions as it goes."""

    def __init__(
        self,
        tpl: Template,
        values: Mapping[str, list[list[Any]]],
        malls: Sequence[str],
        canonical: Mapping[str, Callable[[str], str]] | None,
        bot_stock: Mapping[str, int] | None,
    ) -> None:
        self.tpl = tpl
        self.r = Reader(self.tpl)
        self.values = values
        self.malls = list(malls)
        self.canonical = canonical or {}
        self.bot_stock = bot_stock or {}
        self.asked_bot_stock: set[str] = set()
        """商品コード whose negative 在庫数 was read against the bot's own (an oversell)."""
        self.problems: list[RowProblem] = []
        self.broken: set[str] = set()
        self.invalid: set[str] = set()
        self.held_codes: dict[str, dict[str, str]] = {}
        # The grids as given, not copies (100,000 rows of 商品マスタ, a day of 入出庫):
        # a read's grids are never changed once given (the grid cache copies to change)
        raw = {k: v if type(v) is list else list(v or []) for k, v in values.items()}
        self.out = SheetRead(snapshot=Snapshot(), raw=raw)

    def cell_name(self, tab: TabSpec, row: int, col: int) -> str:
        """A1 for 商品マスタ (its 状態 shows it); ``<tab> A1`` elsewhere."""
        name = a1(row, col)
        if tab.key == "products":
            return name
        return self.tpl.message("cell_in_tab", tab=tab.title, cell=name)

    def cells_name(self, tab: TabSpec, rows: Sequence[int], col: int) -> str:
        """Several cells of one column, named as :meth:`cell_name` does."""
        names = ", ".join(a1(r, col) for r in rows)
        if tab.key == "products":
            return names
        return self.tpl.message("cell_in_tab", tab=tab.title, cell=names)

    def problem(
        self, tab: TabSpec, grid_row: int, message: str, sku: str = "", column: str = ""
    ) -> RowProblem:
        """A row problem at a 0-based grid row (shown 1-based)."""
        return RowProblem(tab=tab.key, row=grid_row + 1, message=message, sku=sku, column=column)

    def rows_of(self, key: str) -> TabRows | None:
        """The tab's header map and data rows, or None when it was not read or is broken."""
        tab = self.tpl.tab(key)
        if key not in self.values:
            if key == "products":
                self.broken.add(key)
                message = self.tpl.message("tab_missing", tab=tab.title)
                self.problems.append(RowProblem(tab=key, row=1, message=message))
            return None
        grid = self.values[key] or []
        hm = header_map(tab, grid[0] if grid else [], malls=self.malls)
        self.out.headers[key] = hm
        if not hm.ok:
            self.broken.add(key)
            self.problems.append(RowProblem(tab=key, row=1, message=self._header_problem(hm)))
            return None
        return tab, hm, grid

    def _header_problem(self, hm: HeaderMap) -> str:
        """Why a tab stops: required headers missing, or found in several columns."""
        if hm.missing_required:
            kind, headers = "header_missing", hm.missing_required
        else:
            kind, headers = "header_duplicate", hm.required_duplicates
        return self.tpl.message(
            kind, tab=hm.tab.title, headers="".join(f"『{h}』" for h in headers)
        )
