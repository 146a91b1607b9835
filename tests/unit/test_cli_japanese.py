"""Staff-facing command line in Japanese: argparse's own words included."""

from __future__ import annotations

import pytest

from bot import __main__ as entry
from bot import cli
from bot.shell.argparse_ja import translate

ENGLISH = ("usage:", "error:", "the following arguments are required", "options:", "invalid choice")


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    for word in ENGLISH:
        assert word not in err, err
    assert "使い方: python -m bot" in err
    return err


def test_no_command_says_what_is_required_in_japanese(capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails([], capsys)
    assert "python -m bot: エラー: 次の引数を指定してください: コマンド" in err


def test_an_unknown_command_lists_the_real_ones(capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(["reconcile"], capsys)
    assert "'reconcile' はありません" in err and "'init-sheet'" in err


def test_push_without_all_or_sku_says_choose_one(capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(["push"], capsys)
    assert "次のどれか1つを指定してください: --all --sku" in err


def test_push_with_both_says_they_do_not_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(["push", "--all", "--sku", "X"], capsys)
    assert "と一緒には使えません" in err


def test_unknown_arguments_and_missing_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert "知らない引数です: --fast" in _fails(["once", "--fast"], capsys)
    assert "値を1つ指定してください" in _fails(["push", "--sku"], capsys)


def test_help_of_every_staff_command_is_japanese(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for command in ([], ["run"], ["once"], ["check"], ["init-sheet"], ["push"], ["auth"]):
        monkeypatch.setattr("sys.argv", ["bot", *command, "--help"])
        with pytest.raises(SystemExit) as exc:
            entry.main()
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith("使い方: python -m bot"), out
        assert "オプション:" in out and "このヘルプを表示して終了" in out
        for word in ENGLISH:
            assert word not in out, (command, out)


def test_later_commands_are_not_listed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["bot", "--help"])
    with pytest.raises(SystemExit):
        entry.main()
    out = capsys.readouterr().out
    assert "reconcile" not in out and "import" not in out


def test_an_unknown_message_is_left_as_it_is() -> None:
    assert translate("something new in a later Python") == "something new in a later Python"
