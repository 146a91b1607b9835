"""The sheet's layout and how its cells become domain objects (ARCHITECTURE.md §3).

``sheets_template/template.json`` is the single source of truth for the shop-wide tabs,
Japanese headers, formats and the Japanese text staff read (row-problem messages,
setting names, checkbox words); each enabled channel adds its own code column, 設定
rows and names (:mod:`bot.infra.sheet.spec`). The raw grid of one ``values:batchGet``
(``valueRenderOption=FORMULA``) becomes a :class:`bot.core.domain.Snapshot` plus the
row positions the gateway needs to write back (:mod:`bot.infra.sheet.read`).

Columns are found by header text, never by position, so staff may reorder columns,
add their own and sort rows. Every cell is read after Unicode NFKC (全角 "１２" is 12).
A cell the bot cannot understand never changes stock: it becomes a
:class:`~bot.core.domain.RowProblem` naming the cell in A1 notation, and the row is left
out of ``Snapshot.products`` (its 商品コード goes to ``invalid_skus``).

This module gathers the package's reading side under one name (the pieces live in
``spec``, ``cells``, ``headers``, ``reader``, ``parsing``, ``parse_products``,
``parse_tabs`` and ``read``).
"""

from __future__ import annotations

from bot.infra.sheet.cells import (
    a1,
    at_text,
    cell_data,
    cell_text,
    column_letter,
    header_key,
    nfkc,
    parse_jst,
    quote_title,
)
from bot.infra.sheet.headers import HeaderMap, default_header_map, header_map
from bot.infra.sheet.parsing import SheetRead
from bot.infra.sheet.read import parse_sheet
from bot.infra.sheet.spec import (
    STATE_SCHEMA_KEY,
    TEMPLATE_FILE,
    TEMPLATE_PACKAGE,
    Color,
    ColumnSpec,
    ColumnType,
    ConditionalFormatSpec,
    MallSpec,
    Owner,
    RetentionSpec,
    SettingItemSpec,
    SettingKind,
    SettingsSpec,
    Styles,
    TabSpec,
    Template,
    ValidationSpec,
    WordsSpec,
    base_template,
    code_column,
    load_template,
    mall_key,
    registered_channels,
    setting_lookup,
)

__all__ = [
    "STATE_SCHEMA_KEY",
    "TEMPLATE_FILE",
    "TEMPLATE_PACKAGE",
    "Color",
    "ColumnSpec",
    "ColumnType",
    "ConditionalFormatSpec",
    "HeaderMap",
    "MallSpec",
    "Owner",
    "RetentionSpec",
    "SettingItemSpec",
    "SettingKind",
    "SettingsSpec",
    "SheetRead",
    "Styles",
    "TabSpec",
    "Template",
    "ValidationSpec",
    "WordsSpec",
    "a1",
    "at_text",
    "base_template",
    "cell_data",
    "cell_text",
    "code_column",
    "column_letter",
    "default_header_map",
    "header_key",
    "header_map",
    "load_template",
    "mall_key",
    "nfkc",
    "parse_jst",
    "parse_sheet",
    "quote_title",
    "registered_channels",
    "setting_lookup",
]
