"""The JSON side of cells and masks: CellData, ExtendedValue and ``fields`` masks.

``:batchUpdate`` requests (updateCells, repeatCell, appendCells) write cells as CellData
through a field mask, and ``spreadsheets.get`` reads them back as CellData; both
directions live here, next to the mask machinery they share: parsing ``a.b,c/d,e(f,g)``
masks, copying masked fields between objects, and trimming an answer to the ``fields``
system parameter.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, cast

from bot.sandbox.sheets.model import _EMPTY, JSON, Scalar, _bad, _Cell, _check_length
from bot.sandbox.sheets.number_format import _render, _render_slot
from bot.sandbox.sheets.store import Slot, _Styles
from bot.sandbox.sheets.typed_values import _num


def _extended_value(v: Scalar | None, formula: str | None) -> JSON | None:
    if formula is not None:
        return {"formulaValue": formula}
    if v is None:
        return None
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int | float):
        return {"numberValue": v}
    return {"stringValue": v}


_ENTERED_ONLY = frozenset({"userEnteredValue"})


def _slot_data(slot: Slot, keep: Collection[str] | None, styles: _Styles) -> JSON:
    """CellData of a stored slot: the fields in ``keep`` (a ``fields`` mask's), else all."""
    if not isinstance(slot, tuple):
        out: JSON = {}
        if keep is None or "userEnteredValue" in keep:
            out["userEnteredValue"] = _extended_value(slot, None)
        if keep is None or "effectiveValue" in keep:
            out["effectiveValue"] = _extended_value(slot, None)
        if keep is None or "formattedValue" in keep:
            out["formattedValue"] = _render_slot(slot, "FORMATTED_VALUE", False, styles)
        return out
    value, formula, fmt, note, rule, computed = slot
    if keep == _ENTERED_ONLY:
        entered = _extended_value(value, formula)
        return {} if entered is None else {"userEnteredValue": entered}
    return _cell_data(
        _Cell(value, formula, styles.get(fmt), note, styles.get(rule), computed), keep
    )


def _cell_data(cell: _Cell, keep: Collection[str] | None = None) -> JSON:
    """CellData of one cell: the fields in ``keep`` (a ``fields`` mask's), else all."""
    out: JSON = {}
    entered = _extended_value(cell.value, cell.formula)
    if entered is not None:
        out["userEnteredValue"] = entered
        effective_src = cell.computed if cell.formula is not None else cell.value
        effective = _extended_value(effective_src, None)
        if effective is not None:
            out["effectiveValue"] = effective
        if keep is None or "formattedValue" in keep:
            out["formattedValue"] = _render(cell, "FORMATTED_VALUE", False)
    if cell.fmt and (keep is None or "userEnteredFormat" in keep):
        out["userEnteredFormat"] = copy.deepcopy(dict(cell.fmt))
    if cell.note is not None:
        out["note"] = cell.note
    if cell.validation and (keep is None or "dataValidation" in keep):
        out["dataValidation"] = copy.deepcopy(dict(cell.validation))
    return out if keep is None else {k: v for k, v in out.items() if k in keep}


class _Trimmed(list[Any]):
    """RowData already cut to the request's ``fields`` mask.

    :func:`_select_fields` passes it through unvisited, so a narrow mask over a long
    range costs one pass over the cells, not two.
    """


_MISSING: Any = object()


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def _parse_mask(mask: Any) -> list[str]:
    """``a.b,c/d,e(f,g)`` → ``[a.b, c.d, e.f, e.g]`` (gspread sends ``/`` and parens)."""
    if not isinstance(mask, str) or not mask.strip():
        raise _bad("At least one field must be specified in 'fields'.")
    out: list[str] = []
    for raw in _split_top(mask.replace("/", ".")):
        part = raw.strip()
        if not part:
            continue
        if "(" in part:
            head, _, rest = part.partition("(")
            if not rest.endswith(")"):
                raise _bad(f"Invalid field mask: {mask}")
            head = head.strip().rstrip(".")
            out.extend(f"{head}.{sub}" if head else sub for sub in _parse_mask(rest[:-1]))
        else:
            out.append(part)
    return out


def _strip_none(obj: Any) -> Any:
    """JSON with nulls removed: gspread sends ``"editors": null`` and the like."""
    if isinstance(obj, Mapping):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_none(v) for v in obj]
    return obj


def _get_path(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, Mapping) or obj.get(key) is None:
            return _MISSING
        obj = obj[key]
    return obj


def _set_path(target: JSON, path: str, value: Any) -> None:
    keys = path.split(".")
    chain: list[JSON] = [target]
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            if value is _MISSING:
                return
            child = {}
            node[key] = child
        node = child
        chain.append(node)
    if value is _MISSING:
        node.pop(keys[-1], None)
        for parent, key in zip(reversed(chain[:-1]), reversed(keys[:-1]), strict=True):
            if parent.get(key) == {}:
                parent.pop(key)
    else:
        node[keys[-1]] = copy.deepcopy(_strip_none(value))


def _apply_mask(target: Mapping[str, Any] | None, source: Any, paths: Iterable[str]) -> JSON:
    out: JSON = copy.deepcopy(dict(target or {}))
    for path in paths:
        _set_path(out, path, _get_path(source, path))
    return out


_CELL_FIELDS = ("userEnteredValue", "userEnteredFormat", "note", "dataValidation")


def _parse_extended(ev: Any) -> tuple[Scalar | None, str | None]:
    """ExtendedValue → (value, formula). A stringValue is never parsed: ``=…`` stays text."""
    if ev is None:
        return None, None
    if not isinstance(ev, Mapping):
        raise _bad("userEnteredValue must be an object")
    present = {k: v for k, v in ev.items() if v is not None}
    if len(present) != 1:
        raise _bad(
            "userEnteredValue must set exactly one of stringValue, numberValue, "
            "boolValue, formulaValue"
        )
    key, v = next(iter(present.items()))
    if key == "stringValue" and isinstance(v, str):
        return (_check_length(v) or None), None
    if key == "numberValue" and isinstance(v, int | float) and not isinstance(v, bool):
        return _num(v), None
    if key == "numberValue" and isinstance(v, str):
        try:
            return _num(float(v)), None
        except ValueError:
            raise _bad(f"Invalid numberValue: {v!r}") from None
    if key == "boolValue" and isinstance(v, bool):
        return v, None
    if key == "formulaValue" and isinstance(v, str):
        return None, _check_length(v)
    raise _bad(f"Unsupported or invalid userEnteredValue: {json.dumps(present)[:100]}")


class _Memo:
    """What one request already computed, so a column of alike cells costs one.

    ``entries``: (id(CellData), what, id(old part)) → (CellData, old part, new part);
    both parts are kept so the ids stay theirs. New formats and rules are made the
    book's shared ones (``styles``) as they are computed.
    """

    def __init__(self, styles: _Styles | None = None, *, remember: bool = True) -> None:
        self.entries: dict[tuple[int, str, int], tuple[Any, Any, Any]] = {}
        self.styles = styles
        self.remember = remember
        """False when every cell has its own CellData (nothing would be found again)."""

    def look_up(self, data: Any, what: str, old: Any) -> tuple[bool, Any]:
        if not self.remember:
            return False, None
        hit = self.entries.get((id(data), what, id(old)))
        if hit is not None and hit[0] is data and hit[1] is old:
            return True, hit[2]
        return False, None

    def keep(self, data: Any, what: str, old: Any, new: Any) -> Any:
        if self.remember:
            self.entries[(id(data), what, id(old))] = (data, old, new)
        return new

    def shared(self, mapping: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        return mapping if self.styles is None else self.styles.canonical(mapping)


def _masked_format(
    old: Mapping[str, Any] | None, data: Mapping[str, Any], path: str, memo: _Memo | None
) -> Mapping[str, Any] | None:
    """The userEnteredFormat after writing ``data`` through ``path``.

    ``memo`` remembers the answer per (CellData, old format): a repeatCell over a
    column whose cells share a format computes it once.
    """
    if memo is not None:
        found, fmt = memo.look_up(data, path, old)
        if found:
            return cast(Mapping[str, Any] | None, fmt)
    if path == "userEnteredFormat":
        src = data.get("userEnteredFormat")
        fmt = copy.deepcopy(_strip_none(dict(src))) if isinstance(src, Mapping) else None
    else:
        wrapped = _apply_mask({"userEnteredFormat": dict(old or {})}, data, [path])
        fmt = wrapped.get("userEnteredFormat")
    if memo is None:
        return fmt or None
    return cast(Mapping[str, Any] | None, memo.keep(data, path, old, memo.shared(fmt or None)))


def _masked_rule(data: Mapping[str, Any], memo: _Memo | None) -> Mapping[str, Any] | None:
    """The dataValidation a CellData sets (copied once per request with ``memo``)."""
    if memo is not None:
        found, rule = memo.look_up(data, "dataValidation", None)
        if found:
            return cast(Mapping[str, Any] | None, rule)
    src = data.get("dataValidation")
    rule = copy.deepcopy(_strip_none(src)) if src else None
    if memo is None:
        return cast(Mapping[str, Any] | None, rule)
    return cast(
        Mapping[str, Any] | None, memo.keep(data, "dataValidation", None, memo.shared(rule))
    )


def _apply_cell_data(
    old: _Cell | None, data: Any, paths: Sequence[str], memo: _Memo | None = None
) -> _Cell | None:
    """CellData written through a field mask (updateCells, repeatCell, appendCells)."""
    if data is not None and not isinstance(data, Mapping):
        raise _bad("CellData must be an object")
    data = data or {}
    cell = old or _EMPTY
    value, formula, computed = cell.value, cell.formula, cell.computed
    fmt, note, validation = cell.fmt, cell.note, cell.validation
    for path in paths:
        top = path.partition(".")[0]
        if top == "userEnteredValue":
            value, formula = _parse_extended(data.get("userEnteredValue"))
            computed = None
        elif top == "userEnteredFormat":
            fmt = _masked_format(fmt, data, path, memo)
        elif top == "note":
            text = data.get("note")
            note = str(text) if text is not None else None
        elif top == "dataValidation":
            validation = _masked_rule(data, memo)
        else:
            raise _bad(f"Field '{path}' is not supported by the emulator's CellData")
    new = _Cell(value, formula, fmt, note, validation, computed)
    return None if new.is_empty else new


def _cell_paths(mask: Any) -> list[str]:
    paths = _parse_mask(mask)
    if "*" in paths:
        return list(_CELL_FIELDS)
    return paths


def _grid_wanted(flag: bool, fields: str | None, data_path: str) -> bool:
    """Whether a Spreadsheet in the answer carries grid data.

    ``includeGridData`` / ``responseIncludeGridData`` decide, unless the call has a
    ``fields`` mask: Google then ignores the flag and returns grid data when the mask
    selects ``data_path`` (gspread's ``get_notes`` relies on this).
    """
    if fields is None:
        return flag
    return any(
        p == "*" or p == data_path or data_path.startswith(p + ".") or p.startswith(data_path + ".")
        for p in _parse_mask(fields)
    )


def _field_tree(fields: str) -> JSON:
    """A ``fields`` mask (``a,b/c,d(e,f)``) as nested dicts; ``"*"`` marks a whole subtree."""
    tree: JSON = {}
    for path in _parse_mask(fields):
        node = tree
        for key in path.split("."):
            node = node.setdefault(key, {})
        node["*"] = {}
    return tree


def _select_fields(obj: Any, tree: Mapping[str, Any]) -> Any:
    """The partial response Google sends for a ``fields`` system parameter.

    Lists are filtered element by element; fields absent from the answer stay absent.
    """
    if "*" in tree or type(obj) is _Trimmed:
        return obj
    if isinstance(obj, list):
        return [_select_fields(item, tree) for item in obj]
    if not isinstance(obj, Mapping):
        return obj
    return {k: _select_fields(v, tree[k]) for k, v in obj.items() if k in tree}


def _cell_fields(fields: str | None, path: str) -> frozenset[str] | None:
    """The CellData fields a ``fields`` mask keeps at ``path`` (None: every field)."""
    if fields is None:
        return None
    node = _field_tree(fields)
    for key in path.split("."):
        if "*" in node:
            return None
        node = node.get(key, {})
    return None if "*" in node else frozenset(node)


def _fields_whole(fields: str | None, path: str) -> bool:
    """Whether the CellData fields a mask keeps at ``path`` are each kept whole.

    Then CellData cut to :func:`_cell_fields` is exactly what the mask selects, and the
    RowData can be marked :class:`_Trimmed`.
    """
    if fields is None:
        return False
    node = _field_tree(fields)
    for key in path.split("."):
        if "*" in node:
            return False
        node = node.get(key, {})
    return bool(node) and "*" not in node and all("*" in sub for sub in node.values())
