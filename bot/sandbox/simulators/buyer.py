"""Buyer data every simulated order carries, made of sentinels a test can look for.

Real order APIs hand the shop the buyer's name, address, e-mail and phone number
(楽天 OrdererModel / SenderModel, Yahoo Bill*/Ship* fields, Amazon BUYER / RECIPIENT).
None of it may leave an adapter: the sheet is shared with every staff member and the
shop is bound by Japan's personal-information law. Each simulator serves these values
where its real API does, and a test scans the sheet, Slack and the logs for
:data:`BUYER_MARKERS` after a shop day.
"""

from __future__ import annotations

from dataclasses import dataclass

BUYER_MARKERS = ("PIIBUYER", "pii-buyer", "090-7777-", "PII県")
"""Substrings found in every sentinel value below and nowhere else."""


@dataclass(frozen=True)
class Buyer:
    """One order's buyer and ship-to, as sentinels."""

    family_name: str
    first_name: str
    family_name_kana: str
    first_name_kana: str
    email: str
    phone: str
    zip_code: str
    prefecture: str
    city: str
    street: str

    @property
    def phone_parts(self) -> tuple[str, str, str]:
        """楽天 splits a phone number in three fields."""
        first, middle, last = self.phone.split("-")
        return first, middle, last

    @property
    def zip_parts(self) -> tuple[str, str]:
        """楽天 splits a postcode in two fields."""
        head, tail = self.zip_code.split("-")
        return head, tail


def sentinel_buyer(order_id: str) -> Buyer:
    """The buyer of ``order_id``: each field carries one of :data:`BUYER_MARKERS`."""
    n = sum(ord(c) for c in order_id) % 10_000
    return Buyer(
        family_name=f"PIIBUYER山田{n}",
        first_name="PIIBUYER花子",
        family_name_kana="PIIBUYERヤマダ",
        first_name_kana="PIIBUYERハナコ",
        email=f"pii-buyer-{n}@example.invalid",
        phone=f"090-7777-{n:04d}",
        zip_code="100-0001",
        prefecture="PII県",
        city="PIIBUYER市",
        street=f"PIIBUYER町{n}-1-1",
    )


__all__ = ["BUYER_MARKERS", "Buyer", "sentinel_buyer"]
