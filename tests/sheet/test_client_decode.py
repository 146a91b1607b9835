"""The snapshot read's answer decoded by pydantic-core: the same values as ``json`` gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from bot.infra.sheet import client, fetch
from bot.infra.sheet.client import decoded
from tests.sheet.conftest import Book, product_row


def _response(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body
    return response


def _typed(value: Any) -> Any:
    """``value`` with every leaf tagged by its type (``1 == 1.0 == True`` in Python)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value), value)


_cell = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(["在庫切れ", "TS-1", "=A1+1", "", " ", "1.0", "\u3000", "😀"])
)
_json = st.recursive(
    _cell,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=30,
)


@given(_json, st.booleans())
def test_an_answer_decodes_as_the_json_module_reads_it(value: object, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert _typed(decoded(_response(body))) == _typed(json.loads(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"values": [["\\ud800"]]}',  # a lone surrogate escape: pydantic-core refuses it
        b'\xef\xbb\xbf{"range": "A1"}',  # a UTF-8 byte order mark
        '{"values": [["在庫"]]}'.encode("utf-16"),
    ],
)
def test_what_pydantic_core_refuses_is_read_as_requests_reads_it(body: bytes) -> None:
    assert _typed(decoded(_response(body))) == _typed(_response(body).json())


def test_a_body_that_is_not_json_raises_as_requests_does() -> None:
    with pytest.raises(requests.JSONDecodeError):
        decoded(_response(b"<html>502 Bad Gateway</html>"))


def test_the_snapshot_read_is_decoded_without_the_stdlib_decoder(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every values:batchGet of a cycle's read goes through :func:`decoded`."""
    book.add_products([product_row(f"TS-{i}", i) for i in range(1, 6)])
    gateway = book.gateway()
    calls: list[int] = []

    def counted(response: requests.Response) -> Any:
        calls.append(len(response.content))
        return decoded(response)

    def refused(self: requests.Response, **kwargs: Any) -> Any:
        raise AssertionError("a snapshot read decoded by Response.json")

    monkeypatch.setattr(client, "decoded", counted)
    monkeypatch.setattr(requests.Response, "json", refused)
    book.emu.requests.clear()

    read = gateway.read()

    assert [r.op for r in book.emu.requests] == ["values.batchGet"] * len(calls)
    assert calls
    assert sorted(read.snapshot.products) == [f"TS-{i}" for i in range(1, 6)]
    assert read.snapshot.products["TS-3"].stock == 3


def test_a_commits_reread_is_decoded_without_the_stdlib_decoder(
    book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-read before each commit (its written rows, 入出庫's tail) as the snapshot's."""
    book.add_products([product_row(f"TS-{i}", i) for i in range(1, 6)])
    gateway = book.gateway()
    read = gateway.read()
    calls: list[int] = []

    def counted(response: requests.Response) -> Any:
        calls.append(len(response.content))
        return decoded(response)

    def refused(self: requests.Response, **kwargs: Any) -> Any:
        raise AssertionError("a re-read decoded by Response.json")

    monkeypatch.setattr(fetch, "decoded", counted)
    monkeypatch.setattr(requests.Response, "json", refused)
    book.emu.requests.clear()

    again = gateway.reread(read, None, [2, 4])

    assert [r.op for r in book.emu.requests] == ["values.batchGetByDataFilter"]
    assert len(calls) == 1 and again is read  # nothing changed: the read planned on
    book.set_cell("TS-3", "在庫数", 7)
    assert gateway.reread(read, None, [3]).snapshot.products["TS-3"].stock == 7
