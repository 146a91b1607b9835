"""Typed values coming in: what a cell stores when the values API writes text or numbers.

USER_ENTERED parses like the UI in a ja_JP sheet (numbers with separators, percent and
currency, booleans, ISO-like dates and times stored as serial numbers with an automatic
number format, ``'`` forcing text, ``=`` formulas); RAW stores the JSON scalar as is. The
serial-number helpers are shared with :mod:`bot.sandbox.sheets.number_format`, which
renders such values back out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.sandbox.sheets.model import _EMPTY, JSON, Scalar, _bad, _Cell, _check_length

_NUM_RE = re.compile(
    r"^([+-]?)([¥$€£]?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:[eE]([+-]?[0-9]+))?(%?)$"
)
_DATE_RE = re.compile(
    r"^([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})"
    r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?$"
)
_TIME_RE = re.compile(r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$")
_SERIAL_EPOCH = datetime(1899, 12, 30)


def _num(x: int | float) -> int | float:
    """JSON numbers the way Google writes them: integral values without ``.0``."""
    if isinstance(x, bool):
        raise TypeError("bool is not a number here")
    if isinstance(x, int):
        return x
    if not math.isfinite(x):
        raise _bad(f"Invalid number: {x}")
    if x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def _to_serial(dt: datetime) -> int | float:
    delta = dt - _SERIAL_EPOCH
    return _num(delta.days + delta.seconds / 86400)


def _from_serial(x: float) -> datetime:
    return _SERIAL_EPOCH + timedelta(seconds=round(x * 86400))


def _number_type(fmt: Mapping[str, Any] | None) -> str | None:
    if not fmt:
        return None
    nf = fmt.get("numberFormat")
    if not isinstance(nf, Mapping):
        return None
    kind = nf.get("type")
    return str(kind) if kind else None


def _with_number_format(fmt: Mapping[str, Any] | None, kind: str, pattern: str) -> JSON:
    """The cell's format plus an automatic number format, unless it already has one."""
    out = dict(fmt or {})
    if "numberFormat" not in out:
        out["numberFormat"] = {"type": kind, "pattern": pattern}
    return out


_Entered = tuple[Scalar | None, str | None, Mapping[str, Any] | None]
"""(value, formula, format) a cell stores for typed text."""


def _parse_entered(text: str, fmt: Mapping[str, Any] | None) -> _Entered:
    """What the UI stores when ``text`` is typed (USER_ENTERED): (value, formula, format)."""
    if _number_type(fmt) == "TEXT":
        return text, None, fmt
    if text.startswith("'"):
        return (text[1:] or None), None, fmt
    if text.startswith("=") and len(text) > 1:
        return None, text, fmt
    stripped = text.strip()
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE", None, fmt
    for parse in (_entered_number, _entered_date, _entered_time):
        parsed = parse(stripped, fmt)
        if parsed is not None:
            return parsed
    return text, None, fmt


def _entered_number(stripped: str, fmt: Mapping[str, Any] | None) -> _Entered | None:
    """``1,234``, ``-1.5``, ``10%``, ``¥1,000``, ``1e3``; a format is added as the UI does."""
    m = _NUM_RE.match(stripped)
    if m is None:
        return None
    sign, currency, digits, exp, percent = m.groups()
    number = float(digits.replace(",", "") or "0") * (10 ** int(exp) if exp else 1)
    if sign == "-":
        number = -number
    new_fmt: Mapping[str, Any] | None = fmt
    decimals = len(digits.partition(".")[2])
    tail = "." + "0" * decimals if decimals else ""
    if percent:
        number /= 100
        new_fmt = _with_number_format(fmt, "PERCENT", f"0{tail}%")
    elif currency:
        new_fmt = _with_number_format(fmt, "CURRENCY", f'"{currency}"#,##0{tail}')
    elif "," in digits:
        new_fmt = _with_number_format(fmt, "NUMBER", f"#,##0{tail}")
    return _num(number), None, new_fmt


def _entered_date(stripped: str, fmt: Mapping[str, Any] | None) -> _Entered | None:
    """``2024-05-01`` or ``2024/05/01 9:30[:15]``: a serial number with a DATE(_TIME) format.

    A date-shaped text that is no real date (``2024-02-30``) stays text.
    """
    m = _DATE_RE.match(stripped)
    if m is None:
        return None
    y, sep, mo, d, hh, mi, ss = m.groups()
    try:
        when = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
    except ValueError:
        return None
    if hh is None:
        return _to_serial(when), None, _with_number_format(fmt, "DATE", f"yyyy{sep}mm{sep}dd")
    pattern = f"yyyy{sep}mm{sep}dd hh:mm" + (":ss" if ss else "")
    return _to_serial(when), None, _with_number_format(fmt, "DATE_TIME", pattern)


def _entered_time(stripped: str, fmt: Mapping[str, Any] | None) -> _Entered | None:
    """``9:30`` or ``09:30:15``: a day fraction with a TIME format."""
    m = _TIME_RE.match(stripped)
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60 and int(m.group(3) or 0) < 60:
        seconds = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)
        pattern = "hh:mm" + (":ss" if m.group(3) else "")
        return _num(seconds / 86400), None, _with_number_format(fmt, "TIME", pattern)
    return None


def _raw_scalar(v: Any, where: str) -> Scalar:
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int | float):
        return _num(v)
    raise _bad(f"Invalid value at '{where}' ({type(v).__name__}): {json.dumps(v)[:100]}")


def _with_value(
    base: _Cell, value: Scalar | None, formula: str | None, fmt: Mapping[str, Any] | None
) -> _Cell:
    """``base`` with a new value (and a computed value dropped); hot path, so no replace()."""
    return _Cell(value, formula, fmt, base.note, base.validation, None)


def _entered_cell(old: _Cell | None, v: Any, user_entered: bool, where: str) -> _Cell | None:
    """The cell after a values-API write of ``v`` (``None`` in the input means "skip")."""
    base = old or _EMPTY
    if isinstance(v, str) and v == "":
        return None if old is None else _with_value(base, None, None, base.fmt)
    if isinstance(v, str):
        _check_length(v)
    if user_entered and isinstance(v, str):
        value, formula, fmt = _parse_entered(v, base.fmt)
        return _with_value(base, value, formula, fmt)
    return _with_value(base, _raw_scalar(v, where), None, base.fmt)
