"""batchUpdate sub-requests written straight as JSON text, and the body that carries them.

A steady 100k-product commit is ~925 KB: 1,831 one-cell updateCells on 商品マスタ and
two appendCells of ~500 log rows each, every cell a CellData of its own. Built as
nested dicts and encoded by ``pydantic_core.to_json`` that took 30–35 ms of CPU (the
dumped body of one steady cycle rebuilt and encoded, on a busy machine: 8 ms for the
one-cell requests' dicts, most of the rest the encoder walking ~60,000 small dicts);
written as text from a few fixed shapes, strings escaped by the ``json`` module's C
escaper, the same bytes took 10 ms.

The text is exactly what ``to_json`` writes for the plain request (compact, UTF-8, the
same key order and escapes), so a body holding :class:`Encoded` requests goes on the
wire byte for byte as the plain body did: :func:`body_bytes`; :meth:`Encoded.value`
gives the plain request back (what the tests compare with the plain requests).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from pydantic_core import from_json, to_json

from bot.infra.sheet.cells import cell_data
from bot.infra.sheet.tabs import Request


class Encoded(NamedTuple):
    """One sub-request as the JSON text ``to_json`` writes for it.

    A named tuple made by ``tuple.__new__`` (:func:`_encoded`): a commit and a record
    make ~2,800 of them a cycle at 100k, and a frozen dataclass's ``__init__`` cost
    0.39 µs each against 0.13 µs (timeit, best of 5, one text).
    """

    text: str

    def value(self) -> Any:
        """The plain request this text encodes (tests, debugging: never on the hot path)."""
        return from_json(self.text)


AnyRequest = Request | Encoded
"""A sub-request as a plain dict or already encoded."""


def cell_json(value: Any) -> str:
    """``to_json(cell_data(value))`` as text: the usual kinds written from their shape.

    A non-empty ``str`` and an exact ``int`` (a 在庫数, a log row's numbers) are nearly
    every cell; anything else goes through :func:`cell_data` and the encoder.
    """
    kind = type(value)
    if kind is str:
        if not value:
            return "{}"
        return '{"userEnteredValue":{"stringValue":' + encode_basestring(value) + "}}"
    if kind is int:
        return '{"userEnteredValue":{"numberValue":' + int.__repr__(value) + "}}"
    if value is None:
        return "{}"
    return to_json(cell_data(value)).decode()


def one_cell(sheet_id: int, row: int, col: int, value: Any) -> Encoded:
    """The updateCells of one cell (:func:`bot.infra.sheet.values.update_cells`), as text."""
    return update_row(sheet_id, row, col, cell_json(value))


def update_row(sheet_id: int, row: int, col: int, cells: str) -> Encoded:
    """The updateCells of one row's cells from (row, col) on, as text.

    ``cells``: their CellData texts (:func:`cell_json`) joined by commas. A record's
    thousand scattered 出品状況 rows a cycle at 100k are written so (see
    :func:`bot.infra.sheet.listing_writes._single_rows`). The text around the row
    number is made once per sheet and column (:func:`_around_row`): formatting the
    whole request each time took 0.96 µs, the f-string around the kept texts 0.17 µs
    (timeit, best of 5, the text alone).
    """
    head, mid = _around_row(sheet_id, col)
    return _encoded(Encoded, (f"{head}{row}{mid}{cells}{_ROW_END}",))


def update_rows(
    sheet_id: int, col: int, rows: Sequence[int], cells: Iterable[str]
) -> list[Encoded]:
    """:func:`update_row` of each of ``rows`` with its one cell's text in ``cells``."""
    head, mid = _around_row(sheet_id, col)
    return [
        _encoded(Encoded, (f"{head}{row}{mid}{text}{_ROW_END}",))
        for row, text in zip(rows, cells, strict=True)
    ]


@cache  # (a few tabs' columns: a handful of entries for the process's life)
def _around_row(sheet_id: int, col: int) -> tuple[str, str]:
    """The text of :func:`update_row` before its row number, and after it up to the cells."""
    return (
        f'{{"updateCells":{{"start":{{"sheetId":{sheet_id},"rowIndex":',
        f',"columnIndex":{col}}},"rows":[{{"values":[',
    )


_ROW_END = ']}],"fields":"userEnteredValue"}}'
_encoded = tuple.__new__


def column_json(values: Sequence[Any]) -> Iterable[str]:
    """:func:`cell_json` of each of ``values`` (a log column: all text, or all numbers).

    A column of ``str`` or of exact ``int`` only — a log row's usual columns — is
    formatted in C (``map`` of ``%`` on the shape), and when its values repeat (a
    commit's 日時, モール, 区分, 数量…) each distinct one is formatted once and shared;
    anything else a cell at a time.
    """
    kinds = set(map(type, values))
    if kinds != {str} and kinds != {int}:
        return map(cell_json, values)
    distinct = set(values)
    if len(distinct) * 2 <= len(values):
        texts = {value: cell_json(value) for value in distinct}
        return map(texts.__getitem__, values)
    if kinds == {int}:
        return map(_NUMBER_CELL.__mod__, values)
    if all(values):
        return map(_STRING_CELL.__mod__, map(encode_basestring, values))
    return map(cell_json, values)


_STRING_CELL = '{"userEnteredValue":{"stringValue":%s}}'
_NUMBER_CELL = '{"userEnteredValue":{"numberValue":%d}}'


def row_json(line: Iterable[Any]) -> str:
    """One RowData writing ``line``'s cells (``{"values": [cell_data(v), ...]}``) as text."""
    return '{"values":[' + ",".join(map(cell_json, line)) + "]}"


def append_cells_json(sheet_id: int, rows: Iterable[str]) -> Encoded:
    """:func:`bot.infra.sheet.logs.append_cells` of RowData texts (:func:`row_json`)."""
    text = (
        '{"appendCells":{"sheetId":'
        + int.__repr__(sheet_id)
        + ',"rows":['
        + ",".join(rows)
        + '],"fields":"userEnteredValue"}}'
    )
    return _encoded(Encoded, (text,))


def body_bytes(body: Mapping[str, Any]) -> bytes:
    """``to_json(body)`` of a request body whose ``requests`` may hold :class:`Encoded`.

    The same bytes as the plain body encoded whole. Its texts are encoded one by one
    and the bytes joined once: a steady 100k commit's body (937 KB, 1,767 requests)
    built as one ``str`` by nested concatenations and then encoded took 6.5 ms of CPU,
    this way 0.8 ms (the dumped body, best of 40). A text that cannot be UTF-8 (a lone
    surrogate) raises the encoder's own error, as the plain body did.
    """
    reqs = body.get("requests") if isinstance(body, Mapping) else None  # (any JSON body)
    if not isinstance(reqs, list) or not any(type(r) is Encoded for r in reqs):
        return to_json(body)
    texts: list[str] = []
    for key, value in body.items():
        texts.append("," if texts else "{")
        texts.append(to_json(key).decode() + ":")
        if key == "requests":
            listed = [","] * (2 * len(reqs) - 1)  # the requests, a comma between each two
            listed[::2] = map(_request_text, reqs)
            texts.extend(("[", *listed, "]"))
        else:
            texts.append(to_json(value).decode())
    texts.append("}")
    try:
        return b"".join([text.encode() for text in texts])
    except UnicodeEncodeError:
        return utf8("".join(texts))  # raises the encoder's error, as for the plain body


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; a text that cannot be (a lone surrogate) raises the encoder's error."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        to_json(text)  # raises the encoder's error, as for the plain body
        raise


def _request_text(request: AnyRequest) -> str:
    return request.text if type(request) is Encoded else to_json(request).decode()
