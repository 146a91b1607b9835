"""``:batchUpdate`` requests that attach rules and metadata to ranges.

Protected ranges, conditional format rules and developer metadata. Protection is stored,
never enforced (as on the real service for the bot's own writes to warning-only ranges).
``updateDeveloperMetadata``/``deleteDeveloperMetadata`` whose filter matches nothing
succeed with an empty reply; ``strict_metadata_filters=True`` makes them fail the whole
batch instead (the compare-and-set trick the API doc lists as UNCONFIRMED).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from bot.sandbox.sheets.cell_data import _apply_mask, _parse_mask, _strip_none
from bot.sandbox.sheets.grid import _dimension_range, _grid_rect
from bot.sandbox.sheets.model import JSON, _bad, _Book, _index, _Options, _Sheet


def _req_add_protected_range(book: _Book, req: JSON, opts: _Options) -> JSON:
    pr = _strip_none(copy.deepcopy(req.get("protectedRange") or {}))
    if "range" not in pr:
        raise _bad("A protected range needs a range (named ranges are not emulated).")
    sheet = _grid_rect(book, pr["range"])[0]
    pr["range"].setdefault("sheetId", sheet.sheet_id)
    for u in pr.get("unprotectedRanges", []):
        _grid_rect(book, u)
    existing = {p["protectedRangeId"] for s in book.sheets for p in s.protected}
    pid = pr.get("protectedRangeId")
    if pid is None or pid in existing:
        pid = book.next_number()
    pr["protectedRangeId"] = pid
    pr.setdefault("warningOnly", False)
    pr.setdefault("requestingUserCanEdit", False)
    if pr.get("warningOnly"):
        pr.pop("editors", None)
    sheet.protected.append(pr)
    return {"addProtectedRange": {"protectedRange": copy.deepcopy(pr)}}


def _find_protected(book: _Book, pid: Any) -> tuple[_Sheet, int]:
    for sheet in book.sheets:
        for i, pr in enumerate(sheet.protected):
            if pr.get("protectedRangeId") == pid:
                return sheet, i
    raise _bad(f"No protected range with id: {pid}")


def _req_delete_protected_range(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet, i = _find_protected(book, req.get("protectedRangeId"))
    del sheet.protected[i]
    return {}


def _req_update_protected_range(book: _Book, req: JSON, opts: _Options) -> JSON:
    new = req.get("protectedRange") or {}
    sheet, i = _find_protected(book, new.get("protectedRangeId"))
    paths = [p for p in _parse_mask(req.get("fields")) if p != "protectedRangeId"]
    if "*" in paths:
        paths = [
            "range",
            "description",
            "warningOnly",
            "requestingUserCanEdit",
            "unprotectedRanges",
            "editors",
        ]
    updated = _apply_mask(sheet.protected[i], new, paths)
    if "range" not in updated:
        raise _bad("A protected range needs a range.")
    target = _grid_rect(book, updated["range"])[0]
    del sheet.protected[i]
    target.protected.append(updated)
    return {}


def _rule_sheet(book: _Book, rule: Any) -> _Sheet:
    if not isinstance(rule, Mapping) or not rule.get("ranges"):
        raise _bad("A conditional format rule needs ranges.")
    if not (rule.get("booleanRule") or rule.get("gradientRule")):
        raise _bad("A conditional format rule needs a booleanRule or a gradientRule.")
    sheets = {_grid_rect(book, r)[0].sheet_id for r in rule["ranges"]}
    if len(sheets) != 1:
        raise _bad("All ranges of a conditional format rule must be on the same sheet.")
    return book.sheet_by_id(sheets.pop())


def _req_add_conditional_format_rule(book: _Book, req: JSON, opts: _Options) -> JSON:
    rule = _strip_none(copy.deepcopy(req.get("rule")))
    sheet = _rule_sheet(book, rule)
    index = _index(req.get("index"), "index", 0)
    if index > len(sheet.cond_formats):
        raise _bad(f"Invalid index {index}: the sheet has {len(sheet.cond_formats)} rules")
    sheet.cond_formats.insert(index, rule)
    return {}


def _req_delete_conditional_format_rule(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId", 0))
    index = _index(req.get("index"), "index", 0)
    if index >= len(sheet.cond_formats):
        raise _bad(f"No conditional format rule at index {index}")
    rule = sheet.cond_formats.pop(index)
    return {"deleteConditionalFormatRule": {"rule": rule}}


def _req_update_conditional_format_rule(book: _Book, req: JSON, opts: _Options) -> JSON:
    sheet = book.sheet_by_id(req.get("sheetId", 0))
    index = _index(req.get("index"), "index", 0)
    if index >= len(sheet.cond_formats):
        raise _bad(f"No conditional format rule at index {index}")
    old = sheet.cond_formats[index]
    if req.get("rule") is not None:
        rule = _strip_none(copy.deepcopy(req["rule"]))
        if _rule_sheet(book, rule) is not sheet:
            raise _bad("A rule cannot move to another sheet.")
        sheet.cond_formats[index] = rule
        return {
            "updateConditionalFormatRule": {
                "newRule": rule,
                "oldRule": old,
                "newIndex": index,
                "oldIndex": index,
            }
        }
    new_index = _index(req.get("newIndex"), "newIndex", index)
    if new_index >= len(sheet.cond_formats):
        raise _bad(f"Invalid newIndex {new_index}")
    sheet.cond_formats.insert(new_index, sheet.cond_formats.pop(index))
    return {
        "updateConditionalFormatRule": {
            "newRule": old,
            "oldRule": old,
            "newIndex": new_index,
            "oldIndex": index,
        }
    }


def _location(book: _Book, loc: Any) -> JSON:
    if not isinstance(loc, Mapping):
        raise _bad("Developer metadata needs a location.")
    if loc.get("spreadsheet"):
        return {"locationType": "SPREADSHEET", "spreadsheet": True}
    if loc.get("sheetId") is not None:
        book.sheet_by_id(loc["sheetId"])
        return {"locationType": "SHEET", "sheetId": loc["sheetId"]}
    if loc.get("dimensionRange") is not None:
        sheet, dim, start, end = _dimension_range(book, loc["dimensionRange"])
        return {
            "locationType": "ROW" if dim == "ROWS" else "COLUMN",
            "dimensionRange": {
                "sheetId": sheet.sheet_id,
                "dimension": dim,
                "startIndex": start,
                "endIndex": end,
            },
        }
    raise _bad("Developer metadata location must be a spreadsheet, a sheet or a dimension range.")


def _req_create_developer_metadata(book: _Book, req: JSON, opts: _Options) -> JSON:
    md = _strip_none(copy.deepcopy(req.get("developerMetadata") or {}))
    if not md.get("metadataKey"):
        raise _bad("Developer metadata needs a metadataKey.")
    md["location"] = _location(book, md.get("location"))
    md.setdefault("visibility", "DOCUMENT")
    existing = {m["metadataId"] for m in book.dev_meta}
    if md.get("metadataId") in existing:
        raise _bad(f"Developer metadata with id {md['metadataId']} already exists.")
    md.setdefault("metadataId", book.next_number())
    book.dev_meta.append(md)
    return {"createDeveloperMetadata": {"developerMetadata": copy.deepcopy(md)}}


def _metadata_matches(book: _Book, filters: Any) -> list[JSON]:
    if not isinstance(filters, list) or not filters:
        raise _bad("At least one data filter is required.")
    matched: list[JSON] = []
    for f in filters:
        lookup = (f or {}).get("developerMetadataLookup")
        if not isinstance(lookup, Mapping):
            raise _bad("Only developerMetadataLookup data filters are emulated.")
        for md in book.dev_meta:
            ok = all(
                lookup.get(key) is None or md.get(key) == lookup[key]
                for key in ("metadataId", "metadataKey", "metadataValue", "visibility")
            )
            if lookup.get("locationType") is not None:
                ok = ok and md["location"]["locationType"] == lookup["locationType"]
            if lookup.get("metadataLocation") is not None:
                ok = ok and md["location"] == _location(book, lookup["metadataLocation"])
            if ok and md not in matched:
                matched.append(md)
    return matched


def _req_update_developer_metadata(book: _Book, req: JSON, opts: _Options) -> JSON:
    matched = _metadata_matches(book, req.get("dataFilters"))
    if not matched and opts.strict_metadata_filters:
        raise _bad("No developer metadata matched the data filters.")
    paths = _parse_mask(req.get("fields"))
    if "*" in paths:
        paths = ["metadataKey", "metadataValue", "visibility", "location"]
    new = req.get("developerMetadata") or {}
    out: list[JSON] = []
    for md in matched:
        updated = _apply_mask(md, new, [p for p in paths if p != "metadataId"])
        updated["location"] = _location(book, updated.get("location"))
        md.clear()
        md.update(updated)
        out.append(copy.deepcopy(md))
    return {"updateDeveloperMetadata": {"developerMetadata": out}}


def _req_delete_developer_metadata(book: _Book, req: JSON, opts: _Options) -> JSON:
    matched = _metadata_matches(book, [req.get("dataFilter")])
    if not matched and opts.strict_metadata_filters:
        raise _bad("No developer metadata matched the data filter.")
    book.dev_meta = [md for md in book.dev_meta if md not in matched]
    return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": copy.deepcopy(matched)}}
