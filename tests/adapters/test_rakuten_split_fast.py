"""The 楽天 adapter splits a code with one match: what a split and two ID checks say; and
splits the read-back's codes, already canonical, without folding them, and writes their
bulk-get body as the bytes json_body writes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.base import json_body
from adapters.rakuten import RakutenAdapter
from adapters.rakuten import adapter as adapter_module
from adapters.rakuten import codes as codes_module
from adapters.rakuten.codes import ID_RE, canonical_code, split_codes
from adapters.rakuten.wire import bulk_get_body, bulk_upsert_body
from bot.core.domain import PushStatus, StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.rakuten import RakutenSimulator


def plain_split(code: str) -> tuple[str, str] | None:
    """The reference: the first ":" splits the code, then each half must be an ID."""
    manage_number, sep, variant_id = code.partition(":")
    if not sep or not ID_RE.fullmatch(manage_number) or not ID_RE.fullmatch(variant_id):
        return None
    return manage_number, variant_id


# Mostly ID characters and colons, lengths around the 32-character limit, and odd text.
PART = st.text(alphabet="aZ09_-:é \n", max_size=34)
CODES = st.one_of(
    st.builds(lambda a, b: f"{a}:{b}", PART, PART),
    st.builds(lambda n, m: "a" * n + ":" + "B" * m, st.integers(0, 34), st.integers(0, 34)),
    st.text(max_size=12),
)


@given(CODES)
def test_one_match_splits_as_partition_and_two_checks(code: str) -> None:
    assert RakutenAdapter._split_code(code) == plain_split(code)


def plain_split_codes(codes: list[str]) -> tuple[dict[str, str], list[str]]:
    """The reference read_stock used: fold every code, then split each canonical code."""
    canonical = {code: canonical_code(code) for code in codes}
    return canonical, list(dict.fromkeys(c for c in canonical.values() if plain_split(c)))


# Canonical codes (the fast path), codes to fold (upper case, blanks) and refused ones.
SHEET_CODES = st.one_of(
    CODES,
    st.builds(lambda a, b: f"{a}:{b}", st.text("ab-_9", min_size=1, max_size=33), PART),
    st.builds(lambda a, b: f" {a.upper()}:{b} ", st.text("ab9", min_size=1, max_size=3), PART),
)


@settings(max_examples=500)
@given(st.lists(SHEET_CODES, max_size=12))
def test_split_codes_gives_what_folding_then_splitting_gives(codes: list[str]) -> None:
    codes = codes + codes[:3]  # a code twice keeps its first place
    got = split_codes(codes)
    want = plain_split_codes(codes)
    assert got == want
    assert list(got[0].items()) == list(want[0].items())  # same order
    # The codes it asks, all canonical, are what the one match for all of them takes.
    assert split_codes(want[1]) == ({c: c for c in want[1]}, want[1])
    assert split_codes(["\n".join(want[1])]) == plain_split_codes(["\n".join(want[1])])


def test_canonical_codes_are_split_without_folding(monkeypatch: pytest.MonkeyPatch) -> None:
    folded: list[str] = []

    def counting(code: str) -> str:
        folded.append(code)
        return canonical_code(code)

    monkeypatch.setattr(codes_module, "canonical_code", counting)
    canonical, askable = split_codes(["item-0001:Var-1", "mug:blue", "Mug:Red"])
    assert folded == ["Mug:Red"]  # only the code not already canonical
    assert canonical["item-0001:Var-1"] == "item-0001:Var-1"
    assert askable == ["item-0001:Var-1", "mug:blue", "mug:Red"]


def test_codes_all_canonical_are_checked_by_one_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """The read-back's usual slice (the sheet's codes) takes the one-match-for-all path."""
    codes = [f"item-{n:04d}:Var-{n}" for n in range(2500)]

    def per_code(code: str) -> None:
        raise AssertionError("matched a code at a time")

    monkeypatch.setattr(codes_module, "_CANONICAL_RE", type("Re", (), {"fullmatch": per_code}))
    canonical, askable = split_codes(codes)
    assert askable == codes and all(canonical[c] is c for c in codes)


def test_the_read_back_folds_no_canonical_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """read_stock of the sheet's codes (canonical) takes the one-match path, same answer."""
    clock = VirtualClock(datetime(2026, 11, 23, tzinfo=UTC))
    sim = RakutenSimulator(clock=clock)
    codes = [sim.add_listing(sim.sample_code(n), n) for n in range(1, 6)]
    adapter = RakutenAdapter(
        httpx.Client(transport=sim.transport, base_url=RakutenAdapter.BASE_URL),
        service_secret="SP123456_sim",
        license_key="SL123456_sim",
        clock=clock,
    )
    folded: list[str] = []

    def counting(code: str) -> str:
        folded.append(code)
        return canonical_code(code)

    monkeypatch.setattr(codes_module, "canonical_code", counting)
    assert adapter.read_stock([*codes, "Item-0001:Var-1"]) == {
        **{code: n for n, code in enumerate(codes, start=1)},
        "Item-0001:Var-1": 1,
    }
    assert folded == ["Item-0001:Var-1"]


_ID = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=32)


@settings(max_examples=300)
@given(st.lists(st.tuples(_ID, _ID), max_size=20))
def test_a_bulk_get_body_is_what_json_body_writes(pairs: list[tuple[str, str]]) -> None:
    elements = [{"manageNumber": m, "variantId": v} for m, v in pairs]
    assert bulk_get_body([f"{m}:{v}" for m, v in pairs]) == json_body({"inventories": elements})


@settings(max_examples=300)
@given(st.lists(st.tuples(_ID, _ID, st.integers(0, 10**12)), max_size=20))
def test_a_bulk_upsert_body_is_what_json_body_writes(items: list[tuple[str, str, int]]) -> None:
    elements = [
        {"manageNumber": m, "variantId": v, "mode": "ABSOLUTE", "quantity": q} for m, v, q in items
    ]
    assert bulk_upsert_body(items) == json_body({"inventories": elements})


def _recording() -> tuple[RakutenSimulator, RakutenAdapter, list[str], list[httpx.Request]]:
    """A shop of three listings, an adapter on it, and the requests the adapter sends."""
    clock = VirtualClock(datetime(2026, 11, 23, tzinfo=UTC))
    sim = RakutenSimulator(clock=clock)
    codes = [sim.add_listing(sim.sample_code(n), n) for n in range(1, 4)]
    sent: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return sim.handle(request)

    adapter = RakutenAdapter(
        httpx.Client(transport=httpx.MockTransport(recording), base_url=RakutenAdapter.BASE_URL),
        service_secret="SP123456_sim",
        license_key="SL123456_sim",
        clock=clock,
    )
    return sim, adapter, codes, sent


def test_the_read_back_sends_the_bodies_it_sent_before() -> None:
    """The bytes a bulk-get of split codes sends: the plain json_body of its elements."""
    _sim, adapter, codes, sent = _recording()
    assert adapter.read_stock(codes) == {code: n for n, code in enumerate(codes, start=1)}
    [request] = sent
    halves = [code.split(":") for code in codes]
    assert request.content == json_body(
        {"inventories": [{"manageNumber": m, "variantId": v} for m, v in halves]}
    )
    assert request.headers["content-type"] == RakutenAdapter.JSON_CONTENT_TYPE


def test_a_push_sends_the_body_it_sent_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bytes a push's bulk-upsert sends: the plain json_body of its elements, written
    by bulk_upsert_body (not encoded from dicts)."""
    sim, adapter, codes, sent = _recording()
    adapter.read_stock(codes)  # (known codes: the push sends at once)
    monkeypatch.setattr(adapter_module, "json_body", None)  # no body encoded from dicts
    pushes = [StockPush(mall="rakuten", code=c, quantity=7 * n) for n, c in enumerate(codes)]
    results = adapter.push_stock(pushes)
    assert [r.status for r in results] == [PushStatus.APPLIED] * 3
    request = sent[-1]
    elements = [
        {"manageNumber": m, "variantId": v, "mode": "ABSOLUTE", "quantity": 7 * n}
        for n, (m, v) in enumerate(code.split(":") for code in codes)
    ]
    assert request.content == json_body({"inventories": elements})
    assert request.headers["content-type"] == RakutenAdapter.JSON_CONTENT_TYPE
    assert [sim.stock(c) for c in codes] == [0, 7, 14]
