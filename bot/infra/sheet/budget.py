"""Request bodies within Google's recommended size: measured JSON, packed into chunks.

Google sets no hard limit on a request's size but recommends payloads of at most 2 MB
(https://developers.google.com/sheets/api/limits, quoted in ../shared/api/google-sheets.md
§1). A cold start at 100,000 listings used to send one 85 MB batchUpdate; bulk writes
(出品状況 rows, log rows) are now cut into pieces of at most :data:`PIECE_BYTES` and packed
into batchUpdates whose JSON body, measured as the client sends it, stays within
:data:`MAX_REQUEST_BYTES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from pydantic_core import to_json

MAX_REQUEST_BYTES = 2_000_000
"""Largest request body the record path sends: Google's recommended 2 MB
(google-sheets.md §1, "Request size"), counted in decimal megabytes to stay under
either reading of "MB"."""
PIECE_BYTES = 200_000
"""Largest sub-request a bulk write is cut into, so that a chunk is filled closely and
one failed chunk costs little to send again."""

_T = TypeVar("_T")


def json_size(value: Any) -> int:
    """Bytes of ``value`` as the Sheets client sends it: ``pydantic_core.to_json``.

    The same encoder as :meth:`bot.infra.sheet.client.RetryingHTTPClient._attempt`
    (compact, UTF-8: a 日本語 character is 3 bytes), so a size is the wire's, and
    measuring costs a fifth of ``json.dumps``. A list's items are counted with 2 bytes
    each for the separator, which the compact encoding writes in 1: a body is never
    larger than its pieces add up to.
    """
    return len(to_json(value))


def split_by_size(
    items: Iterable[_T], size: Callable[[_T], int], limit: int | None = None
) -> Iterator[list[_T]]:
    """``items`` in order, in runs whose JSON list stays within ``limit`` (never empty).

    ``limit`` defaults to :data:`PIECE_BYTES`. A single item larger than it makes a run
    of its own (a row of one listing cannot be cut).
    """
    limit = PIECE_BYTES if limit is None else limit
    run: list[_T] = []
    total = 2
    for item in items:
        n = size(item) + 2
        if run and total + n > limit:
            yield run
            run, total = [], 2
        run.append(item)
        total += n
    if run:
        yield run
