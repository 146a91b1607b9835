"""The sheet's layout and how its cells become domain objects (ARCHITECTURE.md §3).

``sheets_template/template.json`` is the single source of truth for tabs, Japanese
headers, formats and the Japanese text staff read (row-problem messages, setting
names, checkbox words). This module loads it into typed specs and turns the raw grid
of one ``values:batchGet`` (``valueRenderOption=FORMULA``) into a
:class:`bot.core.domain.Snapshot` plus the row positions the gateway needs to write back.

Columns are found by header text, never by position, so staff may reorder columns,
add their own and sort rows. Every cell is read after Unicode NFKC (全角 "１２" is 12).
A cell the bot cannot understand never changes stock: it becomes a
:class:`~bot.core.domain.RowProblem` naming the cell in A1 notation, and the row is left
out of ``Snapshot.products`` (its 商品コード goes to ``invalid_skus``).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.domain import (
    DisplayRule,
    MallSettings,
    Movement,
    Product,
    RowProblem,
    SetComponent,
    ShopSettings,
    Snapshot,
)
from bot.infra.clock import JST, format_jst

TEMPLATE_PACKAGE = "sheets_template"
TEMPLATE_FILE = "template.json"
STATE_SCHEMA_KEY = "schema_version"
"""The _state key that records which template version built the sheet."""

# --------------------------------------------------------------------------- specs


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


ColumnType = Literal["text", "int", "bool", "rule", "codes", "datetime", "choice"]
Owner = Literal["staff", "bot", "both"]


class Color(_Spec):
    """An RGB colour as the Sheets API takes it (0..1 floats)."""

    red: float = 0.0
    green: float = 0.0
    blue: float = 0.0


class ValidationSpec(_Spec):
    """Data validation applied to a column's data rows when the column is created."""

    kind: Literal["checkbox", "dropdown"]
    values: tuple[str, ...] = ()
    strict: bool = True


class ColumnSpec(_Spec):
    """One column the template defines."""

    key: str
    header: str
    """Japanese header text, exactly as staff see it."""
    type: ColumnType
    required: bool = False
    """A missing header stops the tab syncing (mall columns: only for enabled malls)."""
    owner: Owner
    mall: str | None = None
    text_format: bool = False
    """TEXT number format on the data rows, so ``00123`` keeps its zeros."""
    validation: ValidationSpec | None = None
    choices: tuple[str, ...] = ()
    width: int = 100
    note: str
    """Japanese note shown on the header cell."""
    aliases: tuple[str, ...] = ()
    """Older or alternative header texts still recognised."""


class ConditionalFormatSpec(_Spec):
    """A CUSTOM_FORMULA rule; ``{key}`` in the formula becomes ``$<letter>2``."""

    key: str
    column: str
    formula: str
    background: Color
    text_color: Color | None = None
    bold: bool = False
    note: str = ""


class RetentionSpec(_Spec):
    """How many rows a log tab keeps (oldest trimmed first)."""

    max_rows: int = Field(ge=1)
    min_days: int | None = None
    """Rows younger than this are never trimmed (販売ログ is the idempotency ledger)."""


class TabSpec(_Spec):
    """One tab of the sheet; ``key`` is the code's name, ``title`` the Japanese one."""

    key: str
    title: str
    note: str = ""
    rows: int = 1000
    frozen_rows: int = 1
    frozen_columns: int = 0
    hidden: bool = False
    protect_bot_columns: bool = True
    """Warning-only protection on columns the bot owns."""
    retention: RetentionSpec | None = None
    columns: tuple[ColumnSpec, ...]
    conditional_formats: tuple[ConditionalFormatSpec, ...] = ()
    seed_rows: tuple[tuple[str | int, ...], ...] = ()

    def column(self, key: str) -> ColumnSpec:
        """The column with English ``key``; KeyError if the template has none."""
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(f"tab {self.key!r} has no column {key!r}")

    @property
    def bot_owned(self) -> bool:
        """Every column is written by the bot only (log tabs, _state)."""
        return all(col.owner == "bot" for col in self.columns)


class MallSpec(_Spec):
    """A mall's key and the words staff use for it."""

    key: str
    label: str
    aliases: tuple[str, ...] = ()


SettingKind = Literal["bool", "int", "int_or_blank", "allocation", "rule"]


class SettingItemSpec(_Spec):
    """One 設定 item (shop-wide, or per mall when in ``mall_items``)."""

    key: str
    label: str
    kind: SettingKind
    default: str | int = ""
    min: int | None = None
    max: int | None = None


class SettingsSpec(_Spec):
    """The 設定 tab's vocabulary."""

    items: tuple[SettingItemSpec, ...]
    mall_items: tuple[SettingItemSpec, ...]
    expected: Mapping[str, str]


class WordsSpec(_Spec):
    """Words staff type that the bot understands."""

    true: tuple[str, ...]
    false: tuple[str, ...]
    allocation_auto: tuple[str, ...]
    allocation_off: tuple[str, ...]
    movement_done_prefix: str
    code_separators: tuple[str, ...]
    blank: str
    """How a blank value is named in messages (空欄)."""


class Styles(_Spec):
    """Header background colours by column owner."""

    header_staff: Color
    header_both: Color
    header_bot: Color


class Template(_Spec):
    """The whole sheet definition from ``sheets_template/template.json``."""

    schema_version: int
    styles: Styles
    malls: tuple[MallSpec, ...]
    words: WordsSpec
    settings: SettingsSpec
    messages: Mapping[str, str]
    tabs: tuple[TabSpec, ...]

    def tab(self, key: str) -> TabSpec:
        """The tab with English ``key``; KeyError if unknown."""
        for tab in self.tabs:
            if tab.key == key:
                return tab
        raise KeyError(f"no tab {key!r} in the template")

    def message(self, key: str, **values: object) -> str:
        """A Japanese message from the template, filled in."""
        return self.messages[key].format(**values)

    def mall_label(self, mall: str) -> str:
        """The Japanese/display name staff use for ``mall`` (e.g. 楽天)."""
        for spec in self.malls:
            if spec.key == mall:
                return spec.label
        return mall


@cache
def load_template() -> Template:
    """The parsed template, loaded once from the ``sheets_template`` package data."""
    text = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_FILE).read_text(encoding="utf-8")
    return Template.model_validate(json.loads(text))


@cache
def setting_lookup() -> Mapping[str, tuple[str | None, SettingItemSpec]]:
    """設定 item name (comparison form) → (mall or None, item), e.g. 楽天在庫更新."""
    tpl = load_template()
    lookup: dict[str, tuple[str | None, SettingItemSpec]] = {}
    for item in tpl.settings.items:
        lookup[header_key(item.label)] = (None, item)
    for mall in tpl.malls:
        for word in (mall.label, mall.key, *mall.aliases):
            for item in tpl.settings.mall_items:
                lookup.setdefault(header_key(word + item.label), (mall.key, item))
    return lookup


@cache
def _mall_words() -> Mapping[str, str]:
    tpl = load_template()
    return {
        header_key(word): mall.key
        for mall in tpl.malls
        for word in (mall.key, mall.label, *mall.aliases)
    }


def mall_key(text: str) -> str | None:
    """The mall key for a name staff or the bot wrote (楽天, Yahoo!, rakuten, ...)."""
    return _mall_words().get(header_key(text))


# --------------------------------------------------------------------------- writing


def cell_data(value: Any) -> dict[str, Any]:
    """CellData writing ``value`` as a plain value.

    Text is always a ``stringValue``, which Sheets never parses: outside text such as
    ``=IMPORTXML(...)`` stays text (google-sheets.md §3). A datetime is written as the
    staff-facing JST text.
    """
    if value is None or value == "":
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    if isinstance(value, datetime):
        return {"userEnteredValue": {"stringValue": format_jst(value)}}
    return {"userEnteredValue": {"stringValue": str(value)}}


# --------------------------------------------------------------------------- A1 helpers


def column_letter(col: int) -> str:
    """0-based column index → A1 letters (0 → A, 25 → Z, 26 → AA)."""
    if col < 0:
        raise ValueError(f"column index must be >= 0, got {col}")
    letters = ""
    n = col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    """0-based (row, col) → A1 cell name: ``a1(11, 2) == "C12"``."""
    if row < 0:
        raise ValueError(f"row index must be >= 0, got {row}")
    return f"{column_letter(col)}{row + 1}"


def quote_title(title: str) -> str:
    """Quote a tab title for an A1 range: ``'商品マスタ'`` (``'`` doubled inside)."""
    return "'" + title.replace("'", "''") + "'"


# --------------------------------------------------------------------------- text helpers

_DASHES = str.maketrans({"\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-"})
_SPACES = re.compile(r"\s+")


def nfkc(value: str) -> str:
    """Unicode NFKC, the form every cell is read in."""
    return unicodedata.normalize("NFKC", value)


def header_key(text: str) -> str:
    """Comparison form of a header or setting name: NFKC, no spaces, casefolded."""
    return _SPACES.sub("", nfkc(text)).casefold()


def cell_text(value: Any) -> str:
    """A raw cell as stripped NFKC text (numbers without a trailing ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return nfkc(str(value)).strip()


def _cell(row: Sequence[Any], col: int | None) -> Any:
    if col is None or col >= len(row):
        return None
    return row[col]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not nfkc(value).strip())


def _is_formula(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip().startswith("=")


# --------------------------------------------------------------------------- header map


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
    """
    by_text: dict[str, ColumnSpec] = {}
    for col in tab.columns:
        for text in (col.header, *col.aliases):
            by_text[header_key(text)] = col
    found: dict[str, int] = {}
    dupes: list[str] = []
    for idx, raw in enumerate(header_row):
        spec = by_text.get(header_key(cell_text(raw))) if not _blank(raw) else None
        if spec is None:
            continue
        if spec.key in found:
            if spec.header not in dupes:
                dupes.append(spec.header)
            continue
        found[spec.key] = idx
    width = len(header_row)
    while width and _blank(header_row[width - 1]):
        width -= 1
    missing = [c.key for c in tab.columns if c.key not in found]
    missing_required = [
        c.header
        for c in tab.columns
        if c.key not in found
        and c.required
        and (c.mall is None or malls is None or c.mall in malls)
    ]
    return HeaderMap(tab, found, missing, missing_required, dupes, width)


def default_header_map(tab: TabSpec) -> HeaderMap:
    """The header map of a tab laid out exactly as the template defines it."""
    return header_map(tab, [col.header for col in tab.columns])


# --------------------------------------------------------------------------- time

_JST_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")


def parse_jst(text: str) -> datetime | None:
    """A staff-facing timestamp (``2026-11-23 14:05:09``, JST) as an aware datetime.

    Also accepts ``/`` separators, minutes only, and ISO 8601 with an offset. None when
    blank or not a timestamp (a log row is then simply undated).
    """
    s = nfkc(text).strip()
    if not s:
        return None
    for fmt in _JST_FORMATS:
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=JST)
        except ValueError:
            continue
    try:
        when = datetime.fromisoformat(s)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=JST)


# --------------------------------------------------------------------------- results


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
    statuses: dict[str, str] = field(default_factory=dict)
    """商品コード → current 状態 text (so an unchanged status is not rewritten)."""
    status_by_row: dict[int, str] = field(default_factory=dict)
    """Grid row → current 状態 text, for every 商品マスタ row with one (incl. duplicates)."""
    movement_rows: dict[str, int] = field(default_factory=dict)
    """Movement key → grid row, for 入出庫 rows not yet marked 済 (valid or not)."""
    movement_marks: dict[str, str] = field(default_factory=dict)
    """Movement key → current 反映 text of pending rows (e.g. an error already shown)."""
    movement_problems: dict[str, RowProblem] = field(default_factory=dict)
    """Movement key → why that 入出庫 row cannot be applied (for its 反映 cell)."""
    listing_rows: dict[tuple[str, str], int] = field(default_factory=dict)
    listing_reasons: dict[tuple[str, str], str] = field(default_factory=dict)
    """出品状況 理由 as the sheet shows it (so only a change is written)."""
    """(mall, code) → grid row in 出品状況."""
    state: dict[str, str] = field(default_factory=dict)
    """_state キー → 値."""
    state_rows: dict[str, int] = field(default_factory=dict)
    """_state キー → grid row (to update cursors in place)."""
    sku_rows: dict[str, list[int]] = field(default_factory=dict)
    """商品コード → every grid row holding it (several when duplicated)."""
    mark_by_row: dict[int, str] = field(default_factory=dict)
    """入出庫 grid row → current 反映 text (pending rows only)."""
    raw: dict[str, list[list[Any]]] = field(default_factory=dict)
    """The values this read was parsed from, by tab key (for a partial re-read)."""

    def rows_of(self, sku: str) -> list[int]:
        """Every 商品マスタ grid row holding ``sku`` (for writing its 状態)."""
        return self.sku_rows.get(sku, [])

    def status_at(self, row: int) -> str:
        """Current 状態 text at a 商品マスタ grid row ("" when blank)."""
        return self.status_by_row.get(row, "")

    def movement_mark_at(self, row: int) -> str:
        """Current 反映 text at a pending 入出庫 grid row ("" when blank)."""
        return self.mark_by_row.get(row, "")


class _Bad(Exception):
    """A cell the bot cannot understand; ``args[0]`` is the finished message."""

    @property
    def message(self) -> str:
        return str(self.args[0])


@dataclass
class _ProductDraft:
    grid_row: int
    sku: str
    problems: list[RowProblem] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    code_cols: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- cell parsers


class _Reader:
    """Cell parsers that know the template's words and messages."""

    def __init__(self, tpl: Template) -> None:
        self.tpl = tpl
        self.true_words = {header_key(w) for w in tpl.words.true}
        self.false_words = {header_key(w) for w in tpl.words.false}
        seps = "".join(re.escape(s) for s in tpl.words.code_separators)
        self.code_split = re.compile(f"[{seps}]")

    def msg(self, key: str, **values: object) -> str:
        return self.tpl.message(key, **values)

    def int_cell(self, raw: Any, cell: str, header: str) -> int | None:
        """An integer cell; None when blank. Raises _Bad for text, decimals, formulas."""
        if _blank(raw):
            return None
        if isinstance(raw, bool):
            raise _Bad(self.msg("not_a_number", cell=cell, header=header, value=cell_text(raw)))
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float):
            if raw.is_integer():
                return int(raw)
            raise _Bad(self.msg("not_integer", cell=cell, header=header, value=cell_text(raw)))
        text = cell_text(raw).translate(_DASHES)
        if text.startswith("="):
            raise _Bad(self.msg("formula_number", cell=cell, header=header))
        digits = text.replace(" ", "")
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", digits):
            digits = digits.replace(",", "")
        if re.fullmatch(r"[+-]?\d+", digits):
            return int(digits)
        if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", digits):
            number = float(digits)
            if number.is_integer():
                return int(number)
            raise _Bad(self.msg("not_integer", cell=cell, header=header, value=text))
        raise _Bad(self.msg("not_a_number", cell=cell, header=header, value=text))

    def non_negative(self, raw: Any, cell: str, header: str) -> int | None:
        value = self.int_cell(raw, cell, header)
        if value is not None and value < 0:
            raise _Bad(self.msg("negative", cell=cell, header=header, value=value))
        return value

    def bool_word(self, raw: Any) -> bool | None:
        """True/False for a checkbox or ON/OFF word, None for blank; raises ValueError."""
        if _blank(raw):
            return None
        if isinstance(raw, bool):
            return raw
        word = header_key(cell_text(raw))
        if word in self.true_words:
            return True
        if word in self.false_words:
            return False
        raise ValueError(word)

    def bool_cell(self, raw: Any, cell: str, header: str) -> bool | None:
        try:
            return self.bool_word(raw)
        except ValueError:
            raise _Bad(
                self.msg("bad_checkbox", cell=cell, header=header, value=cell_text(raw))
            ) from None

    def rule_cell(self, raw: Any, cell: str, header: str) -> DisplayRule | None:
        if _blank(raw):
            return None
        if _is_formula(raw):
            raise _Bad(self.msg("formula_text", cell=cell, header=header))
        try:
            return DisplayRule.parse(cell_text(raw).translate(_DASHES))
        except ValueError as err:
            raise _Bad(self.msg("bad_rule", cell=cell, reason=str(err))) from None

    def codes_cell(
        self, raw: Any, cell: str, header: str, canon: Callable[[str], str] | None
    ) -> tuple[str, ...]:
        if _blank(raw):
            return ()
        if _is_formula(raw):
            raise _Bad(self.msg("formula_text", cell=cell, header=header))
        out: list[str] = []
        for part in self.code_split.split(cell_text(raw)):
            code = part.strip()
            if not code:
                continue
            if canon is not None:
                try:
                    code = canon(code)
                except ValueError as err:
                    raise _Bad(
                        self.msg("bad_code", cell=cell, header=header, value=code, reason=str(err))
                    ) from None
            if code not in out:
                out.append(code)
        return tuple(out)

    def key_cell(self, raw: Any, cell: str, header: str) -> str:
        """A 商品コード-like cell: text, formula refused."""
        if _is_formula(raw):
            raise _Bad(self.msg("formula_text", cell=cell, header=header))
        return cell_text(raw)


def _serial_to_text(value: float) -> str:
    """A Sheets date serial (days since 1899-12-30) as ``YYYY-MM-DD HH:MM:SS``."""
    when = datetime(1899, 12, 30) + timedelta(days=value)
    return when.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S")


def _at_text(raw: Any) -> str:
    if isinstance(raw, int | float) and not isinstance(raw, bool) and 1 <= raw < 2958466:
        return _serial_to_text(float(raw))
    return cell_text(raw)


# --------------------------------------------------------------------------- parse_sheet


class _Parser:
    """One parse_sheet call; collects problems and positions as it goes."""

    def __init__(
        self,
        values: Mapping[str, list[list[Any]]],
        malls: Sequence[str],
        canonical: Mapping[str, Callable[[str], str]] | None,
        bot_stock: Mapping[str, int] | None,
    ) -> None:
        self.tpl = load_template()
        self.r = _Reader(self.tpl)
        self.values = values
        self.malls = list(malls)
        self.canonical = canonical or {}
        self.bot_stock = bot_stock or {}
        self.problems: list[RowProblem] = []
        self.broken: set[str] = set()
        self.invalid: set[str] = set()
        self.held_codes: dict[str, dict[str, str]] = {}
        self.out = SheetRead(snapshot=Snapshot(), raw={k: list(v or []) for k, v in values.items()})

    # -- helpers

    def cell_name(self, tab: TabSpec, row: int, col: int) -> str:
        """A1 for 商品マスタ (its 状態 shows it); ``<tab> A1`` elsewhere."""
        name = a1(row, col)
        if tab.key == "products":
            return name
        return self.tpl.message("cell_in_tab", tab=tab.title, cell=name)

    def cells_name(self, tab: TabSpec, rows: Sequence[int], col: int) -> str:
        names = ", ".join(a1(r, col) for r in rows)
        if tab.key == "products":
            return names
        return self.tpl.message("cell_in_tab", tab=tab.title, cell=names)

    def problem(
        self, tab: TabSpec, grid_row: int, message: str, sku: str = "", column: str = ""
    ) -> RowProblem:
        return RowProblem(tab=tab.key, row=grid_row + 1, message=message, sku=sku, column=column)

    def rows_of(self, key: str) -> tuple[TabSpec, HeaderMap, list[list[Any]]] | None:
        """The tab's header map and data rows, or None when it was not read or is broken."""
        tab = self.tpl.tab(key)
        if key not in self.values:
            if key == "products":
                self.broken.add(key)
                self.problems.append(
                    RowProblem(
                        tab=key, row=1, message=self.tpl.message("tab_missing", tab=tab.title)
                    )
                )
            return None
        grid = self.values[key] or []
        hm = header_map(tab, grid[0] if grid else [], malls=self.malls)
        self.out.headers[key] = hm
        if not hm.ok:
            self.broken.add(key)
            if hm.missing_required:
                message = self.tpl.message(
                    "header_missing",
                    tab=tab.title,
                    headers="".join(f"『{h}』" for h in hm.missing_required),
                )
            else:
                message = self.tpl.message(
                    "header_duplicate",
                    tab=tab.title,
                    headers="".join(f"『{h}』" for h in hm.required_duplicates),
                )
            self.problems.append(RowProblem(tab=key, row=1, message=message))
            return None
        return tab, hm, grid

    # -- tabs

    def parse(self) -> SheetRead:
        for key in self.values:
            if key not in {t.key for t in self.tpl.tabs}:
                raise KeyError(f"unknown tab key {key!r}")
        sets, set_skus = self.parse_sets()
        products = self.parse_products(set_skus)
        movements = self.parse_movements()
        settings = self.parse_settings()
        resend = self.parse_listings()
        self.parse_state()
        for sku in self.invalid:
            products.pop(sku, None)
        self.out.snapshot = Snapshot(
            products=products,
            invalid_skus=frozenset(self.invalid),
            sets=tuple(sets),
            movements=tuple(movements),
            settings=settings,
            problems=tuple(self.problems),
            resend=frozenset(resend),
            broken_tabs=frozenset(self.broken),
            held_codes=self.held_codes,
            mall_labels={m.key: m.label for m in load_template().malls},
        )
        return self.out

    def parse_products(self, set_skus: set[str]) -> dict[str, Product]:
        got = self.rows_of("products")
        if got is None:
            return {}
        tab, hm, grid = got
        r = self.r
        data_cols = [
            (c, hm.col(c.key))
            for c in tab.columns
            if c.owner != "bot" and c.key != "sku" and hm.col(c.key) is not None
        ]
        mall_cols = [c for c in tab.columns if c.mall is not None and c.mall in self.malls]
        drafts: list[_ProductDraft] = []
        sku_col = hm.col("sku")
        assert sku_col is not None  # required
        sku_header = tab.column("sku").header
        for gi in range(1, len(grid)):
            row = grid[gi]
            status = cell_text(_cell(row, hm.col("status")))
            if status:
                self.out.status_by_row[gi] = status
            raw_sku = _cell(row, sku_col)
            if _blank(raw_sku):
                if any(not _blank(_cell(row, idx)) for _, idx in data_cols):
                    self.problems.append(
                        self.problem(
                            tab,
                            gi,
                            r.msg("blank_key", cell=a1(gi, sku_col), header=sku_header),
                            column="sku",
                        )
                    )
                continue
            try:
                sku = r.key_cell(raw_sku, a1(gi, sku_col), sku_header)
            except _Bad as bad:
                self.problems.append(self.problem(tab, gi, bad.message, column="sku"))
                continue
            draft = _ProductDraft(gi, sku)
            drafts.append(draft)
            self._product_cells(tab, hm, row, draft, is_set=sku in set_skus)
            for col in mall_cols:
                idx = hm.col(col.key)
                if idx is None:
                    continue
                assert col.mall is not None
                try:
                    codes = r.codes_cell(
                        _cell(row, idx), a1(gi, idx), col.header, self.canonical.get(col.mall)
                    )
                except _Bad as bad:
                    draft.problems.append(self.problem(tab, gi, bad.message, sku, col.key))
                    continue
                if codes:
                    draft.codes[col.mall] = codes
                    draft.code_cols[col.mall] = idx

        by_sku: dict[str, list[_ProductDraft]] = defaultdict(list)
        for d in drafts:
            by_sku[d.sku].append(d)
        for sku, group in by_sku.items():
            self.out.sku_rows[sku] = [d.grid_row for d in group]
            if len(group) == 1:
                self.out.product_rows[sku] = group[0].grid_row
                current = self.out.status_by_row.get(group[0].grid_row)
                if current:
                    self.out.statuses[sku] = current
                continue
            message = r.msg(
                "duplicate_key",
                cells=", ".join(a1(d.grid_row, sku_col) for d in group),
                header=tab.column("sku").header,
                value=sku,
            )
            for d in group:
                d.problems.append(self.problem(tab, d.grid_row, message, sku, "sku"))

        claims: dict[tuple[str, str], list[_ProductDraft]] = defaultdict(list)
        for d in drafts:
            for mall, codes in d.codes.items():
                for code in codes:
                    claims[(mall, code)].append(d)
        mall_header = {c.mall: c for c in mall_cols}
        for (mall, code), group in claims.items():
            if len({d.sku for d in group}) < 2:
                continue  # the same product twice is the duplicate 商品コード problem
            col = mall_header[mall]
            cells = ", ".join(a1(d.grid_row, d.code_cols[mall]) for d in group)
            skus = ", ".join(dict.fromkeys(d.sku for d in group))
            message = r.msg("duplicate_code", cells=cells, header=col.header, value=code, skus=skus)
            for d in group:
                d.problems.append(self.problem(tab, d.grid_row, message, d.sku, col.key))

        products: dict[str, Product] = {}
        for d in drafts:
            if d.problems:
                self.problems.extend(d.problems)
                self.invalid.add(d.sku)
                for mall, codes in d.codes.items():
                    for code in codes:
                        self.held_codes.setdefault(mall, {}).setdefault(code, d.sku)
                continue
            products[d.sku] = Product(
                sku=d.sku,
                name=d.values.get("name", ""),
                stock=d.values.get("stock", 0),
                rule=d.values.get("rule"),
                low_stock=d.values.get("low_stock"),
                alloc_threshold=d.values.get("alloc_threshold"),
                sync=d.values.get("sync", True),
                backorder=d.values.get("backorder", False),
                codes=dict(d.codes),
                row=d.grid_row + 1,
            )
        return products

    def _product_cells(
        self, tab: TabSpec, hm: HeaderMap, row: Sequence[Any], d: _ProductDraft, *, is_set: bool
    ) -> None:
        r, gi, sku = self.r, d.grid_row, d.sku

        def at(key: str) -> tuple[Any, str, str] | None:
            idx = hm.col(key)
            if idx is None:
                return None
            return _cell(row, idx), a1(gi, idx), tab.column(key).header

        def run(key: str, fn: Callable[[Any, str, str], Any]) -> None:
            got = at(key)
            if got is None:
                return
            try:
                value = fn(*got)
            except _Bad as bad:
                d.problems.append(self.problem(tab, gi, bad.message, sku, key))
                return
            if value is not None:
                d.values[key] = value

        name = at("name")
        if name is not None:
            d.values["name"] = cell_text(name[0])
        if is_set:
            # The bot computes a set row's 在庫数; whatever is there is not a stocktake.
            got = at("stock")
            if got is not None:
                try:
                    d.values["stock"] = r.int_cell(*got) or 0
                except _Bad:
                    d.values["stock"] = 0
        else:
            run("stock", lambda raw, cell, header: self._stock(raw, cell, header, sku))
        run("rule", r.rule_cell)
        run("low_stock", r.non_negative)
        run("alloc_threshold", r.non_negative)
        run("sync", r.bool_cell)
        run("backorder", r.bool_cell)

    def _stock(self, raw: Any, cell: str, header: str, sku: str) -> int:
        r = self.r
        if isinstance(raw, str) and cell_text(raw).startswith("+"):
            raise _Bad(r.msg("stock_plus_sign", cell=cell, header=header, value=cell_text(raw)))
        value = r.int_cell(raw, cell, header)
        if value is None:
            raise _Bad(r.msg("blank_value", cell=cell, header=header))
        if value < 0 and self.bot_stock.get(sku) != value:
            raise _Bad(r.msg("negative", cell=cell, header=header, value=value))
        return value

    def parse_sets(self) -> tuple[list[SetComponent], set[str]]:
        got = self.rows_of("sets")
        if got is None:
            return [], set()
        tab, hm, grid = got
        r = self.r
        c_set, c_comp, c_qty = hm.col("set_sku"), hm.col("component_sku"), hm.col("qty")
        assert c_set is not None and c_comp is not None and c_qty is not None
        h_set, h_comp, h_qty = (tab.column(k).header for k in ("set_sku", "component_sku", "qty"))
        good: list[SetComponent] = []
        set_skus: set[str] = set()
        bad_sets: set[str] = set()
        seen: dict[tuple[str, str], list[int]] = defaultdict(list)
        for gi in range(1, len(grid)):
            row = grid[gi]
            raws = [_cell(row, c) for c in (c_set, c_comp, c_qty)]
            if all(_blank(v) for v in raws):
                continue
            try:
                set_sku = r.key_cell(raws[0], self.cell_name(tab, gi, c_set), h_set)
            except _Bad as bad:
                self.problems.append(self.problem(tab, gi, bad.message, column="set_sku"))
                continue
            if not set_sku:
                self.problems.append(
                    self.problem(
                        tab,
                        gi,
                        r.msg("blank_key", cell=self.cell_name(tab, gi, c_set), header=h_set),
                        column="set_sku",
                    )
                )
                continue
            set_skus.add(set_sku)
            try:
                comp = r.key_cell(raws[1], self.cell_name(tab, gi, c_comp), h_comp)
                if not comp:
                    raise _Bad(
                        r.msg("blank_value", cell=self.cell_name(tab, gi, c_comp), header=h_comp)
                    )
                if comp == set_sku:
                    raise _Bad(
                        r.msg(
                            "set_self",
                            cell=self.cell_name(tab, gi, c_comp),
                            header=h_comp,
                            value=comp,
                        )
                    )
                qty = self._set_qty(raws[2], self.cell_name(tab, gi, c_qty), h_qty)
            except _Bad as bad:
                self.problems.append(self.problem(tab, gi, bad.message, set_sku, "qty"))
                bad_sets.add(set_sku)
                continue
            seen[(set_sku, comp)].append(gi)
            good.append(SetComponent(set_sku=set_sku, component_sku=comp, qty=qty, row=gi + 1))
        for (set_sku, comp), rows in seen.items():
            if len(rows) < 2:
                continue
            message = r.msg(
                "set_duplicate",
                cells=self.cells_name(tab, rows, c_comp),
                set_sku=set_sku,
                value=comp,
            )
            for gi in rows:
                self.problems.append(self.problem(tab, gi, message, set_sku, "component_sku"))
            bad_sets.add(set_sku)
        self.invalid |= bad_sets
        return [c for c in good if c.set_sku not in bad_sets], set_skus

    def _set_qty(self, raw: Any, cell: str, header: str) -> int:
        value = self.r.int_cell(raw, cell, header)
        if value is None:
            raise _Bad(self.r.msg("blank_value", cell=cell, header=header))
        if value < 1:
            raise _Bad(self.r.msg("qty_min_one", cell=cell, header=header, value=value))
        return value

    def parse_movements(self) -> list[Movement]:
        got = self.rows_of("movements")
        if got is None:
            return []
        tab, hm, grid = got
        r = self.r
        done = nfkc(self.tpl.words.movement_done_prefix)
        keys = ("at", "sku", "qty", "kind", "memo")
        c_sku, c_qty, c_mark = hm.col("sku"), hm.col("qty"), hm.col("applied")
        assert c_sku is not None and c_qty is not None and c_mark is not None
        occurrences: dict[str, int] = defaultdict(int)
        out: list[Movement] = []
        for gi in range(1, len(grid)):
            row = grid[gi]
            raws = {k: _cell(row, hm.col(k)) for k in keys}
            if all(_blank(v) for v in raws.values()):
                continue
            texts = {k: cell_text(v) for k, v in raws.items()}
            digest = hashlib.sha1("\x1f".join(texts[k] for k in keys).encode()).hexdigest()[:16]
            n = occurrences[digest]
            occurrences[digest] += 1
            key = f"{digest}-{n}"
            mark = cell_text(_cell(row, c_mark))
            if mark.startswith(done):
                continue
            self.out.movement_rows[key] = gi
            if mark:
                self.out.movement_marks[key] = mark
                self.out.mark_by_row[gi] = mark
            sku = texts["sku"]
            try:
                if _is_formula(raws["sku"]):
                    raise _Bad(
                        r.msg(
                            "formula_text",
                            cell=self.cell_name(tab, gi, c_sku),
                            header=tab.column("sku").header,
                        )
                    )
                if not sku:
                    raise _Bad(
                        r.msg(
                            "blank_key",
                            cell=self.cell_name(tab, gi, c_sku),
                            header=tab.column("sku").header,
                        )
                    )
                qty_cell, qty_header = self.cell_name(tab, gi, c_qty), tab.column("qty").header
                qty = r.int_cell(raws["qty"], qty_cell, qty_header)
                if not qty:
                    raise _Bad(r.msg("qty_nonzero", cell=qty_cell, header=qty_header))
            except _Bad as bad:
                problem = self.problem(tab, gi, bad.message, sku, "qty")
                self.problems.append(problem)
                self.out.movement_problems[key] = problem
                continue
            out.append(
                Movement(
                    key=key,
                    sku=sku,
                    qty=qty,
                    kind=texts["kind"],
                    memo=texts["memo"],
                    at=_at_text(raws["at"]),
                    row=gi + 1,
                )
            )
        return out

    def parse_settings(self) -> ShopSettings:
        got = self.rows_of("settings")
        if got is None:
            return ShopSettings()
        tab, hm, grid = got
        r = self.r
        spec = self.tpl.settings
        lookup = setting_lookup()
        c_item, c_value = hm.col("item"), hm.col("value")
        assert c_item is not None and c_value is not None
        shop: dict[str, Any] = {}
        per_mall: dict[str, dict[str, Any]] = defaultdict(dict)
        seen: dict[tuple[str | None, str], list[int]] = defaultdict(list)
        for gi in range(1, len(grid)):
            row = grid[gi]
            label = cell_text(_cell(row, c_item))
            if not label:
                continue
            found = lookup.get(header_key(label))
            if found is None:
                self.problems.append(
                    self.problem(
                        tab,
                        gi,
                        r.msg("setting_unknown", cell=self.cell_name(tab, gi, c_item), value=label),
                        column="item",
                    )
                )
                continue
            mall, item = found
            seen[(mall, item.key)].append(gi)
            if len(seen[(mall, item.key)]) > 1:
                continue
            raw = _cell(row, c_value)
            try:
                value = self._setting_value(item, raw)
            except _Bad:
                expected = spec.expected[item.kind].format(min=item.min, max=item.max)
                message = r.msg(
                    "setting_bad",
                    cell=self.cell_name(tab, gi, c_value),
                    item=label,
                    value=cell_text(raw),
                    expected=expected,
                    default=item.default if item.default != "" else self.tpl.words.blank,
                )
                self.problems.append(self.problem(tab, gi, message, column="value"))
                continue
            if value is None:
                continue
            if mall is None:
                shop[item.key] = value
            else:
                per_mall[mall][item.key] = value
        for (_, _key), rows in seen.items():
            if len(rows) < 2:
                continue
            label = cell_text(_cell(grid[rows[0]], c_item))
            message = r.msg(
                "setting_duplicate", cells=self.cells_name(tab, rows, c_item), item=label
            )
            self.problems.append(self.problem(tab, rows[1], message, column="item"))
        shop["malls"] = {m: MallSettings(**v) for m, v in per_mall.items()}
        return ShopSettings(**shop)

    def _setting_value(self, item: SettingItemSpec, raw: Any) -> Any:
        """The typed value of a 設定 cell; None = blank (use the default); _Bad if not understood."""
        r = self.r
        if _is_formula(raw):
            raise _Bad("formula")
        if item.kind == "bool":
            try:
                return r.bool_word(raw)
            except ValueError:
                raise _Bad("bool") from None
        if item.kind == "rule":
            try:
                return DisplayRule.parse(cell_text(raw).translate(_DASHES))
            except ValueError:
                raise _Bad("rule") from None
        if item.kind == "allocation":
            word = header_key(cell_text(raw))
            if not word:
                return None
            if word in {header_key(w) for w in self.tpl.words.allocation_auto}:
                return "auto"
            if word in {header_key(w) for w in self.tpl.words.allocation_off}:
                return "off"
        value = r.int_cell(raw, "", "")
        if value is None:
            return None
        low = item.min if item.min is not None else 0
        if value < low or (item.max is not None and value > item.max):
            raise _Bad("range")
        return value

    def parse_listings(self) -> set[tuple[str, str]]:
        got = self.rows_of("listings")
        if got is None:
            return set()
        _tab, hm, grid = got
        resend: set[tuple[str, str]] = set()
        for gi in range(1, len(grid)):
            row = grid[gi]
            mall = mall_key(cell_text(_cell(row, hm.col("mall"))))
            code = cell_text(_cell(row, hm.col("code")))
            if mall is None or not code:
                continue
            if (mall, code) not in self.out.listing_rows:
                self.out.listing_rows[(mall, code)] = gi
                self.out.listing_reasons[(mall, code)] = cell_text(_cell(row, hm.col("reason")))
            try:
                ticked = self.r.bool_word(_cell(row, hm.col("resend")))
            except ValueError:
                ticked = None
            if ticked:
                resend.add((mall, code))
        return resend

    def parse_state(self) -> None:
        got = self.rows_of("state")
        if got is None:
            return
        _tab, hm, grid = got
        for gi in range(1, len(grid)):
            row = grid[gi]
            key = cell_text(_cell(row, hm.col("key")))
            if not key or key in self.out.state:
                continue
            raw = _cell(row, hm.col("value"))
            self.out.state[key] = "" if raw is None else str(raw)
            self.out.state_rows[key] = gi


def parse_sheet(
    values: Mapping[str, list[list[Any]]],
    *,
    malls: Sequence[str],
    canonical: Mapping[str, Callable[[str], str]] | None = None,
    bot_stock: Mapping[str, int] | None = None,
) -> SheetRead:
    """Parse one batch read of the sheet into a Snapshot and grid positions.

    ``values`` is keyed by tab key (``products``, ``sets``, ...), each the tab's rows as
    returned by ``values:batchGet`` with ``valueRenderOption=FORMULA``. A tab missing
    from ``values`` was not read and is skipped (商品マスタ excepted: without it nothing
    syncs). ``malls`` are the enabled malls: only their code columns are read and
    required. ``canonical`` maps a mall to its adapter's code canonicaliser (may raise
    ValueError with a Japanese reason). ``bot_stock`` is what the bot itself last wrote
    to 在庫数 per 商品コード: a negative equal to it is an oversell the bot recorded, not
    a staff typo.
    """
    return _Parser(values, malls, canonical, bot_stock).parse()
