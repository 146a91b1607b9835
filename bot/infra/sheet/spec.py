"""The sheet definition: ``sheets_template/template.json`` plus the enabled channels.

The file holds what is shop-wide: tabs, Japanese headers, formats, the 設定 vocabulary
and the Japanese text staff read. Each channel (``adapters.base.Channel``) brings its
own parts — its 商品マスタ code column (``<label>コード``), its 設定 rows
(``<label> 注文取込み`` ...) and the words staff write for it in モール cells and 設定
item names. :func:`load_template` joins the two; callers pass the channels in, so this
package never depends on the adapter registry except for the default (every
registered channel, imported lazily).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache, cached_property
from importlib import resources
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.words import say
from bot.infra.sheet.cells import header_key

if TYPE_CHECKING:
    from adapters.base import Channel

TEMPLATE_PACKAGE = "sheets_template"
TEMPLATE_FILE = "template.json"
STATE_SCHEMA_KEY = "schema_version"
"""The _state key that records which template version built the sheet."""


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
    inverted_aliases: tuple[str, ...] = ()
    """Older header texts of the opposite meaning (連動 before 連動停止): still read,
    inverted, until init-sheet migrates the column (:mod:`bot.infra.sheet.migrate`)."""
    internal: bool = False
    """The bot's own bookkeeping (販売ログ キー, 反映数): kept at the right of its tab,
    its header in a darker grey and its note saying staff need not read it."""


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
    code_columns_before: str | None = None
    """Key of the column the channels' code columns are placed before (商品マスタ)."""
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
    """A channel's key and the words staff use for it (from its ``Channel``)."""

    key: str
    label: str
    name: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        """Every spelling that names this channel in a cell: label, key, aliases."""
        return (self.label, self.key, *self.aliases)


SettingKind = Literal["bool", "int", "int_or_blank", "allocation", "rule", "link"]
"""``link``: a row for staff (the guide's URL); the bot never reads its value."""


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
    header_internal: Color
    """Columns only the bot reads (``ColumnSpec.internal``)."""


SettingLookup = Mapping[str, tuple[str | None, SettingItemSpec]]
"""設定 item name (comparison form) → (mall key or None, item)."""

_MALL_ITEM_DESCRIPTIONS = {
    "fetch_orders": "sheet.setting_fetch_orders",
    "push_stock": "sheet.setting_push_stock",
    "default_rule": "sheet.setting_default_rule",
}
"""Per-channel 設定 item → the words.json sentence describing its row."""


class Template(_Spec):
    """The whole sheet definition: the file's shop-wide parts plus the channels' parts."""

    schema_version: int
    styles: Styles
    malls: tuple[MallSpec, ...] = ()
    """The channels this definition was built for (none in the file itself)."""
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
        """The Japanese/display name staff use for ``mall`` (the channel's label)."""
        for spec in self.malls:
            if spec.key == mall:
                return spec.label
        return mall

    def mall_key(self, text: str) -> str | None:
        """The mall key for a name staff or the bot wrote (label, name, alias or key)."""
        return self.mall_words.get(header_key(text))

    @cached_property
    def mall_words(self) -> Mapping[str, str]:
        """Comparison form of every word naming a channel → its key."""
        return {header_key(word): mall.key for mall in self.malls for word in mall.words}

    @cached_property
    def setting_lookup(self) -> SettingLookup:
        """設定 item name (comparison form) → (mall or None, item), e.g. <label>在庫更新."""
        lookup: dict[str, tuple[str | None, SettingItemSpec]] = {}
        for item in self.settings.items:
            lookup[header_key(item.label)] = (None, item)
        for mall in self.malls:
            for word in mall.words:
                for item in self.settings.mall_items:
                    lookup.setdefault(header_key(word + item.label), (mall.key, item))
        return lookup

    def for_channels(self, channels: Sequence[Channel]) -> Template:
        """The file template plus each channel's code column, 設定 rows and words.

        Code columns go before the products tab's ``code_columns_before`` column, in
        the order of ``channels``; 設定 rows follow the shop-wide seed rows.
        """
        if self.malls:
            raise ValueError("for_channels() takes the template as loaded from its file")
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data["malls"] = tuple(
            MallSpec(key=c.key, label=c.label, name=c.name, aliases=tuple(c.aliases))
            for c in channels
        )
        data["tabs"] = tuple(self._tab_for(tab, channels) for tab in self.tabs)
        return Template(**data)

    def _tab_for(self, tab: TabSpec, channels: Sequence[Channel]) -> TabSpec:
        if tab.code_columns_before is not None:
            at = [c.key for c in tab.columns].index(tab.code_columns_before)
            codes = tuple(code_column(c) for c in channels)
            return tab.model_copy(update={"columns": tab.columns[:at] + codes + tab.columns[at:]})
        if tab.key == "settings":
            seeds = tuple(row for c in channels for row in self.setting_rows(c))
            return tab.model_copy(update={"seed_rows": tab.seed_rows + seeds})
        return tab

    def setting_rows(self, channel: Channel) -> list[tuple[str | int, ...]]:
        """The 設定 seed rows of one channel: ``<label> <item>``, default, description."""
        rows: list[tuple[str | int, ...]] = []
        for item in self.settings.mall_items:
            words_key = _MALL_ITEM_DESCRIPTIONS.get(item.key)
            description = say(words_key, name=channel.name) if words_key else ""
            rows.append((f"{channel.label} {item.label}", item.default, description))
        return rows


def code_column(channel: Channel) -> ColumnSpec:
    """The 商品マスタ column staff type ``channel``'s codes in (TEXT, required when enabled)."""
    return ColumnSpec(
        key=f"code_{channel.key}",
        header=channel.code_header,
        type="codes",
        mall=channel.key,
        required=True,
        owner="staff",
        text_format=True,
        width=channel.code_width,
        note=channel.code_note,
    )


@cache
def base_template() -> Template:
    """The file's shop-wide definition, loaded once from the package data (no channels)."""
    text = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_FILE).read_text(encoding="utf-8")
    return Template.model_validate(json.loads(text))


def registered_channels() -> tuple[Channel, ...]:
    """Every registered channel: the default when a caller passes none.

    Imported here, when called, so the sheet package does not depend on the adapter
    registry (callers that know the enabled channels pass them in instead).
    """
    from adapters import channels

    return tuple(channels())


def load_template(channels: Sequence[Channel] | None = None) -> Template:
    """The sheet definition for ``channels`` (default: every registered channel), cached."""
    wanted = registered_channels() if channels is None else tuple(channels)
    return _template_for(wanted)


@cache
def _template_for(channels: tuple[Channel, ...]) -> Template:
    return base_template().for_channels(channels)


def setting_lookup(channels: Sequence[Channel] | None = None) -> SettingLookup:
    """設定 item name (comparison form) → (mall or None, item), e.g. <label>在庫更新."""
    return load_template(channels).setting_lookup


def mall_key(text: str, channels: Sequence[Channel] | None = None) -> str | None:
    """The mall key for a name staff or the bot wrote (label, name, alias or key)."""
    return load_template(channels).mall_key(text)
