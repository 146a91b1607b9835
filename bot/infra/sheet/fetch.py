"""Two reads the gateway makes besides its cycle's ``values:batchGet``.

Both are rare or narrow: the values of many small ranges just before a commit, and the
key columns whole when a commit's answer shows rows moved under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gspread
from gspread.exceptions import APIError
from gspread.http_client import ParamsType
from gspread.urls import SPREADSHEET_URL, SPREADSHEETS_API_V4_BASE_URL

from bot.infra.sheet.client import SheetError, api_message, decoded
from bot.infra.sheet.commit import GRID_FIELDS


def filtered_ranges(
    spreadsheet: gspread.Spreadsheet, ranges: Sequence[str]
) -> list[list[list[Any]]]:
    """Values of ``ranges`` by ``values:batchGetByDataFilter`` (a POST: no URL limit).

    google-sheets.md §1: many ranges in a GET batchGet can hit URL-length limits.
    https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values/batchGetByDataFilter
    — each answer is a MatchedValueRange naming the filters it matched, so values are
    paired with their ranges by filter, not by position.
    """
    url = f"{SPREADSHEETS_API_V4_BASE_URL}/{spreadsheet.id}/values:batchGetByDataFilter"
    body = {
        "dataFilters": [{"a1Range": r} for r in ranges],
        "valueRenderOption": "FORMULA",
        "dateTimeRenderOption": "SERIAL_NUMBER",
    }
    try:
        reply = decoded(spreadsheet.client.request("post", url, json=body))
    except APIError as err:
        raise SheetError(api_message(err)) from err
    by_range: dict[str, list[list[Any]]] = {}
    for matched in reply.get("valueRanges") or []:
        values = (matched.get("valueRange") or {}).get("values", [])
        for data_filter in matched.get("dataFilters") or []:
            by_range[str(data_filter.get("a1Range"))] = values
    return [by_range.get(r, []) for r in ranges]


def columns_now(spreadsheet: gspread.Spreadsheet, ranges: Sequence[str]) -> dict[str, Any]:
    """``ranges`` as they are now, shaped like a commit's answer (one read).

    ``spreadsheets.get`` with ``includeGridData`` returns a Spreadsheet, as a
    batchUpdate's ``updatedSpreadsheet`` is one.
    https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets/get
    """
    params: ParamsType = {"ranges": list(ranges), "includeGridData": "true", "fields": GRID_FIELDS}
    try:
        got = spreadsheet.client.request("get", SPREADSHEET_URL % spreadsheet.id, params=params)
    except APIError as err:
        raise SheetError(api_message(err)) from err
    return {"updatedSpreadsheet": got.json()}
