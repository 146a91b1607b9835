"""init-sheet: create or upgrade a spreadsheet's tabs from ``sheets_template/``.

:func:`plan_init` is pure: from the spreadsheet metadata and the current header rows
it returns the ``spreadsheets:batchUpdate`` requests that bring the sheet up to the
template for the given channels — missing tabs (with frozen header, hidden flag,
formats, validation, warning-only protection of bot columns, conditional formatting,
設定 seed rows) and missing headers, appended after the last used column of an
existing tab. It never deletes, renames or moves anything staff made, and never re-adds
a protected range or conditional rule that is already there (matched by description /
formula), so running it against an up-to-date sheet returns ``[]``.

Channels: a new sheet gets one 商品マスタ code column per channel (``<label>コード``,
before 状態) and its 設定 rows. On an existing sheet, a channel switched on since the
last run gets its code column appended after the last used column (staff's own columns
included: nothing is inserted, so no staff column moves) and its 設定 rows appended
below the existing ones. The code column and 設定 rows of a channel no longer passed
in stay where they are, untouched (they are then just a column the bot does not read).

Validation and column widths are not visible in the metadata without reading grid data,
so they are applied when a column is created (new tab or appended header) and left alone
afterwards — staff may have changed them on purpose. The TEXT format is different: a
code or 表示在庫設定 typed into a cell that lost it is stored as a number and cannot be
recovered (``formats``), so init reads the formats of those columns (one more read) and
formats again, whole, every column not TEXT down to its last row.

:func:`init_sheet` is the thin gspread shell: one metadata GET, one
``values:batchGet``, one GET of the TEXT columns' formats, and only when the plan is
non-empty ONE ``batchUpdate``. New
tabs get caller-chosen sheet ids so later requests of the same batch can refer to them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.core.words import say
from bot.infra.sheet.cells import cell_data, cell_text, column_letter, header_key, quote_title
from bot.infra.sheet.default_tab import default_tab, default_tab_range, removal
from bot.infra.sheet.formats import FORMAT_FIELDS, all_text, text_columns, text_format_request
from bot.infra.sheet.headers import header_map
from bot.infra.sheet.migrate import inverted_columns
from bot.infra.sheet.spec import (
    STATE_SCHEMA_KEY,
    Color,
    ColumnSpec,
    ConditionalFormatSpec,
    TabSpec,
    Template,
    base_template,
    load_template,
    registered_channels,
)

if TYPE_CHECKING:
    import gspread

    from adapters.base import Channel

Request = dict[str, Any]

TAG_PREFIX = "[zaiko-bot:"
"""Protected ranges the bot made start with ``[zaiko-bot:<tab>(.<column>)]``."""

_SEEDED_TABS = ("settings", "state")
"""Tabs whose existing rows init reads in full (to add missing seed rows)."""

_READ_TABS = (*_SEEDED_TABS, "products")
"""Tabs read in full: seeded tabs, and 商品マスタ for migrations (:mod:`.migrate`)."""


# --------------------------------------------------------------------------- results


@dataclass
class InitPlan:
    """The requests of one init run and what they change, for the report."""

    requests: list[Request] = field(default_factory=list)
    created_tabs: list[str] = field(default_factory=list)
    """Japanese titles of tabs to create."""
    added_headers: dict[str, list[str]] = field(default_factory=dict)
    """Tab title → Japanese headers appended to an existing tab."""
    added_settings: list[str] = field(default_factory=list)
    """設定 items appended to an existing 設定 tab."""
    schema_version: int | None = None
    """Set when _state's schema_version is written or changed."""
    migrated: list[str] = field(default_factory=list)
    """Columns whose meaning was migrated (``商品マスタ 連動→連動停止``)."""


@dataclass
class InitReport:
    """What :func:`init_sheet` did."""

    created_tabs: list[str]
    added_headers: dict[str, list[str]]
    added_settings: list[str] = field(default_factory=list)
    requests: int = 0
    """Sub-requests inside the one batchUpdate (0: nothing was written)."""
    writes: int = 0
    """API write calls made (0 or 1)."""
    schema_version: int | None = None
    removed_tabs: list[str] = field(default_factory=list)
    """The spreadsheet's empty default tab, deleted (see :mod:`.default_tab`)."""
    migrated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One Japanese line for the operator."""
        tpl = base_template()
        parts: list[str] = []
        if self.created_tabs:
            parts.append(tpl.message("init_created", tabs="、".join(self.created_tabs)))
        if self.added_headers:
            items = "、".join(
                f"{title}『{h}』" for title, headers in self.added_headers.items() for h in headers
            )
            parts.append(tpl.message("init_headers", items=items))
        if self.added_settings:
            parts.append(tpl.message("init_settings", items="、".join(self.added_settings)))
        if self.migrated:
            parts.append(tpl.message("init_migrated", items="、".join(self.migrated)))
        if self.schema_version is not None and tpl.tab("state").title not in self.created_tabs:
            parts.append(tpl.message("init_schema", version=self.schema_version))
        if self.removed_tabs:
            parts.append(say("sheet.init_removed_default", title="、".join(self.removed_tabs)))
        if not parts and self.requests:
            parts.append(tpl.message("init_other", count=self.requests))
        if not parts:
            return tpl.message("init_nothing")
        return " / ".join(parts)


# --------------------------------------------------------------------------- request builders


def _rgb(color: Color) -> dict[str, float]:
    return {"red": color.red, "green": color.green, "blue": color.blue}


def _data_range(sheet_id: int, col: int, start_row: int = 1) -> dict[str, int]:
    """Column ``col`` from ``start_row`` down (unbounded), as a GridRange."""
    return {
        "sheetId": sheet_id,
        "startRowIndex": start_row,
        "startColumnIndex": col,
        "endColumnIndex": col + 1,
    }


def _header_cells(
    tpl: Template, sheet_id: int, start_col: int, cols: Sequence[ColumnSpec]
) -> Request:
    style = {
        "staff": tpl.styles.header_staff,
        "both": tpl.styles.header_both,
        "bot": tpl.styles.header_bot,
    }
    values = [
        {
            "userEnteredValue": {"stringValue": col.header},
            "note": col.note,
            "userEnteredFormat": {
                "textFormat": {"bold": True},
                "backgroundColor": _rgb(
                    tpl.styles.header_internal if col.internal else style[col.owner]
                ),
            },
        }
        for col in cols
    ]
    return {
        "updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": start_col},
            "rows": [{"values": values}],
            "fields": "userEnteredValue,note,userEnteredFormat.textFormat.bold,"
            "userEnteredFormat.backgroundColor",
        }
    }


def _column_setup(sheet_id: int, col: ColumnSpec, idx: int) -> list[Request]:
    """TEXT format, validation and width of a newly created column."""
    reqs: list[Request] = []
    if col.text_format:
        reqs.append(text_format_request(sheet_id, idx))
    if col.validation is not None:
        if col.validation.kind == "checkbox":
            rule: dict[str, Any] = {"condition": {"type": "BOOLEAN"}}
        else:
            rule = {
                "condition": {
                    "type": "ONE_OF_LIST",
                    "values": [{"userEnteredValue": v} for v in col.validation.values],
                },
                "showCustomUi": True,
                "strict": col.validation.strict,
                "inputMessage": " / ".join(col.validation.values),
            }
        reqs.append({"setDataValidation": {"range": _data_range(sheet_id, idx), "rule": rule}})
    reqs.append(
        {
            "updateDimensionProperties": {
                "range": {
                    "sheetId": sheet_id,
                    "dimension": "COLUMNS",
                    "startIndex": idx,
                    "endIndex": idx + 1,
                },
                "properties": {"pixelSize": col.width},
                "fields": "pixelSize",
            }
        }
    )
    return reqs


def _protection_tag(tab: TabSpec, col: ColumnSpec | None) -> str:
    return f"{TAG_PREFIX}{tab.key}{'.' + col.key if col else ''}]"


def _protections(
    tpl: Template,
    tab: TabSpec,
    sheet_id: int,
    positions: Mapping[str, int],
    existing: Iterable[Mapping[str, Any]],
) -> list[Request]:
    """Warning-only protection of bot-owned columns (whole tab when the bot owns it all)."""
    if not tab.protect_bot_columns:
        return []
    present = [str(p.get("description", "")) for p in existing]

    def missing(tag: str) -> bool:
        return not any(d.startswith(tag) for d in present)

    wanted: list[tuple[str, str, dict[str, int]]] = []
    if tab.bot_owned:
        wanted.append((_protection_tag(tab, None), tab.title, {"sheetId": sheet_id}))
    else:
        for col in tab.columns:
            idx = positions.get(col.key)
            if col.owner == "bot" and idx is not None:
                grid = {"sheetId": sheet_id, "startColumnIndex": idx, "endColumnIndex": idx + 1}
                wanted.append((_protection_tag(tab, col), f"{tab.title} {col.header}", grid))
    return [
        {
            "addProtectedRange": {
                "protectedRange": {
                    "range": grid,
                    "description": tpl.message("protected_description", tag=tag, what=what),
                    "warningOnly": True,
                }
            }
        }
        for tag, what, grid in wanted
        if missing(tag)
    ]


def _formula(spec: ConditionalFormatSpec, positions: Mapping[str, int]) -> str | None:
    """The rule's formula with ``{key}`` → ``$C2``; None if a column is missing."""
    text = spec.formula
    for key, idx in positions.items():
        text = text.replace("{" + key + "}", f"${column_letter(idx)}2")
    return None if "{" in text else text


def _formula_key(text: str) -> str:
    return "".join(text.split()).upper()


def _conditional_formats(
    tab: TabSpec,
    sheet_id: int,
    positions: Mapping[str, int],
    existing: Sequence[Mapping[str, Any]],
) -> list[Request]:
    """CUSTOM_FORMULA rules of the tab not already present (same formula)."""
    present: set[str] = set()
    for rule in existing:
        for value in rule.get("booleanRule", {}).get("condition", {}).get("values", []) or []:
            present.add(_formula_key(str(value.get("userEnteredValue", ""))))
    reqs: list[Request] = []
    count = len(existing)
    for order, spec in enumerate(tab.conditional_formats):
        formula = _formula(spec, positions)
        idx = positions.get(spec.column)
        if formula is None or idx is None or _formula_key(formula) in present:
            continue
        fmt: dict[str, Any] = {"backgroundColor": _rgb(spec.background)}
        text_format: dict[str, Any] = {}
        if spec.bold:
            text_format["bold"] = True
        if spec.text_color is not None:
            text_format["foregroundColor"] = _rgb(spec.text_color)
        if text_format:
            fmt["textFormat"] = text_format
        reqs.append(
            {
                "addConditionalFormatRule": {
                    "index": min(order, count),
                    "rule": {
                        "ranges": [_data_range(sheet_id, idx)],
                        "booleanRule": {
                            "condition": {
                                "type": "CUSTOM_FORMULA",
                                "values": [{"userEnteredValue": formula}],
                            },
                            "format": fmt,
                        },
                    },
                }
            }
        )
        count += 1
    return reqs


def _seed_cells(
    row: Sequence[Any], tab: TabSpec, positions: Mapping[str, int], version: int
) -> list[dict[str, Any]]:
    """One seed row laid out at the columns' current positions."""
    values: dict[int, Any] = {}
    for col, value in zip(tab.columns, row, strict=False):
        idx = positions.get(col.key)
        if idx is not None:
            values[idx] = value
    if tab.key == "state" and row and row[0] == STATE_SCHEMA_KEY:
        idx = positions.get("value")
        if idx is not None:
            values[idx] = str(version)
    width = max(values, default=-1) + 1
    return [cell_data(values.get(i)) for i in range(width)]


def _seed_validation(
    tpl: Template,
    tab: TabSpec,
    sheet_id: int,
    grid_row: int,
    row: Sequence[Any],
    positions: Mapping[str, int],
) -> list[Request]:
    """An ON/OFF dropdown on a 設定 seed row whose item is a switch."""
    if tab.key != "settings" or not row:
        return []
    found = tpl.setting_lookup.get(header_key(str(row[0])))
    idx = positions.get("value")
    if found is None or idx is None or found[1].kind != "bool":
        return []
    return [
        {
            "setDataValidation": {
                "range": {
                    "sheetId": sheet_id,
                    "startRowIndex": grid_row,
                    "endRowIndex": grid_row + 1,
                    "startColumnIndex": idx,
                    "endColumnIndex": idx + 1,
                },
                "rule": {
                    "condition": {
                        "type": "ONE_OF_LIST",
                        "values": [{"userEnteredValue": "ON"}, {"userEnteredValue": "OFF"}],
                    },
                    "showCustomUi": True,
                    "strict": False,
                },
            }
        }
    ]


def _new_sheet_id(key: str, used: set[int]) -> int:
    """A stable, unused sheetId for a new tab (the API accepts caller-chosen ids)."""
    sid = zlib.crc32(f"zaiko-bot:{key}".encode()) & 0x7FFFFFFF
    while sid == 0 or sid in used:
        sid = (sid + 1) & 0x7FFFFFFF
    used.add(sid)
    return sid


# --------------------------------------------------------------------------- planning


def _plan_new_tab(plan: InitPlan, tpl: Template, tab: TabSpec, sheet_id: int) -> None:
    spare = 5 if any(c.owner != "bot" for c in tab.columns) else 0
    grid: dict[str, int] = {
        "rowCount": max(tab.rows, len(tab.seed_rows) + 1),
        "columnCount": len(tab.columns) + spare,
        "frozenRowCount": tab.frozen_rows,
    }
    if tab.frozen_columns:
        grid["frozenColumnCount"] = tab.frozen_columns
    props: dict[str, Any] = {"sheetId": sheet_id, "title": tab.title, "gridProperties": grid}
    if tab.hidden:
        props["hidden"] = True
    reqs = plan.requests
    reqs.append({"addSheet": {"properties": props}})
    reqs.append(_header_cells(tpl, sheet_id, 0, tab.columns))
    positions = {col.key: i for i, col in enumerate(tab.columns)}
    for i, col in enumerate(tab.columns):
        reqs.extend(_column_setup(sheet_id, col, i))
    if tab.seed_rows:
        rows = [
            {"values": _seed_cells(r, tab, positions, tpl.schema_version)} for r in tab.seed_rows
        ]
        reqs.append(
            {
                "updateCells": {
                    "start": {"sheetId": sheet_id, "rowIndex": 1, "columnIndex": 0},
                    "rows": rows,
                    "fields": "userEnteredValue",
                }
            }
        )
        for n, row in enumerate(tab.seed_rows, start=1):
            reqs.extend(_seed_validation(tpl, tab, sheet_id, n, row, positions))
        if tab.key == "state":
            plan.schema_version = tpl.schema_version
    reqs.extend(_protections(tpl, tab, sheet_id, positions, []))
    reqs.extend(_conditional_formats(tab, sheet_id, positions, []))
    plan.created_tabs.append(tab.title)


def _plan_existing_tab(
    plan: InitPlan,
    tpl: Template,
    tab: TabSpec,
    sheet: Mapping[str, Any],
    header_row: Sequence[Any],
    rows: Sequence[Sequence[Any]] | None,
    untexted: Sequence[int] = (),
) -> None:
    props = sheet.get("properties", {})
    sheet_id = int(props.get("sheetId", 0))
    grid = props.get("gridProperties", {})
    reqs = plan.requests
    hm = header_map(tab, header_row)
    positions = dict(hm.columns)
    new_cols = [c for c in tab.columns if c.key in hm.missing]
    migrated, names = inverted_columns(tpl, tab, sheet_id, hm, rows)
    reqs.extend(migrated)
    plan.migrated.extend(f"{tab.title} {name}" for name in names)
    reqs.extend(_sheet_properties(tab, sheet_id, props))
    reqs.extend(text_format_request(sheet_id, col) for col in untexted)
    if new_cols:
        columns = int(grid.get("columnCount", 0) or 0)
        reqs.extend(_append_columns(tpl, sheet_id, hm.width, columns, new_cols))
        for i, col in enumerate(new_cols):
            positions[col.key] = hm.width + i
        plan.added_headers[tab.title] = [c.header for c in new_cols]
    if rows is not None:
        reqs.extend(_missing_seeds(plan, tpl, tab, sheet_id, positions, rows, new_cols))
    reqs.extend(_protections(tpl, tab, sheet_id, positions, sheet.get("protectedRanges") or []))
    reqs.extend(
        _conditional_formats(tab, sheet_id, positions, sheet.get("conditionalFormats") or [])
    )


def _sheet_properties(tab: TabSpec, sheet_id: int, props: Mapping[str, Any]) -> list[Request]:
    """Freeze the header row again and hide a tab that should be hidden (staff undid it)."""
    reqs: list[Request] = []
    frozen = int(props.get("gridProperties", {}).get("frozenRowCount", 0) or 0)
    if frozen < tab.frozen_rows:
        grid = {"frozenRowCount": tab.frozen_rows}
        reqs.append(
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": grid},
                    "fields": "gridProperties.frozenRowCount",
                }
            }
        )
    if tab.hidden and not props.get("hidden", False):
        reqs.append(
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "hidden": True},
                    "fields": "hidden",
                }
            }
        )
    return reqs


def _append_columns(
    tpl: Template, sheet_id: int, start: int, column_count: int, cols: Sequence[ColumnSpec]
) -> list[Request]:
    """Headers ``cols`` written from column ``start`` on, growing the grid if it is full."""
    reqs: list[Request] = []
    needed = start + len(cols)
    if needed > column_count:
        reqs.append(
            {
                "updateSheetProperties": {
                    "properties": {"sheetId": sheet_id, "gridProperties": {"columnCount": needed}},
                    "fields": "gridProperties.columnCount",
                }
            }
        )
    reqs.append(_header_cells(tpl, sheet_id, start, cols))
    for i, col in enumerate(cols):
        reqs.extend(_column_setup(sheet_id, col, start + i))
    return reqs


def _missing_seeds(
    plan: InitPlan,
    tpl: Template,
    tab: TabSpec,
    sheet_id: int,
    positions: Mapping[str, int],
    rows: Sequence[Sequence[Any]],
    new_cols: Sequence[ColumnSpec],
) -> list[Request]:
    """設定 items and the _state schema_version that an existing tab lacks."""
    if tab.key not in _SEEDED_TABS or any(c.required for c in new_cols):
        # A key column was just added: existing rows cannot be matched; leave them.
        return []
    if tab.key == "settings":
        missing = _missing_settings(tpl, tab, positions, rows)
        if not missing:
            return []
        plan.added_settings.extend(str(seed[0]) for seed in missing)
        return [_append_seeds(tpl, tab, sheet_id, positions, missing)]
    return _state_version(plan, tpl, tab, sheet_id, positions, rows)


def _missing_settings(
    tpl: Template, tab: TabSpec, positions: Mapping[str, int], rows: Sequence[Sequence[Any]]
) -> list[tuple[str | int, ...]]:
    """Seed rows of 設定 whose item no row names yet (in any spelling)."""
    lookup = tpl.setting_lookup
    key_col = positions[tab.columns[0].key]
    have = set()
    for row in rows[1:]:
        found = lookup.get(header_key(cell_text(row[key_col] if key_col < len(row) else None)))
        if found is not None:
            have.add((found[0], found[1].key))
    missing = []
    for seed in tab.seed_rows:
        found = lookup.get(header_key(str(seed[0])))
        if found is not None and (found[0], found[1].key) not in have:
            missing.append(seed)
    return missing


def _append_seeds(
    tpl: Template,
    tab: TabSpec,
    sheet_id: int,
    positions: Mapping[str, int],
    seeds: Sequence[Sequence[Any]],
) -> Request:
    """Seed rows appended below the tab's data, each laid out at the current columns."""
    return {
        "appendCells": {
            "sheetId": sheet_id,
            "rows": [
                {"values": _seed_cells(seed, tab, positions, tpl.schema_version)} for seed in seeds
            ],
            "fields": "userEnteredValue",
        }
    }


def _state_version(
    plan: InitPlan,
    tpl: Template,
    tab: TabSpec,
    sheet_id: int,
    positions: Mapping[str, int],
    rows: Sequence[Sequence[Any]],
) -> list[Request]:
    """_state: keep schema_version equal to the template's (updated in place or appended)."""
    key_col, value_col = positions[tab.columns[0].key], positions["value"]
    version = str(tpl.schema_version)
    for grid_row, row in enumerate(rows[1:], start=1):
        if key_col < len(row) and cell_text(row[key_col]) == STATE_SCHEMA_KEY:
            current = cell_text(row[value_col]) if value_col < len(row) else ""
            if current == version:
                return []
            plan.schema_version = tpl.schema_version
            start = {"sheetId": sheet_id, "rowIndex": grid_row, "columnIndex": value_col}
            return [
                {
                    "updateCells": {
                        "start": start,
                        "rows": [{"values": [cell_data(version)]}],
                        "fields": "userEnteredValue",
                    }
                }
            ]
    plan.schema_version = tpl.schema_version
    return [_append_seeds(tpl, tab, sheet_id, positions, [(STATE_SCHEMA_KEY, version)])]


def _find_sheet(metadata: Mapping[str, Any], title: str) -> Mapping[str, Any] | None:
    want = header_key(title)
    for sheet in metadata.get("sheets") or []:
        if header_key(str(sheet.get("properties", {}).get("title", ""))) == want:
            return dict(sheet)
    return None


def build_init_plan(
    metadata: Mapping[str, Any],
    existing_headers: Mapping[str, Sequence[Any]],
    *,
    existing_rows: Mapping[str, Sequence[Sequence[Any]]] | None = None,
    channels: Sequence[Channel] | None = None,
    untexted: Mapping[str, Sequence[int]] | None = None,
) -> InitPlan:
    """The init requests plus what they change (see :func:`plan_init`).

    ``untexted`` maps tab key → existing columns that should be TEXT and are not in
    every row (read by :func:`init_sheet`); each is formatted again, whole.
    """
    tpl = load_template(channels)
    used = {int(s.get("properties", {}).get("sheetId", 0)) for s in metadata.get("sheets") or []}
    plan = InitPlan()
    for tab in tpl.tabs:
        sheet = _find_sheet(metadata, tab.title)
        if sheet is None:
            _plan_new_tab(plan, tpl, tab, _new_sheet_id(tab.key, used))
            continue
        rows = (existing_rows or {}).get(tab.key)
        header = existing_headers.get(tab.key)
        if header is None:
            header = rows[0] if rows else []
        _plan_existing_tab(plan, tpl, tab, sheet, header, rows, (untexted or {}).get(tab.key, ()))
    return plan


def plan_tabs(
    metadata: Mapping[str, Any], keys: Iterable[str], channels: Sequence[Channel] | None = None
) -> list[Request]:
    """The requests creating the template tabs ``keys`` that ``metadata`` lacks.

    The worker uses it to put back a tab it owns (a log tab, 出品状況, _state) that was
    deleted or renamed while it runs; tabs already there are left alone.
    """
    tpl = load_template(channels)
    used = {int(s.get("properties", {}).get("sheetId", 0)) for s in metadata.get("sheets") or []}
    plan = InitPlan()
    for key in keys:
        tab = tpl.tab(key)
        if _find_sheet(metadata, tab.title) is None:
            _plan_new_tab(plan, tpl, tab, _new_sheet_id(tab.key, used))
    return plan.requests


def plan_init(
    metadata: dict[str, Any],
    existing_headers: Mapping[str, list[Any]],
    *,
    existing_rows: Mapping[str, Sequence[Sequence[Any]]] | None = None,
    channels: Sequence[Channel] | None = None,
) -> list[dict[str, Any]]:
    """The ``:batchUpdate`` requests that bring the spreadsheet up to the template.

    ``metadata`` is ``GET spreadsheets/{id}`` (``sheets[].properties``,
    ``protectedRanges``, ``conditionalFormats``); ``existing_headers`` maps tab key →
    that tab's header row (tabs are found by title). ``existing_rows`` optionally gives
    the full rows of 設定 and _state, so missing seed items and the schema version can
    be added too. ``channels`` are the enabled channels (default: every registered
    one): each gets its code column and 設定 rows. Returns ``[]`` for an up-to-date sheet.
    """
    plan = build_init_plan(
        metadata, existing_headers, existing_rows=existing_rows, channels=channels
    )
    return plan.requests


# --------------------------------------------------------------------------- gspread shell


def init_sheet(
    spreadsheet: gspread.Spreadsheet, channels: Sequence[Channel] | None = None
) -> InitReport:
    """Create or upgrade the tabs of ``spreadsheet``: 3 reads (metadata, values, formats), ≤ 1 write.

    ``channels`` are the enabled channels (default: every registered one). A channel
    not on the sheet yet gets its code column appended after the last used column of
    商品マスタ and its 設定 rows appended; nothing staff made is moved or deleted.
    """
    wanted = registered_channels() if channels is None else tuple(channels)
    tpl = load_template(wanted)
    metadata: dict[str, Any] = dict(spreadsheet.fetch_sheet_metadata())
    ranges: list[str] = []
    keys: list[str] = []
    for tab in tpl.tabs:
        sheet = _find_sheet(metadata, tab.title)
        if sheet is None:
            continue
        props = sheet.get("properties", {})
        grid = props.get("gridProperties", {})
        last = column_letter(max(int(grid.get("columnCount", 1) or 1), 1) - 1)
        bottom = max(int(grid.get("rowCount", 1) or 1), 1) if tab.key in _READ_TABS else 1
        ranges.append(f"{quote_title(str(props.get('title', tab.title)))}!A1:{last}{bottom}")
        keys.append(tab.key)
    headers: dict[str, list[Any]] = {}
    rows: dict[str, list[list[Any]]] = {}
    first = default_tab(metadata, [t.title for t in tpl.tabs])
    ranges += default_tab_range(first)  # read in the same call: removed only when empty
    keys += ["default"] * len(default_tab_range(first))
    if ranges:
        reply = spreadsheet.values_batch_get(ranges, params={"valueRenderOption": "FORMULA"})
        for key, value_range in zip(keys, reply.get("valueRanges", []), strict=False):
            values: list[list[Any]] = value_range.get("values", []) or []
            headers[key] = list(values[0]) if values else []
            if key in (*_READ_TABS, "default"):
                rows[key] = values
    untexted = _untexted_columns(spreadsheet, tpl, metadata, headers)
    plan = build_init_plan(
        metadata, headers, existing_rows=rows, channels=wanted, untexted=untexted
    )
    dropped = removal(first, rows.get("default", [[None]]))
    plan.requests.extend(dropped)  # last: the template's tabs exist by then
    writes = 0
    if plan.requests:
        spreadsheet.batch_update({"requests": plan.requests})
        writes = 1
    return InitReport(
        created_tabs=plan.created_tabs,
        added_headers=plan.added_headers,
        added_settings=plan.added_settings,
        requests=len(plan.requests),
        writes=writes,
        schema_version=plan.schema_version,
        removed_tabs=[first[1]] if dropped and first is not None else [],
        migrated=plan.migrated,
    )


def _untexted_columns(
    spreadsheet: gspread.Spreadsheet,
    tpl: Template,
    metadata: Mapping[str, Any],
    headers: Mapping[str, Sequence[Any]],
) -> dict[str, list[int]]:
    """Existing columns that should be TEXT but are not in every data row (one read).

    Google answers one GridData per requested range, grouped under its sheet in the
    spreadsheet's tab order, so the answers are matched by sheetId, then by order.
    """
    wanted: dict[int, list[tuple[str, int, int]]] = {}
    ranges: list[str] = []
    for tab in tpl.tabs:
        sheet = _find_sheet(metadata, tab.title)
        if sheet is None or tab.key not in headers:
            continue
        props = sheet.get("properties", {})
        rows = int(props.get("gridProperties", {}).get("rowCount", 1) or 1)
        for col in text_columns(tab, header_map(tab, headers[tab.key])) if rows > 1 else []:
            letter = column_letter(col)
            ranges.append(f"{quote_title(str(props.get('title')))}!{letter}2:{letter}{rows}")
            wanted.setdefault(int(props.get("sheetId", 0)), []).append((tab.key, col, rows - 1))
    if not ranges:
        return {}
    reply = spreadsheet.fetch_sheet_metadata(params={"ranges": ranges, "fields": FORMAT_FIELDS})
    out: dict[str, list[int]] = {}
    for sheet in reply.get("sheets") or []:
        asked = wanted.get(int(sheet.get("properties", {}).get("sheetId", 0)), [])
        for (key, col, data_rows), block in zip(asked, sheet.get("data") or [], strict=False):
            if not all_text([block], data_rows):
                out.setdefault(key, []).append(col)
    return out
