"""GUIDE.md §10 lists every message the bot writes for staff, with what to do.

Every sentence in template.json ``messages`` and in words.json's engine / shell / sheet
sections is either shown in §10's tables (its longest fixed part must be there, so a
reworded message fails until the guide follows) or named below with why it is not a
message staff act on. A new key fails this test until it is one or the other.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.core import words

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "sheets_template" / "GUIDE.md").read_text(encoding="utf-8")
MESSAGES: dict[str, str] = json.loads(
    (ROOT / "sheets_template" / "template.json").read_text(encoding="utf-8")
)["messages"]

IN_GUIDE = [
    # 商品マスタ
    "not_a_number", "formula_number", "formula_text", "not_integer", "negative",
    "stock_plus_sign", "blank_value", "blank_key", "duplicate_key", "duplicate_code",
    "bad_code", "rule_number", "bad_checkbox", "header_missing",
    "header_duplicate", "tab_missing",
    # 状態
    "engine.status_ok", "engine.status_set", "engine.set_stock_ignored",
    "engine.status_backorder", "engine.status_oversell", "engine.status_invalid",
    # セット構成・入出庫
    "engine.set_sku_missing", "engine.set_component_missing", "engine.set_self_reference",
    "set_self", "engine.set_cycle", "set_duplicate", "qty_min_one", "qty_nonzero",
    "engine.movement_sku_missing", "engine.movement_edited",
    # 設定
    "setting_unknown", "setting_bad", "setting_duplicate",
    # tabs
    "sheet.staff_tab_missing", "sheet.bot_tab_recreated", "sheet.tabs_missing",
    "sheet.open_failed",
    # stock and malls (Slack, エラーログ)
    "engine.oversell_title", "engine.oversell_movement_title",
    "engine.oversell_resolved_title", "engine.out_of_stock_title", "engine.low_stock_title",
    "engine.backorder_title", "engine.unassigned_title", "engine.push_rejected_title",
    "engine.push_unknown_code_text", "engine.push_resolved_title", "engine.drift_title",
    "engine.shortfall_title", "shell.mall_auth_failed", "shell.credential_expiring",
    "shell.mall_down", "shell.mall_recovered", "shell.sheet_down", "shell.sheet_recovered",
    "shell.sheet_busy", "shell.push_failed", "shell.push_bulk_result", "shell.push_bulk_detail",
]  # fmt: skip

IN_SECTION_12 = [
    "sheet.reason_rule", "sheet.reason_allocation", "engine.stopped_product",
    "engine.stopped_shop", "engine.stopped_mall", "engine.stopped_tab",
]  # fmt: skip

NOT_MESSAGES = {
    # wrappers: they only put a tab, a cell or "エラー: " around a message above
    "cell_in_tab": "wrapper",
    "bad_rule": "wrapper of DisplayRule.parse's sentence (§10: 表示在庫設定『多め』…)", "engine.set_cell_problem": "wrapper",
    "engine.movement_row_problem": "wrapper", "engine.movement_error": "wrapper",
    "sheet.movement_error": "wrapper", "engine.status_error": "wrapper",
    "engine.problem_in_tab": "wrapper", "engine.error_action": "wrapper",
    "engine.product_name": "wrapper", "sheet.reason_stopped": "wrapper (§12)",
    "sheet.reason_stopped_unknown": "never written: every stop names its reason",
    # the 対応 under a title above (Slack body, エラーログ → part)
    "engine.backorder_text": "action", "engine.oversell_text": "action",
    "engine.oversell_movement_text": "action", "engine.out_of_stock_text": "action",
    "engine.low_stock_text": "action", "engine.unassigned_text": "action",
    "engine.drift_text": "action", "engine.shortfall_text": "action",
    "engine.row_problem_text": "action", "shell.credential_expiring_text": "action",
    "sheet.missing_movements": "action (part of staff_tab_missing)",
    "sheet.missing_sets_kept": "action (part of staff_tab_missing)",
    "sheet.missing_sets_held": "action (part of staff_tab_missing)",
    "sheet.missing_settings_kept": "action (part of staff_tab_missing)",
    "sheet.missing_settings_held": "action (part of staff_tab_missing)",
    # log cells and labels, not problems
    "engine.op_field_stock": "操作ログ", "engine.op_stocktake": "操作ログ",
    "engine.op_stocktake_memo": "操作ログ", "engine.op_set_stock_ignored": "操作ログ",
    "engine.op_set_stock_ignored_memo": "操作ログ", "engine.op_movement": "操作ログ",
    "engine.op_movement_other": "操作ログ", "engine.op_movement_set_memo": "操作ログ",
    "engine.op_shortfall": "操作ログ", "engine.op_field_listing": "操作ログ",
    "engine.shortfall_memo": "操作ログ", "engine.push_applied": "結果 (§12)",
    "engine.push_accepted": "結果 (§12)", "engine.push_unknown_code": "結果 (§12)",
    "engine.push_pending": "結果 (§12)",
    "engine.push_skipped": "結果 (§12)", "engine.push_error": "結果 (§12)",
    "engine.drift_result": "モール更新ログ", "engine.drift_detail": "モール更新ログ",
    "shell.sheet_where": "発生箇所", "shell.push_where": "発生箇所",
    "sheet.tab_gone": "log line", "sheet.bot_tab_recreated_detail": "詳細 (engineers)",
    "shell.summary_title": "daily summary", "shell.summary_orders": "daily summary",
    "shell.summary_by_mall": "daily summary", "shell.summary_conditions": "daily summary",
    "shell.summary_malls": "daily summary", "shell.state_ok": "daily summary",
    "shell.state_down": "daily summary", "shell.state_parked": "daily summary",
    "sheet.setting_fetch_orders": "設定 説明", "sheet.setting_push_stock": "設定 説明",
    "sheet.setting_default_rule": "設定 説明",
    "protected_description": "protected-range label",
    "init_created": "init-sheet output", "init_headers": "init-sheet output",
    "init_settings": "init-sheet output", "init_other": "init-sheet output",
    "init_migrated": "init-sheet output", "init_nothing": "init-sheet output",
    "init_schema": "init-sheet output",
    # lines a command prints for whoever deploys it (each says what to fix in itself)
    "shell.sheet_failed": "command line", "shell.start_failed": "command line",
    "sheet.key_broken": "command line", "sheet.key_refused": "command line",
    "sheet.not_shared": "command line", "sheet.not_found": "command line",
    "sheet.unreachable": "command line", "sheet.init_removed_default": "init-sheet output",
    # the 設定 tab's status block: labels, not problems
    "shell.status_expiry": "status block", "sheet.status_title": "status block",
    "sheet.status_last_sync": "status block", "sheet.status_expiry": "status block",
    "sheet.status_none": "status block", "sheet.status_ok": "status block",
    "sheet.status_down": "status block", "sheet.status_parked": "status block",
    "sheet.status_since": "status block",
}  # fmt: skip


def section(number: int) -> str:
    """The text of GUIDE.md's ``## <number>.`` section."""
    match = re.search(rf"^## {number}\. .*?(?=^## \d+\. |\Z)", GUIDE, re.S | re.M)
    assert match, f"GUIDE.md has no section {number}"
    return match.group(0)


def sentence(key: str) -> str:
    return words.text(key) if "." in key else MESSAGES[key]


def fixed_part(key: str) -> str:
    """The longest part of a message that does not depend on the row (placeholders cut)."""
    parts = [p.strip(" :") for p in re.split(r"\{[a-z_]+\}", sentence(key))]
    return max(parts, key=len)


def all_keys() -> list[str]:
    staff = [k for k in words.all_keys() if k.split(".")[0] in ("engine", "shell", "sheet")]
    return [*MESSAGES, *staff]


@pytest.mark.parametrize("key", IN_GUIDE)
def test_every_message_is_in_the_fix_table(key: str) -> None:
    part = fixed_part(key)
    assert len(part) >= 2, key
    assert part in section(10), f"GUIDE.md §10 lacks {key}: {part!r}"


@pytest.mark.parametrize("key", IN_SECTION_12)
def test_every_listing_reason_is_explained(key: str) -> None:
    assert fixed_part(key) in section(12), key


def test_every_key_is_in_the_guide_or_named_as_no_message() -> None:
    placed = set(IN_GUIDE) | set(IN_SECTION_12) | set(NOT_MESSAGES)
    missing = [k for k in all_keys() if k not in placed]
    assert not missing, f"add to GUIDE.md §10 (and IN_GUIDE) or to NOT_MESSAGES: {missing}"
    stale = sorted(placed - set(all_keys()))
    assert not stale, f"keys that no longer exist: {stale}"


def test_every_row_of_the_fix_table_says_what_to_do() -> None:
    rows = [line for line in section(10).splitlines() if line.startswith("| `")]
    assert len(rows) >= len(IN_GUIDE)
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert len(cells) == 3 and all(cells), row
