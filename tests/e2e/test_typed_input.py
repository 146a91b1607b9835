"""Staff input as Google stores it: 表示在庫設定 typed as the guide shows it (issue 7 item 5).

The sheet emulator stores what staff type the way Google does for the cell's number
format, so these cycles see what production sees: ``+20`` stays ``+20`` only because
the template makes the column TEXT (and the bot keeps it TEXT on rows added later).
"""

from __future__ import annotations

from bot.core.domain import AlertKind
from tests.e2e.conftest import MASTER, Shop


def _strip_text_format(shop: Shop, header: str) -> None:
    """The column lost its TEXT format (an older sheet, or staff changed it)."""
    col = shop.grid(MASTER)[0].index(header)
    sheet_id = int(shop.emu.sheet_properties(shop.sid, MASTER)["sheetId"])
    shop.emu.client().open_by_key(shop.sid).batch_update(
        {
            "requests": [
                {
                    "repeatCell": {
                        "range": {
                            "sheetId": sheet_id,
                            "startRowIndex": 1,
                            "startColumnIndex": col,
                            "endColumnIndex": col + 1,
                        },
                        "cell": {"userEnteredFormat": {}},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            ]
        }
    )


def test_plus_rule_typed_as_the_guide_shows_it(shop: Shop) -> None:
    shop.type("TS-M", "表示在庫設定", "+20")
    assert shop.product("TS-M")["表示在庫設定"] == "+20"
    shop.run_until_quiet()
    assert shop.live("tshirt:m") == 10 + 20
    assert shop.status("TS-M") == "OK"


def test_minus_zero_typed_is_not_a_cap_of_zero(shop: Shop) -> None:
    shop.type("TS-L", "表示在庫設定", "-0")
    shop.run_until_quiet()
    assert shop.product("TS-L")["表示在庫設定"] == "-0"
    assert shop.live("tshirt:l") == 8
    assert shop.status("TS-L") == "OK"


def test_a_number_where_the_format_was_lost_is_the_cap_and_staff_are_told(shop: Shop) -> None:
    _strip_text_format(shop, "表示在庫設定")
    shop.type("TS-M", "表示在庫設定", "+3")  # Google stores the number 3
    assert shop.product("TS-M")["表示在庫設定"] == 3
    shop.run_until_quiet()
    assert shop.live("tshirt:m") == 3  # the cap: fewer units shown, never more
    assert "最大3" in shop.status("TS-M") and "+3" in shop.status("TS-M")
    problems = [a for a in shop.alerts_of(AlertKind.ROW_PROBLEM) if "最大3" in a.title]
    assert len(problems) == 1
    assert sum("最大3" in str(r.get("内容")) for r in shop.errors()) == 1
    shop.run_until_quiet()
    assert len([a for a in shop.alerts_of(AlertKind.ROW_PROBLEM) if "最大3" in a.title]) == 1
    # Retyped as text (a leading ' forces text, as GUIDE §4 says): the guess is gone.
    shop.type("TS-M", "表示在庫設定", "'+3")
    shop.run_until_quiet()
    assert shop.live("tshirt:m") == 13
    assert shop.status("TS-M") == "OK"


def test_rows_added_past_the_template_keep_codes_and_rules_as_typed(shop: Shop) -> None:
    rows = int(shop.emu.sheet_properties(shop.sid, MASTER)["gridProperties"]["rowCount"])
    shop.emu.append_rows(shop.sid, MASTER, 300)  # "add rows at the bottom": no format
    shop.cycle()  # the read sees the taller grid; the commit formats the columns again
    row = rows + 200
    header = shop.grid(MASTER)[0]
    line: list[object] = [None] * len(header)
    line[header.index("商品コード")] = "00123"
    line[header.index("在庫数")] = 4
    line[header.index("表示在庫設定")] = "+2"
    line[header.index("楽天コード")] = "00123:a"
    shop.emu.set_values(shop.sid, MASTER, f"A{row}", [line])
    shop.sim.add_item("00123", "a", 0)
    shop.run_until_quiet()
    got = shop.grid(MASTER)[row - 1]
    assert got[header.index("商品コード")] == "00123"
    assert got[header.index("表示在庫設定")] == "+2"
    assert shop.live("00123:a") == 6
