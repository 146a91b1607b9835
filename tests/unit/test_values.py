"""bot.infra.sheet.values.same_row: rows compared as they read on the sheet."""

from __future__ import annotations

from bot.infra.sheet.values import same_row


def test_rows_read_the_same_with_trailing_blanks_and_number_forms_alike() -> None:
    assert same_row(["A", 9, ""], ["A", 9.0])
    assert same_row(["A", None], ["A"])
    assert same_row([], [None, ""])
    assert not same_row(["A", 9], ["A", 8])
    assert not same_row(["A"], ["A", "x"])
