"""The sandbox's commands, plugged into the CLI by ``bot/__main__.py``."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import Command


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON summary object")
    parser.add_argument(
        "--export", metavar="FILE.xlsx", help="write the final sheet to an xlsx file"
    )
    parser.add_argument("--quiet", action="store_true", help="no timeline, only the summary")


def _run_demo(args: argparse.Namespace) -> int:
    from bot.sandbox.demo import main as demo_main

    return demo_main(as_json=args.json, export=args.export, quiet=args.quiet)


def _configure_sandbox(parser: argparse.ArgumentParser) -> None:
    from bot.sandbox.server.edit import configure as configure_edit
    from bot.sandbox.server.locate import DEFAULT_DIR

    parser.add_argument(
        "--dir", default=DEFAULT_DIR, help="設定と状態を置くフォルダ（既定 ./sandbox）"
    )
    parser.add_argument(
        "--state", metavar="FILE", help="状態ファイル（既定 フォルダ/state.pickle）"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="待ち受けるポート（既定 8765、0 は空きポート）"
    )
    parser.add_argument(
        "--clock",
        choices=("real", "follow"),
        default="real",
        help="real: 実時間（既定）、follow: リクエストの X-Zaiko-Sandbox-Clock に合わせる（プログラム用）",
    )
    parser.add_argument(
        "--start", metavar="ISO", help="follow の時計の開始時刻（例 2026-11-23T09:00:00+09:00）"
    )
    parser.add_argument(
        "--interval",
        type=int,
        default=15,
        help="連動間隔（秒、5〜3600）。初回の作成時にシートと設定へ書きます",
    )
    parser.add_argument(
        "--malls",
        metavar="KEY,KEY",
        help="模擬するモール（初回のみ。既定はすべて: rakuten,yahoo,…）",
    )
    parser.add_argument(
        "--sheets-quota",
        type=int,
        default=60,
        metavar="N",
        help="シート API の1分あたりの上限（初回のみ。Google と同じ 60。0 で無制限）",
    )
    parser.add_argument(
        "--save-every",
        type=float,
        default=2.0,
        metavar="S",
        help="変更があれば S 秒ごとに状態を保存（既定 2。0 は止めるときだけ）",
    )
    parser.add_argument(
        "--empty",
        action="store_true",
        help="商品なしで作る（初回のみ。プログラムが商品を入れるとき）",
    )
    configure_edit(
        parser.add_subparsers(dest="sandbox_action", metavar="操作").add_parser(
            "edit", help="動いているサンドボックスのシートやモールを操作する"
        )
    )


def _run_sandbox(args: argparse.Namespace) -> int:
    if args.sandbox_action == "edit":
        from bot.sandbox.server.edit import run as run_edit

        return run_edit(args)
    from bot.sandbox.server.main import run_sandbox

    return run_sandbox(
        folder=Path(args.dir),
        state=Path(args.state) if args.state else None,
        port=args.port,
        clock=args.clock,
        start=args.start,
        interval=args.interval,
        channels=args.malls.split(",") if args.malls else None,
        sheets_quota=args.sheets_quota,
        shop=not args.empty,
        save_every=args.save_every,
    )


COMMANDS = (
    Command(
        name="demo",
        help="組み込みデモ: エミュレータと模擬モールで一日の店の動きを再現",
        configure=_configure_demo,
        run=_run_demo,
    ),
    Command(
        name="sandbox",
        help="サンドボックス: シートと模擬モールを 127.0.0.1 の HTTP サーバーとして動かす",
        configure=_configure_sandbox,
        run=_run_sandbox,
    ),
)
