"""Typed values going out: rendering a cell for FORMATTED_VALUE, UNFORMATTED_VALUE, FORMULA.

Number formatting is a small subset of Google's (``#,##0.00``, percent, currency prefixes,
scientific, date and time patterns): enough for FORMATTED_VALUE reads to look like the
real thing, so the production reader is tested against the strings staff actually see.
Formulas are never evaluated: a formula cell renders the value a test set with
``SheetsEmulator.set_computed``, else its formula text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.sandbox.sheets.model import Scalar, _Cell
from bot.sandbox.sheets.store import Slot, _Styles
from bot.sandbox.sheets.typed_values import _from_serial, _number_type

_DEFAULT_PATTERNS = {
    "NUMBER": "#,##0.00",
    "PERCENT": "0.00%",
    "CURRENCY": '"¥"#,##0',
    "SCIENTIFIC": "0.00E+00",
    "DATE": "yyyy/mm/dd",
    "TIME": "h:mm:ss",
    "DATE_TIME": "yyyy/mm/dd h:mm:ss",
}
_DT_TOKEN = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|.',
    re.IGNORECASE,
)
_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _general(x: int | float) -> str:
    """Google's "automatic" number display, simplified."""
    if isinstance(x, int):
        return str(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if abs(x) >= 1e15 or abs(x) < 1e-9:
        return f"{x:.2E}"
    return f"{x:.10g}"


def _literal(text: str) -> str:
    out = re.sub(r'"([^"]*)"', r"\1", text)
    out = re.sub(r"\\(.)", r"\1", out)
    return re.sub(r"[_*].", "", out)


def _format_serial(x: float, pattern: str) -> str:
    when = _from_serial(x)
    tokens = _DT_TOKEN.findall(pattern)
    low = [t.lower() for t in tokens]
    twelve = any(t in ("am/pm", "a/p") for t in low)
    out: list[str] = []
    for i, t in enumerate(low):
        if t in ("m", "mm"):
            part: str | None = _month_or_minute(low, i, when)
        else:
            part = _date_part(t, when)
            if part is None:
                part = _time_part(t, when, twelve)
        out.append(_literal(tokens[i]) if part is None else part)
    return "".join(out)


def _month_or_minute(low: Sequence[str], i: int, when: datetime) -> str:
    """``m``/``mm`` is minutes next to an hour or seconds token, else the month."""
    t = low[i]
    before = next((p for p in reversed(low[:i]) if p[0] in "hdys"), "")
    after = next((p for p in low[i + 1 :] if p[0] in "hdys"), "")
    minute = before.startswith("h") or after.startswith("s")
    n = when.minute if minute else when.month
    return f"{n:02d}" if t == "mm" else str(n)


def _date_part(t: str, when: datetime) -> str | None:
    """A year, month-name, weekday or day token; None for anything else."""
    if t == "yyyy":
        return f"{when.year:04d}"
    if t == "yy":
        return f"{when.year % 100:02d}"
    if t == "mmmm":
        return _MONTHS[when.month - 1]
    if t == "mmm":
        return _MONTHS[when.month - 1][:3]
    if t == "dddd":
        return _DAYS[when.weekday()]
    if t == "ddd":
        return _DAYS[when.weekday()][:3]
    if t in ("d", "dd"):
        return f"{when.day:02d}" if t == "dd" else str(when.day)
    return None


def _time_part(t: str, when: datetime, twelve: bool) -> str | None:
    """An hour, second or AM/PM token; None for anything else."""
    if t in ("h", "hh"):
        hour = (when.hour % 12 or 12) if twelve else when.hour
        return f"{hour:02d}" if t == "hh" else str(hour)
    if t in ("s", "ss"):
        return f"{when.second:02d}" if t == "ss" else str(when.second)
    if t in ("am/pm", "a/p"):
        pm = when.hour >= 12
        return ("PM" if pm else "AM") if t == "am/pm" else ("P" if pm else "A")
    return None


def _format_pattern(x: float, pattern: str) -> str:
    sections = pattern.split(";")
    section = sections[0]
    sign = "-" if x < 0 else ""
    if x < 0 and len(sections) > 1 and sections[1]:
        section, sign = sections[1], ""
    section = re.sub(r"\[\$([^\]\-]*)(?:-[^\]]*)?\]", r'"\1"', section)
    section = re.sub(r"\[[^\]]*\]", "", section)
    unquoted = re.sub(r'"[^"]*"', "", section)
    m = re.search(r"[#0?,]*[#0?](?:\.[#0?]*)?|\.[#0?]+", unquoted)
    if m is None:
        return _literal(section)
    # Locate the same core in the section with quotes (quoted text never holds # or 0s
    # in the patterns we write, so the first match is the same one).
    core_at = section.find(m.group())
    prefix, core, suffix = section[:core_at], m.group(), section[core_at + len(m.group()) :]
    value = abs(x)
    if "%" in re.sub(r'"[^"]*"', "", prefix + suffix):
        value *= 100
    int_part, _, frac_part = core.partition(".")
    sci = re.match(r"[eE]([+-])(0+)", suffix)
    if sci:
        digits = len(frac_part)
        mantissa, _, exponent = f"{value:.{digits}E}".partition("E")
        exp_sign = "-" if int(exponent) < 0 else "+"
        text = f"{mantissa}E{exp_sign}{abs(int(exponent)):0{len(sci.group(2))}d}"
        return sign + _literal(prefix) + text + _literal(suffix[sci.end() :])
    max_dec = len(frac_part)
    min_dec = frac_part.count("0")
    text = f"{value:.{max_dec}f}"
    whole, _, frac = text.partition(".")
    while len(frac) > min_dec and frac.endswith("0"):
        frac = frac[:-1]
    min_int = int_part.replace(",", "").count("0")
    whole = whole.lstrip("0").rjust(min_int, "0")
    if "," in int_part and whole:
        whole = f"{int(whole):,}".rjust(min_int, "0")
    if float(text) == 0:
        sign = ""
    number = whole + ("." + frac if frac else "")
    return sign + _literal(prefix) + number + _literal(suffix)


def _format_number(x: int | float, fmt: Mapping[str, Any] | None) -> str:
    nf = fmt.get("numberFormat") if fmt else None
    if not isinstance(nf, Mapping):
        return _general(x)
    kind = str(nf.get("type") or "NUMBER")
    pattern = str(nf.get("pattern") or _DEFAULT_PATTERNS.get(kind, ""))
    if kind == "TEXT" or not pattern:
        return _general(x)
    try:
        if kind in ("DATE", "TIME", "DATE_TIME"):
            return _format_serial(x, pattern)
        return _format_pattern(x, pattern)
    except (ValueError, OverflowError):
        return _general(x)


def _is_datetime_format(fmt: Mapping[str, Any] | None) -> bool:
    return _number_type(fmt) in ("DATE", "TIME", "DATE_TIME")


def _render_scalar(v: Scalar, fmt: Mapping[str, Any] | None, render: str, dt_string: bool) -> Any:
    if isinstance(v, bool):
        return ("TRUE" if v else "FALSE") if render == "FORMATTED_VALUE" else v
    if isinstance(v, int | float):
        if render == "FORMATTED_VALUE" or (dt_string and _is_datetime_format(fmt)):
            return _format_number(v, fmt)
        return v
    return v


def _render(cell: _Cell, render: str, dt_string: bool) -> Any:
    if cell.formula is not None:
        if render == "FORMULA" or cell.computed is None:
            return cell.formula
        return _render_scalar(cell.computed, cell.fmt, render, dt_string)
    if cell.value is None:
        return ""
    return _render_scalar(cell.value, cell.fmt, render, dt_string)


def _render_slot(slot: Slot, render: str, dt_string: bool, styles: _Styles) -> Any:
    """:func:`_render` of a stored slot (see :mod:`~bot.sandbox.sheets.store`)."""
    if isinstance(slot, tuple):
        value, formula, fmt, _, _, computed = slot
        if formula is not None:
            if render == "FORMULA" or computed is None:
                return formula
            return _render_scalar(computed, styles.get(fmt), render, dt_string)
        if value is None:
            return ""
        if render != "FORMATTED_VALUE" and not dt_string:
            return value
        return _render_scalar(value, styles.get(fmt), render, dt_string)
    if render != "FORMATTED_VALUE":
        return slot
    if isinstance(slot, bool):
        return "TRUE" if slot else "FALSE"
    if isinstance(slot, str):
        return slot
    return _general(slot)
