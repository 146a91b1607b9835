"""bot.infra.sheet.values.same_row: rows compared as they read on the sheet."""

from __future__ import annotations

from bot.infra.sheet.values import date_of, dates_of, same_row


def test_rows_read_the_same_with_trailing_blanks_and_number_forms_alike() -> None:
    assert same_row(["A", 9, ""], ["A", 9.0])
    assert same_row(["A", None], ["A"])
    assert same_row([], [None, ""])
    assert not same_row(["A", 9], ["A", 8])
    assert not same_row(["A"], ["A", "x"])


def test_dates_of_shares_one_datetime_per_run_of_equal_values() -> None:
    values = ["2026-11-23 09:00:00", "2026-11-23 09:00:00", "", 46349.5, 46349.5, True, 1]
    dates = dates_of(values)
    assert dates == [date_of(v) for v in values]
    assert dates[0] is dates[1] and dates[3] is dates[4]
    assert dates[2] is None


def test_dates_of_tells_values_of_other_types_apart() -> None:
    # 1 == True == 1.0 in Python; a cell's type decides how it reads, so each is its own.
    assert dates_of([1, 1.0]) == [date_of(1), date_of(1.0)]
    assert dates_of([True, 1]) == [date_of(True), date_of(1)]
