"""``python -m bot sandbox edit …``: what staff and customers do, typed at a running sandbox.

A thin client of the control API (:mod:`bot.sandbox.server`): it finds the sandbox
through ``<dir>/server.json`` (or ``--url``) and prints one plain Japanese line per
action, or the table asked for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.sandbox.server.client import ControlClient, Unreachable
from bot.sandbox.server.locate import DEFAULT_DIR, read_server
from bot.shell.argparse_ja import JapaneseHelpFormatter

EXAMPLES = """例 / examples:
  python -m bot sandbox edit order 楽天 TS-WH-M 2        楽天で TS-WH-M が2個売れる
  python -m bot sandbox edit cancel 楽天 <注文番号>       その注文のキャンセル
  python -m bot sandbox edit set TOWEL 在庫数 27         棚卸: 商品マスタの在庫数に 27 と入力
  python -m bot sandbox edit move TS-WH-L 10             入出庫に入荷 +10 の行を追加
  python -m bot sandbox edit stock Yahoo MUG-BL 50       Yahoo の管理画面で在庫を 50 に手入力
  python -m bot sandbox edit show 販売ログ --last 5       タブの最後の5行
  python -m bot sandbox edit malls                       各モールに見えている在庫
"""
MALL_HELP = "楽天・Yahoo・Amazon・Shopify・BASE・カラーミー（キー rakuten なども可）"


class _RawJapaneseFormatter(JapaneseHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Japanese words, the examples kept as written."""


def configure(parser: argparse.ArgumentParser) -> None:
    """The ``edit`` sub-commands (Japanese help, like the production CLI)."""
    parser.epilog = EXAMPLES
    parser.formatter_class = _RawJapaneseFormatter
    # SUPPRESS: ``sandbox --dir X edit …`` keeps X (a sub-parser default would override it).
    parser.add_argument(
        "--dir", default=argparse.SUPPRESS, help="サンドボックスのフォルダ（既定 ./sandbox）"
    )
    parser.add_argument("--url", help="サンドボックスの URL（既定は フォルダ/server.json の値）")
    actions = parser.add_subparsers(dest="edit_action", required=True, metavar="操作")
    cell = actions.add_parser("cell", help="シートのセルに入力する（スタッフが打つのと同じ）")
    cell.add_argument("tab", metavar="タブ", help="例: 商品マスタ")
    cell.add_argument("a1", metavar="セル", help="例: C2")
    cell.add_argument("values", metavar="値", nargs="+", help="右のセルへ続けて入力")
    put = actions.add_parser("set", help="商品マスタの商品の列に入力する")
    put.add_argument("sku", metavar="商品コード")
    put.add_argument("column", metavar="列", help="見出し（例: 在庫数、表示在庫設定）")
    put.add_argument("value", metavar="値")
    move = actions.add_parser("move", help="入出庫タブに1行追加する")
    move.add_argument("sku", metavar="商品コード")
    move.add_argument("quantity", metavar="数量", type=int, help="入荷は +、出庫は -")
    move.add_argument("--kind", default="入荷", help="区分（入荷/返品/店頭販売/破損/その他）")
    move.add_argument("--memo", default="", help="メモ")
    order = actions.add_parser("order", help="モールで注文する（お客様の操作）")
    order.add_argument("mall", metavar="モール", help=MALL_HELP)
    order.add_argument(
        "items", metavar="コード 数量", nargs="+", help="モールのコードか商品コードと数量の組"
    )
    cancel = actions.add_parser("cancel", help="モールの注文をキャンセルする")
    cancel.add_argument("mall", metavar="モール", help=MALL_HELP)
    cancel.add_argument("order", metavar="注文番号")
    stock = actions.add_parser("stock", help="モールの在庫を見る、または管理画面で手入力する")
    stock.add_argument("mall", metavar="モール", help=MALL_HELP)
    stock.add_argument("code", metavar="コード", help="モールのコードか商品コード")
    stock.add_argument("quantity", metavar="数量", type=int, nargs="?")
    show = actions.add_parser("show", help="タブの中身を表示する")
    show.add_argument("tab", metavar="タブ")
    show.add_argument("--last", type=int, default=20, metavar="N", help="最後の N 行（既定 20）")
    actions.add_parser("malls", help="商品ごとの在庫数と各モールの表示在庫")


def find_url(args: argparse.Namespace) -> str:
    """``--url``, else ``<dir>/server.json``'s."""
    if args.url:
        return str(args.url)
    folder = Path(getattr(args, "dir", DEFAULT_DIR))
    server = read_server(folder)
    if server is None:
        raise Unreachable(f"{folder / 'server.json'} がありません")
    return str(server["url"])


def run(args: argparse.Namespace) -> int:
    """Do one edit; 0 when done, 1 when the sandbox refused or is not running."""
    sandbox: ControlClient | None = None
    try:
        sandbox = ControlClient(find_url(args))
        for line in ACTIONS[args.edit_action](sandbox, args):
            print(line)
    except Unreachable as err:
        print(
            f"サンドボックスに接続できません（{err}）。先に `python -m bot sandbox` を起動してください",
            file=sys.stderr,
        )
        return 1
    except RuntimeError as err:
        print(f"できませんでした: {err}", file=sys.stderr)
        return 1
    finally:
        if sandbox is not None:
            sandbox.close()
    return 0


def _cell(sandbox: ControlClient, args: argparse.Namespace) -> list[str]:
    sandbox.call(
        "POST", f"/tabs/{quote(args.tab)}/cells", json={"a1": args.a1, "rows": [args.values]}
    )
    return [f"{args.tab}!{args.a1} に「{' '.join(args.values)}」を入力しました"]


def _set(sandbox: ControlClient, args: argparse.Namespace) -> list[str]:
    done = sandbox.call(
        "POST", f"/products/{quote(args.sku)}", json={"column": args.column, "value": args.value}
    )
    return [
        f"商品マスタ!{done['a1']}（{args.sku} の {args.column}）に「{args.value}」を入力しました"
    ]


def _move(sandbox: ControlClient, args: argparse.Namespace) -> list[str]:
    asked = {"sku": args.sku, "quantity": args.quantity, "kind": args.kind, "memo": args.memo}
    done = sandbox.call("POST", "/movements", json=asked)
    return [
        f"入出庫の {done['row']} 行目に追加しました: {args.sku} {args.quantity:+d}（{args.kind}）"
    ]


def _order(sandbox: ControlClient, args: argparse.Namespace) -> list[str]:
    items = list(args.items)
    if len(items) % 2 or not all(units.isdigit() for units in items[1::2]):
        raise RuntimeError("コードと数量を組にしてください（例: order 楽天 TS-WH-M 2）")
    lines = [[code, int(units)] for code, units in zip(items[::2], items[1::2], strict=True)]
    done = sandbox.call("POST", f"/channels/{quote(args.mall)}/orders", json={"lines": lines})
    bought = "、".join(f"{code} ×{units}" for code, units in done["lines"])
    return [f"{done['label']}で注文しました: 注文番号 {done['order']}（{bought}）"]


def _cancel(sandbox: ControlClient, args: argparse.Namespace) -> list[str]:
    done = sandbox.call("POST", f"/channels/{quote(args.mall)}/orders/{quote(args.order)}/cancel")
    return [f"{done['label']}の注文 {args.order} をキャンセルしました"]


def _stock(sandbox: ControlClient, args: argparse.Namespace) -> list[str]:
    if args.quantity is None:
        shown = sandbox.call(
            "GET", f"/channels/{quote(args.mall)}/stock", params={"code": args.code}
        )
        value = shown["stock"].get(args.code)
        return [f"{shown['label']}の {args.code}: {'出品なし' if value is None else value}"]
    done = sandbox.call(
        "PUT",
        f"/channels/{quote(args.mall)}/stock",
        json={"code": args.code, "quantity": args.quantity},
    )
    return [
        f"{done['label']}の {done['code']} の在庫を {done['stock']} にしました（管理画面での手入力）"
    ]


def _show(sandbox: ControlClient, args: argparse.Namespace) -> list[str]:
    values = sandbox.call("GET", f"/tabs/{quote(args.tab)}")["values"]
    if not values:
        return [f"{args.tab}（空）"]
    rows = values[1:]
    shown = rows[-args.last :] if args.last > 0 else rows
    lines = [
        f"{args.tab}（全{len(rows)}行、最後の{len(shown)}行）",
        " | ".join(map(_text, values[0])),
    ]
    return lines + [" | ".join(map(_text, row)) for row in shown]


def _malls(sandbox: ControlClient, args: argparse.Namespace) -> list[str]:
    table = sandbox.call("GET", "/malls")
    labels = table["channels"]
    lines = ["商品コード      在庫数  " + "  ".join(labels.values())]
    for product in table["products"]:
        shown = []
        for key in labels:
            stock = product["channels"][key]["stock"]
            shown.append(f"{'-' if stock is None else stock:>{len(labels[key])}}")
        lines.append(
            f"{_text(product['sku']):<14} {_text(product['stock']):>6}  " + "  ".join(shown)
        )
    return lines


def _text(value: Any) -> str:
    return "" if value is None else str(value)


ACTIONS = {
    "cell": _cell,
    "set": _set,
    "move": _move,
    "order": _order,
    "cancel": _cancel,
    "stock": _stock,
    "show": _show,
    "malls": _malls,
}
