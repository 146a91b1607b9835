"""Which API method an HTTP call is, and which handler answers it.

gspread builds the URLs; this module maps method and path to an operation
(``values.batchGet``, ``spreadsheets.batchUpdate``, …) and dispatches reads, which see the
live book, and writes, which the transport runs in a transaction it rolls back on failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from bot.sandbox.sheets.batch import _batch_update
from bot.sandbox.sheets.model import JSON, _ApiError, _Book, _Options
from bot.sandbox.sheets.spreadsheet import _spreadsheets_get
from bot.sandbox.sheets.values import (
    _values_append,
    _values_batch_clear,
    _values_batch_get,
    _values_batch_update,
    _values_clear,
    _values_get,
    _values_update,
)

_API_PATH = "/v4/spreadsheets/"


@dataclass(frozen=True)
class _Route:
    op: str
    spreadsheet_id: str
    range_text: str = ""


def _route(method: str, path: str) -> _Route | None:
    if not path.startswith(_API_PATH):
        return None
    rest = path[len(_API_PATH) :]
    if "/" not in rest:
        if rest.endswith(":batchUpdate"):
            return (
                _Route("spreadsheets.batchUpdate", rest[: -len(":batchUpdate")])
                if method == "POST"
                else None
            )
        return _Route("spreadsheets.get", rest) if method == "GET" and ":" not in rest else None
    sid, _, sub = rest.partition("/")
    if sub.startswith("values:"):
        verb = sub[len("values:") :]
        expected = {
            "batchGet": "GET",
            "batchGetByDataFilter": "POST",
            "batchUpdate": "POST",
            "batchClear": "POST",
        }
        if expected.get(verb) == method:
            return _Route(f"values.{verb}", sid)
        return None
    if sub.startswith("values/"):
        encoded = sub[len("values/") :]
        # gspread quotes the whole range (":" is %3A), so a literal ":" marks the verb.
        head, sep, verb = encoded.rpartition(":")
        if sep and verb in ("append", "clear"):
            return _Route(f"values.{verb}", sid, unquote(head)) if method == "POST" else None
        op = {"GET": "values.get", "PUT": "values.update"}.get(method)
        return _Route(op, sid, unquote(encoded)) if op else None
    return None


def _first(params: Mapping[str, list[str]]) -> dict[str, str]:
    return {k: v[0] for k, v in params.items() if v}


def _read(
    book: _Book, route: _Route, params: Mapping[str, str], multi: Mapping[str, list[str]]
) -> JSON | None:
    """Answer a read call; None when ``route`` is a write."""
    op = route.op
    if op == "spreadsheets.get":
        return _spreadsheets_get(book, params, multi)
    if op == "values.get":
        return _values_get(book, route.range_text, params)
    if op == "values.batchGet":
        return _values_batch_get(book, params, multi.get("ranges", []))
    return None


def _write(
    book: _Book, route: _Route, params: Mapping[str, str], body: JSON, opts: _Options
) -> JSON:
    """Apply a write call to ``book`` (inside the caller's transaction)."""
    op = route.op
    if op == "values.update":
        return _values_update(book, route.range_text, params, body)
    if op == "values.append":
        return _values_append(book, route.range_text, params, body)
    if op == "values.clear":
        return _values_clear(book, route.range_text)
    if op == "values.batchClear":
        return _values_batch_clear(book, body)
    if op == "values.batchUpdate":
        return _values_batch_update(book, body)
    if op == "spreadsheets.batchUpdate":
        return _batch_update(book, body, params.get("fields"), opts)
    raise _ApiError(404, f"Method not found: {op}")
