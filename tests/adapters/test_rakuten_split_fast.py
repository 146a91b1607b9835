"""The 楽天 adapter splits a code with one match: what a split and two ID checks say."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.rakuten import RakutenAdapter
from adapters.rakuten.codes import ID_RE


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
