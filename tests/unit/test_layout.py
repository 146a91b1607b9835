"""layout.py: the template as typed specs, and raw sheet values → Snapshot (§3)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters import ADAPTERS
from adapters.base import Channel
from adapters.rakuten import RAKUTEN, RakutenAdapter
from bot.core.domain import DisplayRule, MallSettings, ShopSettings
from bot.infra.sheet import layout
from bot.infra.sheet.layout import (
    a1,
    column_letter,
    default_header_map,
    header_map,
    load_template,
    parse_jst,
    parse_sheet,
    quote_title,
)


def channel(key: str, label: str, *aliases: str) -> Channel:
    """A channel declared by the test (only 楽天 is registered)."""
    return Channel(
        key=key,
        label=label,
        name=f"{label}ショップ",
        aliases=aliases,
        code_note=f"{label}のコード。",
        auth_hint="",
    )


RAKUTEN_CANONICAL = RakutenAdapter.canonical_code
CHANNELS = (
    RAKUTEN,
    channel("yahoo", "Yahoo", "Yahoo!", "Yahoo!ショッピング", "ヤフー"),
    channel("amazon", "Amazon", "アマゾン"),
    channel("shopify", "Shopify", "ショッピファイ"),
    channel("base", "BASE", "ベイス"),
    channel("colorme", "カラーミー", "カラーミーショップ", "ColorMe"),
)
"""Six channels, so parsing across several malls is tested before they are built."""
TPL = load_template(CHANNELS)
PRODUCTS = TPL.tab("products")
HEAD = [c.header for c in PRODUCTS.columns]
ALL_MALLS = ("rakuten", "yahoo", "amazon", "shopify")


def prow(**cells: Any) -> list[Any]:
    """A 商品マスタ row in template column order, trailing blanks trimmed like the API."""
    keys = [c.key for c in PRODUCTS.columns]
    row: list[Any] = [cells.pop(k, "") for k in keys]
    assert not cells, f"unknown keys {cells}"
    while row and row[-1] == "":
        row.pop()
    return row


def products(*rows: list[Any], head: list[Any] | None = None) -> dict[str, list[list[Any]]]:
    return {"products": [head or HEAD, *rows]}


def parse(values: dict[str, list[list[Any]]], **kw: Any) -> layout.SheetRead:
    kw.setdefault("malls", ALL_MALLS)
    kw.setdefault("channels", CHANNELS)
    return parse_sheet(values, **kw)


def messages(read: layout.SheetRead) -> list[str]:
    return [p.message for p in read.snapshot.problems]


# --------------------------------------------------------------------------- template


def test_template_tabs_in_architecture_order() -> None:
    assert [t.title for t in TPL.tabs] == [
        "商品マスタ",
        "セット構成",
        "入出庫",
        "設定",
        "出品状況",
        "操作ログ",
        "販売ログ",
        "モール更新ログ",
        "エラーログ",
        "_state",
    ]
    assert TPL.tab("state").hidden
    assert all(t.frozen_rows == 1 for t in TPL.tabs)


SHOP_WIDE_HEAD = [
    "商品コード",
    "商品名",
    "在庫数",
    "表示在庫設定",
    "在庫下限",
    "配分しきい値",
    "連動停止",
    "在庫切れ時注文受付",
    "状態",
]


def test_products_headers_exactly_as_contract() -> None:
    # 状態 on the first screen, before the code columns: one per registered channel,
    # in registry order.
    head = [c.header for c in load_template().tab("products").columns]
    codes = [a.channel.code_header for a in ADAPTERS.values()]
    assert head == [*SHOP_WIDE_HEAD, *codes, "最終更新"]
    # One code column per channel passed in, in their order.
    assert [c.header for c in PRODUCTS.columns] == [
        *SHOP_WIDE_HEAD,
        "楽天コード",
        "Yahooコード",
        "Amazonコード",
        "Shopifyコード",
        "BASEコード",
        "カラーミーコード",
        "最終更新",
    ]
    malls = {c.header: c.mall for c in PRODUCTS.columns if c.mall}
    assert malls == {
        "楽天コード": "rakuten",
        "Yahooコード": "yahoo",
        "Amazonコード": "amazon",
        "Shopifyコード": "shopify",
        "BASEコード": "base",
        "カラーミーコード": "colorme",
    }
    assert all(c.text_format for c in PRODUCTS.columns if c.mall)
    assert {c.key for c in PRODUCTS.columns if c.owner == "bot"} == {"status", "updated_at"}


def test_code_column_comes_from_the_channel_declaration() -> None:
    col = load_template([RAKUTEN]).tab("products").column("code_rakuten")
    assert col.header == RAKUTEN.code_header == "楽天コード"
    assert (col.type, col.mall, col.owner, col.required) == ("codes", "rakuten", "staff", True)
    assert col.text_format and col.width == RAKUTEN.code_width
    assert col.note == RAKUTEN.code_note


def test_template_file_holds_only_shop_wide_parts() -> None:
    base = layout.base_template()
    assert base.malls == ()
    assert [c.header for c in base.tab("products").columns] == [*SHOP_WIDE_HEAD, "最終更新"]
    assert [r[0] for r in base.tab("settings").seed_rows] == [
        "在庫連動",
        "連動間隔(秒)",
        "キャンセル時在庫戻し",
        "既定の在庫下限",
        "残数配分",
        "使い方ガイド",
    ]
    assert [i.label for i in base.settings.mall_items] == ["注文取込み", "在庫更新", "表示在庫設定"]


def test_template_for_no_channels_has_no_code_column_or_mall_rows() -> None:
    tpl = load_template(())
    assert not any(c.mall for c in tpl.tab("products").columns)
    assert len(tpl.tab("settings").seed_rows) == 6


def test_every_column_has_a_japanese_note_and_unique_keys() -> None:
    for tab in TPL.tabs:
        keys = [c.key for c in tab.columns]
        assert len(keys) == len(set(keys)), tab.key
        headers = [c.header for c in tab.columns]
        assert len(headers) == len(set(headers)), tab.key
        for col in tab.columns:
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", col.note), (tab.key, col.key)


def test_validations_and_retention() -> None:
    assert PRODUCTS.column("stop_sync").validation.kind == "checkbox"  # type: ignore[union-attr]
    assert PRODUCTS.column("backorder").validation.kind == "checkbox"  # type: ignore[union-attr]
    assert TPL.tab("listings").column("resend").validation.kind == "checkbox"  # type: ignore[union-attr]
    kind = TPL.tab("movements").column("kind").validation
    assert kind is not None and kind.values == ("入荷", "返品", "店頭販売", "破損", "その他")
    sales = TPL.tab("sales_log").retention
    assert sales is not None and (sales.min_days or 0) >= 60
    for key in ("ops_log", "mall_log", "error_log"):
        assert TPL.tab(key).retention is not None


def test_state_seed_is_schema_version() -> None:
    assert TPL.tab("state").seed_rows == (("schema_version", str(TPL.schema_version)),)
    assert [c.header for c in TPL.tab("state").columns] == ["キー", "値"]


def test_settings_seed_rows_parse_to_defaults_without_problems() -> None:
    tab = TPL.tab("settings")
    grid = [[c.header for c in tab.columns], *[list(r) for r in tab.seed_rows]]
    read = parse({"products": [HEAD], "settings": grid})
    assert messages(read) == []
    assert read.snapshot.settings.sync_enabled is True
    assert read.snapshot.settings.interval_seconds == 15
    assert read.snapshot.settings.restock_on_cancel is True
    assert read.snapshot.settings.default_low_stock is None
    assert read.snapshot.settings.allocation == "auto"
    assert set(read.snapshot.settings.malls) == {c.key for c in CHANNELS}
    items = [r[0] for r in tab.seed_rows]
    for mall in ("楽天", "Yahoo", "Amazon", "Shopify", "BASE", "カラーミー"):
        for what in ("注文取込み", "在庫更新", "表示在庫設定"):
            assert f"{mall} {what}" in items


def test_settings_seed_rows_of_a_channel_are_described_by_its_name() -> None:
    rows = {r[0]: r for r in load_template([RAKUTEN]).tab("settings").seed_rows}
    assert rows["楽天 注文取込み"] == (
        "楽天 注文取込み",
        "ON",
        "楽天市場の注文を取り込んで在庫数を減らす。",
    )
    assert rows["楽天 在庫更新"] == ("楽天 在庫更新", "ON", "楽天市場の在庫数を更新する。")
    assert rows["楽天 表示在庫設定"][1] == ""
    assert rows["楽天 表示在庫設定"][2].startswith("楽天市場に見せる数の調整")


def test_every_message_key_used_in_code_exists() -> None:
    package = Path(layout.__file__).parent
    source = "\n".join(p.read_text(encoding="utf-8") for p in package.glob("*.py"))
    used = set(re.findall(r'msg\(\s*"(\w+)"', source)) | set(
        re.findall(r'message\(\s*"(\w+)"', source)
    )
    assert used and used <= set(TPL.messages)


def test_template_is_cached() -> None:
    assert load_template() is load_template()
    assert load_template(CHANNELS) is load_template(list(CHANNELS))
    assert load_template([RAKUTEN]) is not load_template(CHANNELS)


# --------------------------------------------------------------------------- A1 helpers


@pytest.mark.parametrize(
    ("col", "letters"),
    [(0, "A"), (2, "C"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")],
)
def test_column_letter(col: int, letters: str) -> None:
    assert column_letter(col) == letters


def test_a1_and_quote_title() -> None:
    assert a1(11, 2) == "C12"
    assert a1(0, 0) == "A1"
    assert quote_title("商品マスタ") == "'商品マスタ'"
    assert quote_title("Bob's") == "'Bob''s'"
    with pytest.raises(ValueError):
        column_letter(-1)


# --------------------------------------------------------------------------- header map


def test_header_map_reordered_extra_and_nfkc_headers() -> None:
    head = [
        "メモ(自分用)",
        "在庫数",
        "Ａｍａｚｏｎ　コード",
        " 商品コード ",
        "",
        "連動",
        "表示在庫設定",
        "楽天コード",
        "Yahooコード",
        "Shopifyコード",
    ]
    hm = header_map(PRODUCTS, head, malls=ALL_MALLS)
    assert hm.col("sku") == 3
    assert hm.col("stock") == 1
    assert hm.col("code_amazon") == 2
    assert hm.letter("sku") == "D"
    assert hm.col("name") is None
    assert hm.missing_required == []
    assert hm.ok
    assert "name" in hm.missing and "status" in hm.missing
    assert hm.width == len(head)
    with pytest.raises(KeyError):
        hm.letter("name")


def test_header_map_missing_required_respects_enabled_malls() -> None:
    head = [h for h in HEAD if h not in ("在庫数", "BASEコード", "Shopifyコード")]
    assert header_map(PRODUCTS, head, malls=ALL_MALLS).missing_required == [
        "在庫数",
        "Shopifyコード",
    ]
    assert header_map(PRODUCTS, head).missing_required == ["在庫数", "Shopifyコード", "BASEコード"]


def test_header_map_duplicates_and_trailing_blanks() -> None:
    hm = header_map(PRODUCTS, [*HEAD, "在庫数", "", None])
    assert hm.duplicates == ["在庫数"]
    assert hm.col("stock") == 2
    assert not hm.ok
    assert hm.width == len(HEAD) + 1


def test_default_header_map() -> None:
    hm = default_header_map(TPL.tab("sales_log"))
    assert hm.col("at") == 0 and hm.width == len(TPL.tab("sales_log").columns)


# --------------------------------------------------------------------------- products


def test_valid_product_row() -> None:
    read = parse(
        products(
            prow(
                sku="A-1",
                name="Tシャツ",
                stock=12,
                rule="+2",
                low_stock=3,
                alloc_threshold="",
                stop_sync=False,
                backorder=False,
                code_rakuten="tshirt:red",
                code_amazon="AMZ-1",
                status="OK",
            )
        )
    )
    p = read.snapshot.products["A-1"]
    assert p.name == "Tシャツ" and p.stock == 12
    assert p.rule == DisplayRule(kind="plus", n=2)
    assert p.low_stock == 3 and p.alloc_threshold is None
    assert p.sync and not p.backorder
    assert p.codes == {"rakuten": ("tshirt:red",), "amazon": ("AMZ-1",)}
    assert p.row == 2
    assert read.product_rows == {"A-1": 1}
    assert read.rows_of("A-1") == (1,) and read.status_at(1) == "OK"
    assert read.snapshot.problems == () and read.snapshot.invalid_skus == frozenset()


@pytest.mark.parametrize(
    ("raw", "stock"),
    [
        (12, 12),
        (12.0, 12),
        ("12", 12),
        ("１２", 12),
        (" 7 ", 7),
        ("1,234", 1234),
        ("3.0", 3),
        (0, 0),
    ],
)
def test_stock_values_accepted(raw: Any, stock: int) -> None:
    read = parse(products(prow(sku="X", stock=raw)))
    assert messages(read) == []
    assert read.snapshot.products["X"].stock == stock


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "C2: 在庫数『abc』は数字ではありません（数字だけを入力してください）"),
        ("=B2*2", "C2: 在庫数に数式は使えません（数値を直接入力してください）"),
        (1.5, "C2: 在庫数『1.5』は整数で入力してください"),
        ("1.5", "C2: 在庫数『1.5』は整数で入力してください"),
        ("１．５", "C2: 在庫数『1.5』は整数で入力してください"),
        (
            -3,
            "C2: 在庫数にマイナス（-3）は入力できません（数えた数を 0 以上で入力してください。減らすときは入出庫タブへ）",
        ),
        (
            "-3",
            "C2: 在庫数にマイナス（-3）は入力できません（数えた数を 0 以上で入力してください。減らすときは入出庫タブへ）",
        ),
        (
            "−3",
            "C2: 在庫数にマイナス（-3）は入力できません（数えた数を 0 以上で入力してください。減らすときは入出庫タブへ）",
        ),
        ("", "C2: 在庫数が空欄です（入力してください。在庫数なら 0 でも構いません）"),
        (True, "C2: 在庫数『TRUE』は数字ではありません（数字だけを入力してください）"),
        ("+5", "C2: 在庫数『+5』は数だけで入力してください（増やす・減らすときは入出庫タブへ）"),
    ],
)
def test_stock_problems(raw: Any, message: str) -> None:
    read = parse(products(prow(sku="X", name="n", stock=raw), prow(sku="OK", stock=1)))
    assert messages(read) == [message]
    problem = read.snapshot.problems[0]
    assert (problem.tab, problem.row, problem.sku, problem.column) == ("products", 2, "X", "stock")
    assert "X" not in read.snapshot.products and "X" in read.snapshot.invalid_skus
    assert "OK" in read.snapshot.products
    assert read.product_rows["X"] == 1  # still located, so its 状態 can be written


def test_message_names_the_real_cell_when_columns_move() -> None:
    head = [
        "商品コード",
        "メモ",
        "メモ2",
        "表示在庫設定",
        "連動",
        "楽天コード",
        "Yahooコード",
        "Amazonコード",
        "Shopifyコード",
        "在庫数",
    ]
    rows = [head] + [["S" + str(i), "", "", "", "", "", "", "", "", i] for i in range(10)]
    rows.append(["BAD", "", "", "", "", "", "", "", "", "abc"])
    read = parse({"products": rows})
    assert messages(read) == [
        "J12: 在庫数『abc』は数字ではありません（数字だけを入力してください）"
    ]


def test_negative_stock_written_by_the_bot_is_valid() -> None:
    values = products(prow(sku="X", stock=-2), prow(sku="Y", stock=-2))
    read = parse(values, bot_stock={"X": -2, "Y": -1})
    assert read.snapshot.products["X"].stock == -2
    assert messages(read) == [
        "C3: 在庫数にマイナス（-2）は入力できません（数えた数を 0 以上で入力してください。減らすときは入出庫タブへ）"
    ]


def test_set_row_stock_is_the_bots_business() -> None:
    values = products(
        prow(sku="SET", stock="abc"), prow(sku="SET2", stock=-1), prow(sku="C", stock=6)
    )
    values["sets"] = [
        ["セット商品コード", "構成商品コード", "数量"],
        ["SET", "C", 6],
        ["SET2", "C", 2],
    ]
    read = parse(values)
    assert messages(read) == []
    assert read.snapshot.products["SET"].stock == 0
    assert read.snapshot.products["SET2"].stock == -1


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("low_stock", "", None),
        ("low_stock", "３", 3),
        ("low_stock", 0, 0),
        ("alloc_threshold", 5, 5),
        ("alloc_threshold", "0", 0),
    ],
)
def test_non_negative_ints(key: str, raw: Any, expected: int | None) -> None:
    read = parse(products(prow(sku="X", stock=1, **{key: raw})))
    assert messages(read) == []
    assert getattr(read.snapshot.products["X"], key) == expected


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        (
            "low_stock",
            -1,
            "E2: 在庫下限にマイナス（-1）は入力できません（数えた数を 0 以上で入力してください。減らすときは入出庫タブへ）",
        ),
        (
            "low_stock",
            "少し",
            "E2: 在庫下限『少し』は数字ではありません（数字だけを入力してください）",
        ),
        ("alloc_threshold", 2.5, "F2: 配分しきい値『2.5』は整数で入力してください"),
        (
            "alloc_threshold",
            "=1",
            "F2: 配分しきい値に数式は使えません（数値を直接入力してください）",
        ),
    ],
)
def test_non_negative_int_problems(key: str, raw: Any, message: str) -> None:
    read = parse(products(prow(sku="X", stock=1, **{key: raw})))
    assert messages(read) == [message]
    assert read.snapshot.invalid_skus == {"X"}


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", None),
        ("+5", DisplayRule(kind="plus", n=5)),
        ("＋５", DisplayRule(kind="plus", n=5)),
        ("-2", DisplayRule(kind="minus", n=2)),
        (-2, DisplayRule(kind="minus", n=2)),
        ("3", DisplayRule(kind="cap", n=3)),
        ("-0", DisplayRule(kind="minus", n=0)),
        ("00", DisplayRule(kind="cap", n=0)),
    ],
)
def test_display_rule(raw: Any, rule: DisplayRule | None) -> None:
    read = parse(products(prow(sku="X", stock=1, rule=raw)))
    assert messages(read) == []
    assert read.snapshot.products["X"].rule == rule


@pytest.mark.parametrize(("raw", "n"), [(-2, 2), (-2.0, 2)])
def test_display_rule_negative_number_is_minus(raw: Any, n: int) -> None:
    """Only ``-N`` stores a negative number: it is read as -N, without a question."""
    read = parse(products(prow(sku="X", stock=1, rule=raw)))
    assert messages(read) == []
    assert read.snapshot.products["X"].rule == DisplayRule(kind="minus", n=n)


@pytest.mark.parametrize("raw", [3, 3.0, 20, 0])
def test_display_rule_number_is_the_cap_and_staff_are_told(raw: Any) -> None:
    """A number may have been typed as ``N`` or as ``+N`` (``-0`` too becomes 0): the bot
    takes the cap, which shows fewer units, keeps the row syncing and says so."""
    read = parse(products(prow(sku="X", stock=1, rule=raw)))
    n = int(raw)
    assert read.snapshot.products["X"].rule == DisplayRule(kind="cap", n=n)
    assert "X" not in read.snapshot.invalid_skus
    assert messages(read) == [TPL.message("rule_number", cell="D2", header="表示在庫設定", value=n)]


def test_display_rule_decimal_number_is_a_problem() -> None:
    read = parse(products(prow(sku="X", stock=1, rule=2.5)))
    assert read.snapshot.invalid_skus == {"X"}
    assert messages(read) == [
        "D2: 表示在庫設定『2.5』は 空欄 / +数 / -数 / 数 のどれかで入力してください"
    ]


def test_display_rule_problem() -> None:
    read = parse(products(prow(sku="X", stock=1, rule="多め")))
    assert messages(read) == [
        "D2: 表示在庫設定『多め』は 空欄 / +数 / -数 / 数 のどれかで入力してください"
    ]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (True, True),
        (False, False),
        ("TRUE", True),
        ("FALSE", False),
        ("true", True),
        ("✓", True),
        ("ON", True),
        ("ｏｎ", True),
        ("はい", True),
        ("OFF", False),
        ("いいえ", False),
        ("", None),
    ],
)
def test_checkboxes(raw: Any, value: bool | None) -> None:
    read = parse(products(prow(sku="X", stock=1, stop_sync=raw, backorder=raw)))
    assert messages(read) == []
    p = read.snapshot.products["X"]
    assert p.sync is (True if value is None else not value)  # blank 連動停止 = syncs
    assert p.backorder is (False if value is None else value)  # blank 受付 = OFF


def test_checkbox_problem() -> None:
    read = parse(products(prow(sku="X", stock=1, stop_sync="たぶん")))
    assert messages(read) == ["G2: 連動停止『たぶん』はチェック（TRUE / FALSE）で入力してください"]


@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        ("a,b", ("a", "b")),
        ("a、b", ("a", "b")),
        ("a，b", ("a", "b")),
        (" a , a ,, ", ("a",)),
        ("a\nb", ("a", "b")),
        (123, ("123",)),
        ("ＡＢＣ－１", ("ABC-1",)),
    ],
)
def test_code_cells(raw: Any, codes: tuple[str, ...]) -> None:
    read = parse(products(prow(sku="X", stock=1, code_yahoo=raw)))
    assert messages(read) == []
    assert read.snapshot.products["X"].codes == {"yahoo": codes}


def test_codes_canonicalised_and_only_enabled_malls_kept() -> None:
    def rakuten(code: str) -> str:
        manage, _, variant = code.partition(":")
        if not variant:
            raise ValueError("商品管理番号:SKU管理番号 の形で書いてください")
        return f"{manage.lower()}:{variant}"

    read = parse(
        products(
            prow(
                sku="X", stock=1, code_rakuten="TShirt:Red-M", code_amazon="A1", code_base="=junk"
            ),
            prow(sku="Y", stock=1, code_rakuten="nocolon"),
        ),
        malls=("rakuten", "yahoo", "amazon", "shopify"),
        canonical={"rakuten": rakuten},
    )
    assert read.snapshot.products["X"].codes == {"rakuten": ("tshirt:Red-M",), "amazon": ("A1",)}
    # RAKUTEN declares its own code check; it speaks before the canonicaliser.
    assert messages(read) == [
        "J3: 楽天コード『nocolon』は使えません（「商品管理番号:SKU管理番号」の形で、"
        "「:」のあとに SKU管理番号 を書いてください（例 tshirt-01:red-m））"
    ]


@pytest.mark.parametrize(
    ("typed", "shown", "reason"),
    [
        ("tshirt", "tshirt", "「:」のあとに SKU管理番号 を書いて"),
        ("tshirt:red:m", "tshirt:red:m", "「:」が 2 個あります"),
        ("tshirt:red;mug:blue", "tshirt:red;mug:blue", "「;」はコードの区切りに使えません"),
        ("tshirt:red／mug:blue", "tshirt:red/mug:blue", "スラッシュ"),
        ("tshirt:red\u3000mug:blue", "tshirt:red mug:blue", "スペース"),
        ("tshirt：ＲＥＤ;", "tshirt:RED;", "「;」"),
    ],
)
def test_a_malformed_rakuten_code_is_a_row_problem_when_the_sheet_is_read(
    typed: str, shown: str, reason: str
) -> None:
    read = parse(
        products(
            prow(sku="X", stock=1, code_rakuten=typed),
            prow(sku="Y", stock=1, code_rakuten="mug:blue, tshirt：Red-M\nsoap:normal-inventory"),
        ),
        canonical={"rakuten": RAKUTEN_CANONICAL},
    )
    [problem] = read.snapshot.problems
    assert (problem.row, problem.sku, problem.column) == (2, "X", "code_rakuten")
    assert problem.message.startswith(f"J2: 楽天コード『{shown}』は使えません（")
    assert reason in problem.message
    assert read.snapshot.invalid_skus == {"X"}
    assert read.snapshot.products["Y"].codes == {
        "rakuten": ("mug:blue", "tshirt:Red-M", "soap:normal-inventory")
    }


def test_codes_are_only_checked_where_the_channel_is_wired() -> None:
    """Without the adapter's canonicaliser (sheet-layer reads) codes are plain text."""
    read = parse(products(prow(sku="X", stock=1, code_rakuten="nocolon")))
    assert messages(read) == []


def test_code_formula_is_a_problem() -> None:
    read = parse(products(prow(sku="X", stock=1, code_amazon='=IMPORTXML("x")')))
    assert messages(read) == ["L2: Amazonコードに数式は使えません（値を直接入力してください）"]


def test_duplicate_sku_flags_both_rows() -> None:
    read = parse(products(prow(sku="X", stock=1), prow(sku="Y", stock=1), prow(sku="Ｘ", stock=2)))
    assert (
        messages(read)
        == [
            "A2, A4: 商品コード『X』が重複しています（どちらかを変えるか 1 行にまとめてください。両方の行が止まっています）"
        ]
        * 2
    )
    assert [p.row for p in read.snapshot.problems] == [2, 4]
    assert set(read.snapshot.products) == {"Y"}
    assert read.snapshot.invalid_skus == {"X"}
    assert "X" not in read.product_rows
    assert read.rows_of("X") == (1, 3)


def test_same_mall_code_on_two_products_flags_both() -> None:
    read = parse(
        products(
            prow(sku="X", stock=1, code_amazon="A1,A2"), prow(sku="Y", stock=1, code_amazon="A2")
        )
    )
    msg = "L2, L3: Amazonコード『A2』が複数の商品で使われています（X, Y。正しい商品の行だけに残してください）"
    assert messages(read) == [msg, msg]
    assert read.snapshot.products == {}
    assert read.snapshot.invalid_skus == {"X", "Y"}


def test_same_code_on_disabled_mall_is_ignored() -> None:
    read = parse(
        products(prow(sku="X", stock=1, code_base="B1"), prow(sku="Y", stock=1, code_base="B1"))
    )
    assert messages(read) == []


def test_blank_sku_with_data_and_blank_rows() -> None:
    read = parse(
        products(
            prow(sku="X", stock=1),
            [],
            prow(status="古い状態"),
            prow(name="名前だけ", stock=3),
            ["", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        )
    )
    assert messages(read) == [
        "A5: 商品コードが空欄の行にデータがあります（商品コードを書くか、その行の中身を消してください）"
    ]
    assert read.snapshot.problems[0].row == 5
    assert set(read.snapshot.products) == {"X"}
    assert [read.status_at(row) for row in range(7)] == ["", "", "", "古い状態", "", "", ""]


def test_ragged_rows_and_staff_columns_ignored() -> None:
    head = [*HEAD, "仕入先", "メモ"]
    read = parse(
        products(
            ["X", "n", 3],
            ["Y", "", 2, "", "", "", "", "", "", "", "", "", "", "", "", "", "問屋", "=A1"],
            head=head,
        )
    )
    assert messages(read) == []
    assert read.snapshot.products["X"].stock == 3
    assert read.snapshot.products["X"].sync is True
    assert read.snapshot.products["Y"].codes == {}


def test_several_problems_on_one_row_are_all_reported() -> None:
    read = parse(products(prow(sku="X", stock="x", rule="?", stop_sync="?")))
    assert [p.column for p in read.snapshot.problems] == ["stock", "rule", "stop_sync"]


def test_missing_required_header_stops_products() -> None:
    head = [h for h in HEAD if h != "在庫数"]
    read = parse({"products": [head, ["X", "n"]]})
    assert read.snapshot.products == {}
    assert read.snapshot.broken_tabs == {"products"}
    assert messages(read) == [
        "商品マスタ: 見出し『在庫数』が見つかりません（名前を変えた・消した可能性があります。見出しを元の名前に戻してください）"
    ]
    assert read.snapshot.problems[0].row == 1


def test_two_missing_headers_one_problem() -> None:
    head = [h for h in HEAD if h not in ("在庫数", "連動停止")]
    read = parse({"products": [head]})
    assert messages(read) == [
        "商品マスタ: 見出し『在庫数』『連動停止』が見つかりません（名前を変えた・消した可能性があります。見出しを元の名前に戻してください）"
    ]


def test_missing_column_of_a_disabled_mall_is_fine() -> None:
    head = [h for h in HEAD if h not in ("BASEコード", "カラーミーコード", "Shopifyコード")]
    read = parse({"products": [head, ["X", "", 1]]}, malls=("rakuten", "yahoo", "amazon"))
    assert read.snapshot.broken_tabs == frozenset()
    assert "X" in read.snapshot.products


def test_duplicated_required_header_stops_products() -> None:
    read = parse({"products": [[*HEAD, "在庫数"], prow(sku="X", stock=1)]})
    assert read.snapshot.broken_tabs == {"products"}
    assert messages(read) == [
        "商品マスタ: 見出し『在庫数』が複数の列にあります（1つにしてください）"
    ]


def test_missing_products_tab() -> None:
    read = parse({})
    assert read.snapshot.broken_tabs == {"products"}
    assert len(read.snapshot.problems) == 1
    assert "商品マスタ" in read.snapshot.problems[0].message


def test_empty_products_tab_is_broken() -> None:
    read = parse({"products": []})
    assert read.snapshot.broken_tabs == {"products"}


def test_unknown_tab_key_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        parse({"products": [HEAD], "nope": []})


def test_raw_values_kept_for_partial_reread() -> None:
    values = products(prow(sku="X", stock=1))
    read = parse(values)
    assert read.raw["products"] == values["products"]
    assert read.raw["products"] is values["products"]  # shared, not copied (never changed)


# --------------------------------------------------------------------------- sets

SET_HEAD = ["セット商品コード", "構成商品コード", "数量"]


def test_sets_parsed() -> None:
    read = parse(
        {
            "products": [HEAD],
            "sets": [SET_HEAD, ["CASE6", "C", "６"], ["KIT", "A", 1], [], ["KIT", "B", 2.0]],
        }
    )
    assert [(s.set_sku, s.component_sku, s.qty, s.row) for s in read.snapshot.sets] == [
        ("CASE6", "C", 6, 2),
        ("KIT", "A", 1, 3),
        ("KIT", "B", 2, 5),
    ]
    assert messages(read) == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["KIT", "A", 0], "セット構成 C2: 数量『0』は 1 以上の整数で入力してください"),
        (["KIT", "A", -1], "セット構成 C2: 数量『-1』は 1 以上の整数で入力してください"),
        (
            ["KIT", "A", "x"],
            "セット構成 C2: 数量『x』は数字ではありません（数字だけを入力してください）",
        ),
        (["KIT", "A", 1.5], "セット構成 C2: 数量『1.5』は整数で入力してください"),
        (
            ["KIT", "A"],
            "セット構成 C2: 数量が空欄です（入力してください。在庫数なら 0 でも構いません）",
        ),
        (
            ["KIT", "", 1],
            "セット構成 B2: 構成商品コードが空欄です（入力してください。在庫数なら 0 でも構いません）",
        ),
        (
            ["KIT", "KIT", 1],
            "セット構成 B2: 構成商品コードがセット商品コードと同じです（KIT。構成商品コードを直してください）",
        ),
    ],
)
def test_set_problems_invalidate_the_set(row: list[Any], message: str) -> None:
    values = products(prow(sku="KIT", stock=0), prow(sku="A", stock=5))
    values["sets"] = [SET_HEAD, row, ["KIT", "B", 1]]
    read = parse(values)
    assert messages(read) == [message]
    assert read.snapshot.problems[0].sku == "KIT"
    assert read.snapshot.problems[0].tab == "sets"
    assert read.snapshot.sets == ()
    assert "KIT" in read.snapshot.invalid_skus and "KIT" not in read.snapshot.products
    assert "A" in read.snapshot.products


def test_set_blank_set_code_and_duplicates() -> None:
    values = {
        "products": [HEAD],
        "sets": [SET_HEAD, ["", "A", 1], ["KIT", "A", 1], ["KIT", "A", 2]],
    }
    read = parse(values)
    assert messages(read) == [
        "セット構成 A2: セット商品コードが空欄の行にデータがあります（セット商品コードを書くか、その行の中身を消してください）",
        "セット構成 B3, B4: セット『KIT』の構成商品『A』が重複しています（1行にまとめてください）",
        "セット構成 B3, B4: セット『KIT』の構成商品『A』が重複しています（1行にまとめてください）",
    ]
    assert read.snapshot.invalid_skus == {"KIT"}


def test_sets_missing_header_breaks_sets_only() -> None:
    read = parse(
        {"products": [HEAD, prow(sku="X", stock=1)], "sets": [["セット商品コード", "数量"]]}
    )
    assert read.snapshot.broken_tabs == {"sets"}
    assert messages(read) == [
        "セット構成: 見出し『構成商品コード』が見つかりません（名前を変えた・消した可能性があります。見出しを元の名前に戻してください）"
    ]
    assert "X" in read.snapshot.products


# --------------------------------------------------------------------------- movements

MOV_HEAD = ["日時", "商品コード", "数量", "区分", "メモ", "反映"]


def movements(*rows: list[Any]) -> dict[str, list[list[Any]]]:
    return {"products": [HEAD], "movements": [MOV_HEAD, *rows]}


def test_movements_parsed_and_done_rows_skipped() -> None:
    read = parse(
        movements(
            ["2026-11-23 10:00", "A", 5, "入荷", "初回"],
            ["2026-11-23 11:00", "B", "-２", "破損", "", "済 2026-11-23 11:00:15"],
            [46349.5, "C", "+3", "返品"],
        )
    )
    got = [(m.sku, m.qty, m.kind, m.memo, m.at, m.row) for m in read.snapshot.movements]
    assert got == [
        ("A", 5, "入荷", "初回", "2026-11-23 10:00", 2),
        ("C", 3, "返品", "", "2026-11-23 12:00:00", 4),
    ]
    assert messages(read) == []
    assert sorted(read.movement_rows.values()) == [1, 3]


def test_movement_keys_are_stable_and_identical_rows_distinct() -> None:
    row = ["2026-11-23", "A", 1, "店頭販売", ""]
    first = parse(movements(list(row), list(row), ["x", "B", 1]))
    keys = [m.key for m in first.snapshot.movements]
    assert len(set(keys)) == 3
    # The first identical row is marked 済: the second keeps its key.
    second = parse(movements([*row, "済"], list(row), ["x", "B", 1]))
    assert [m.key for m in second.snapshot.movements] == keys[1:]
    # Inserting an unrelated row above does not change keys either.
    third = parse(movements(["new", "Z", 9], list(row), list(row), ["x", "B", 1]))
    assert [m.key for m in third.snapshot.movements][1:] == keys
    assert third.movement_rows[keys[0]] == 2


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            ["d", "A", 0],
            "入出庫 C2: 数量は 0 以外の整数で入力してください（入荷 5、破損 -2 のように）",
        ),
        (
            ["d", "A", ""],
            "入出庫 C2: 数量は 0 以外の整数で入力してください（入荷 5、破損 -2 のように）",
        ),
        (
            ["d", "A", "たくさん"],
            "入出庫 C2: 数量『たくさん』は数字ではありません（数字だけを入力してください）",
        ),
        (["d", "A", 1.5], "入出庫 C2: 数量『1.5』は整数で入力してください"),
        (["d", "A", "=1+1"], "入出庫 C2: 数量に数式は使えません（数値を直接入力してください）"),
        (
            ["d", "", 3],
            "入出庫 B2: 商品コードが空欄の行にデータがあります（商品コードを書くか、その行の中身を消してください）",
        ),
    ],
)
def test_movement_problems(row: list[Any], message: str) -> None:
    read = parse(movements(row, ["d", "B", 2]))
    assert messages(read) == [message]
    assert [m.sku for m in read.snapshot.movements] == ["B"]
    (key,) = read.movement_problems
    assert read.movement_problems[key].message == message
    assert read.movement_rows[key] == 1


def test_movement_mark_text_kept_for_pending_rows() -> None:
    read = parse(movements(["d", "A", 0, "", "", "エラー: 数量"]))
    (key,) = read.movement_problems
    assert read.movement_marks == {key: "エラー: 数量"}
    assert read.movement_mark_at(1) == "エラー: 数量"


def test_unknown_product_in_movement_is_left_to_the_engine() -> None:
    read = parse(movements(["d", "NOPE", 1]))
    assert [m.sku for m in read.snapshot.movements] == ["NOPE"]
    assert messages(read) == []


# --------------------------------------------------------------------------- settings

SET_TAB_HEAD = ["項目", "値", "説明"]


def settings(*rows: list[Any]) -> ShopSettings:
    return parse({"products": [HEAD], "settings": [SET_TAB_HEAD, *rows]}).snapshot.settings


def test_settings_values() -> None:
    s = settings(
        ["在庫連動", "OFF"],
        ["連動間隔（秒）", "３０"],
        ["キャンセル時在庫戻し", False],
        ["既定の在庫下限", 4],
        ["残数配分", "OFF"],
        ["楽天 在庫更新", "OFF"],
        ["楽天 注文取込み", "✓"],
        ["Yahoo! 表示在庫設定", "-1"],
        ["amazon 表示在庫設定", 5],
        ["カラーミー 在庫更新", "OFF"],
        ["", "説明だけの行"],
    )
    assert s.sync_enabled is False
    assert s.interval_seconds == 30
    assert s.restock_on_cancel is False
    assert s.default_low_stock == 4
    assert s.allocation == "off"
    assert s.mall("rakuten") == MallSettings(fetch_orders=True, push_stock=False)
    assert s.mall("yahoo").default_rule == DisplayRule(kind="minus", n=1)
    assert s.mall("amazon").default_rule == DisplayRule(kind="cap", n=5)
    assert s.mall("colorme").push_stock is False
    assert s.mall("shopify") == MallSettings()


@pytest.mark.parametrize(
    ("raw", "value"), [("自動", "auto"), ("AUTO", "auto"), ("3", 3), (0, 0), ("", "auto")]
)
def test_allocation_setting(raw: Any, value: Any) -> None:
    assert settings(["残数配分", raw]).allocation == value


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            ["連動間隔(秒)", "abc"],
            "設定 B2: 連動間隔(秒)の値『abc』は 5〜3600 の整数 で入力してください（いまは既定値「15」で動きます）",
        ),
        (
            ["連動間隔(秒)", 1],
            "設定 B2: 連動間隔(秒)の値『1』は 5〜3600 の整数 で入力してください（いまは既定値「15」で動きます）",
        ),
        (
            ["在庫連動", "たぶん"],
            "設定 B2: 在庫連動の値『たぶん』は ON か OFF で入力してください（いまは既定値「ON」で動きます）",
        ),
        (
            ["既定の在庫下限", -1],
            "設定 B2: 既定の在庫下限の値『-1』は 0 以上の整数か空欄 で入力してください（いまは既定値「空欄」で動きます）",
        ),
        (
            ["在庫連携", "OFF"],
            "設定 A2: 項目『在庫連携』は分かりません（ガイドの一覧にある名前で書いてください）",
        ),
    ],
)
def test_setting_problems_fall_back_to_default(row: list[Any], message: str) -> None:
    read = parse({"products": [HEAD], "settings": [SET_TAB_HEAD, row]})
    assert messages(read) == [message]
    assert read.snapshot.settings == ShopSettings()
    assert read.snapshot.problems[0].tab == "settings"


def test_duplicate_setting_uses_the_first() -> None:
    read = parse(
        {"products": [HEAD], "settings": [SET_TAB_HEAD, ["在庫連動", "OFF"], ["在庫連動", "ON"]]}
    )
    assert read.snapshot.settings.sync_enabled is False
    assert messages(read) == [
        "設定 A2, A3: 項目『在庫連動』が複数の行にあります（いちばん上の行を使います。不要な行を消してください）"
    ]


# --------------------------------------------------------------------------- listings, state


def test_listings_resend_and_rows() -> None:
    head = [c.header for c in TPL.tab("listings").columns]
    read = parse(
        {
            "products": [HEAD],
            "listings": [
                head,
                ["rakuten", "a:b", "A", 3, "rule", "", "", True],
                ["楽天", "c:d", "C", 0, "rule", "", "", False],
                ["amazon", "SKU1", "A", 1, "", "", "", "TRUE"],
                ["ラクマ", "x"],
            ],
        }
    )
    assert read.snapshot.resend == {("rakuten", "a:b"), ("amazon", "SKU1")}
    assert read.listing_rows == {
        ("rakuten", "a:b"): 1,
        ("rakuten", "c:d"): 2,
        ("amazon", "SKU1"): 3,
    }


def test_state() -> None:
    read = parse(
        {
            "products": [HEAD],
            "state": [
                ["キー", "値"],
                ["schema_version", "1"],
                ["cursor:rakuten", "2026-11-23T00:00:00+09:00"],
                [],
                ["n", 5],
            ],
        }
    )
    assert read.state == {
        "schema_version": "1",
        "cursor:rakuten": "2026-11-23T00:00:00+09:00",
        "n": "5",
    }
    assert read.state_rows == {"schema_version": 1, "cursor:rakuten": 2, "n": 4}


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23 14:05:09",
        "2026/11/23 14:05:09",
        "2026-11-23T14:05:09+09:00",
        "2026-11-23T05:05:09+00:00",
    ],
)
def test_parse_jst(text: str) -> None:
    when = parse_jst(text)
    assert when is not None
    assert when.utcoffset() is not None
    assert when.isoformat().startswith(("2026-11-23T14:05:09", "2026-11-23T05:05:09"))
    assert when.timestamp() == parse_jst("2026-11-23 14:05:09").timestamp()  # type: ignore[union-attr]


def test_parse_jst_blank_and_garbage() -> None:
    assert parse_jst("") is None
    assert parse_jst("きのう") is None


@given(
    st.one_of(
        st.integers(-(2**40), 2**40),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["", "5", "-２", "+3", "1,000", "=1+1", "たくさん", " 7 ", "0"]),
    )
)
def test_a_movements_quantity_reads_as_the_readers_int_cell_reads_it(raw: Any) -> None:
    """Whole numbers are taken as they are, anything else through ``Reader.int_cell``."""
    from bot.infra.sheet.reader import Bad, Reader

    reader, cell, header = Reader(layout.load_template()), "入出庫 C2", "数量"
    try:
        expected: Any = reader.int_cell(raw, cell, header)
        if not expected:
            expected = reader.msg("qty_nonzero", cell=cell, header=header)
    except Bad as bad:
        expected = bad.message

    read = parse(movements(["d", "A", raw]))

    got = [m.qty for m in read.snapshot.movements] or messages(read)
    assert got == [expected]
