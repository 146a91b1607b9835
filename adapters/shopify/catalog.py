"""Which inventory item a SKU is, and which location the bot owns (§1.2, §1.3).

Shopify keeps stock per (inventory item, location). A listing's code is its variant's
SKU; the item behind it is found with ``productVariants(query: "sku:…")``, whose search
is tokenised and not documented as exact (§1.2, UNCONFIRMED), so every answer is
filtered to ``sku == wanted`` here. A shop with several locations says in config which
one the bot owns; the adapter never guesses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from adapters.base import MallError
from adapters.shopify.wire import AdminApi
from bot.infra.clock import Clock

LOCATIONS_QUERY = """
query ZaikoLocations {
  locations(first: 50) { nodes { id name isActive } }
}
"""

VARIANTS_QUERY = """
query ZaikoVariants($q: String!, $loc: ID!, $after: String) {
  productVariants(first: 100, query: $q, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      sku
      inventoryItem {
        id
        tracked
        inventoryLevel(locationId: $loc) { quantities(names: ["available"]) { name quantity } }
      }
    }
  }
}
"""

LOCATION_GID = "gid://shopify/Location/"


class LocationProblem(MallError):
    """The configured location does not exist, or several exist and none is configured."""


@dataclass(frozen=True)
class Variant:
    """What the adapter knows of one SKU at the bot's location."""

    sku: str
    item_id: str = ""
    """``gid://shopify/InventoryItem/…``; '' when no variant has this SKU."""
    tracked: bool = True
    stocked: bool = True
    """The item has an inventory level at the bot's location."""
    available: int | None = None
    duplicates: int = 1
    """Variants sharing the SKU (Shopify allows it; the bot refuses to pick one)."""
    seen_at: float = 0.0

    @property
    def exists(self) -> bool:
        """A variant with exactly this SKU exists."""
        return bool(self.item_id)


class Catalog:
    """SKU → inventory item and its available quantity, remembered for a while."""

    # Searches per call: 25 SKUs joined with OR, 100 variants a page. Cost by Shopify's
    # rules (§1.7 [S8]: a connection costs 2 + first × node, objects 1, scalars 0):
    # 2 + 1 (pageInfo) + 100 × 4 points, under the 1,000-point single-query cap (§1.6).
    SKUS_PER_SEARCH: ClassVar[int] = 25
    SEARCH_COST: ClassVar[float] = 2 + 1 + 100 * 4
    LOCATIONS_COST: ClassVar[float] = 2 + 50 * 1
    # Ours: how long a SKU's item id is trusted before it is looked up again.
    TTL_S: ClassVar[float] = 3600.0

    def __init__(self, api: AdminApi, *, location: str, clock: Clock) -> None:
        self._api = api
        self._wanted_location = location.strip()
        self._clock = clock
        self._location: tuple[str, str] | None = None
        self._variants: dict[str, Variant] = {}

    # ------------------------------------------------------------------ location

    def locations(self) -> list[tuple[str, str]]:
        """Active locations as (id, name)."""
        data = self._api.call(LOCATIONS_QUERY, {}, cost=self.LOCATIONS_COST)
        nodes = _nodes(data.get("locations"))
        return [
            (str(n.get("id") or ""), str(n.get("name") or ""))
            for n in nodes
            if n.get("id") and n.get("isActive", True) is not False
        ]

    def location(self) -> tuple[str, str]:
        """(id, name) of the location the bot owns, resolved once from config."""
        if self._location is None:
            self._location = choose_location(self.locations(), self._wanted_location)
        return self._location

    # ------------------------------------------------------------------ variants

    def known(self, sku: str) -> Variant | None:
        """What the last lookup said of ``sku`` (None if never looked up)."""
        return self._variants.get(sku)

    def lookup(self, skus: Iterable[str], *, fresh: bool = False) -> dict[str, Variant]:
        """Each SKU's variant; ``fresh`` reads every one now (quantities are live then)."""
        now = self._clock.monotonic()
        wanted = list(dict.fromkeys(skus))
        stale = [
            sku
            for sku in wanted
            if fresh or (v := self._variants.get(sku)) is None or now - v.seen_at > self.TTL_S
        ]
        for start in range(0, len(stale), self.SKUS_PER_SEARCH):
            self._search(stale[start : start + self.SKUS_PER_SEARCH])
        return {sku: self._variants[sku] for sku in wanted}

    def forget_quantity(self, sku: str) -> None:
        """The next lookup of ``sku`` must read it again."""
        self._variants.pop(sku, None)

    def affords_search(self, reserve: float) -> bool:
        """One more search fits in the cost bucket now with ``reserve`` points to spare.

        By the pacer's reckoning from the last answer's ``throttleStatus`` (§1.7): a
        search admitted now needs no wait. The bucket is reserved at the requested cost
        (SEARCH_COST) even though most of it is refunded once the answer is in.
        """
        return self._api.pacer.wait_for(self.SEARCH_COST + reserve) <= 0

    def read_affordable(self, skus: Sequence[str], *, reserve: float) -> dict[str, Variant]:
        """Fresh variants of the leading ``skus`` whose searches the bucket affords now.

        Searches go out in order while :meth:`affords_search`; the first that does not
        fit ends the read, so a search is never started to wait for its turn. A search that has started is finished: the fuzzy SKU search
        (§1.2) can answer a page more than one for SKUs that prefix others (``ZK-1``:
        ``ZK-10``…), and a second variant with the same SKU may be on any page. Its
        further pages spend the reserve first and wait on the pacer only when the bucket
        runs dry: dropping such a search would leave it at the head of the queue, read
        again and dropped again on every call, and nothing behind it would be read.
        """
        read: dict[str, Variant] = {}
        for start in range(0, len(skus), self.SKUS_PER_SEARCH):
            chunk = skus[start : start + self.SKUS_PER_SEARCH]
            if not self._search(chunk, reserve=reserve):
                break
            read.update((sku, self._variants[sku]) for sku in chunk)
        return read

    def _search(self, skus: Sequence[str], *, reserve: float | None = None) -> bool:
        """Search ``skus`` and remember what was found (True).

        With ``reserve``: False, nothing sent, when the first page does not fit in the
        bucket with ``reserve`` points to spare; further pages are paced as usual.
        """
        location_id, _name = self.location()
        query = " OR ".join(f"sku:{_quote(sku)}" for sku in skus)
        found: dict[str, list[Mapping[str, Any]]] = {sku: [] for sku in skus}
        after: str | None = None
        while True:
            if reserve is not None and after is None and not self.affords_search(reserve):
                return False
            data = self._api.call(
                VARIANTS_QUERY,
                {"q": query, "loc": location_id, "after": after},
                cost=self.SEARCH_COST,
            )
            connection = data.get("productVariants")
            for node in _nodes(connection):
                sku = node.get("sku")
                # Exact match only: the search may return "ABC-10" for "sku:ABC-1".
                if isinstance(sku, str) and sku in found:
                    found[sku].append(node)
            page = connection.get("pageInfo") if isinstance(connection, dict) else None
            if not (isinstance(page, dict) and page.get("hasNextPage") and page.get("endCursor")):
                break
            after = str(page["endCursor"])
        now = self._clock.monotonic()
        for sku, nodes in found.items():
            self._variants[sku] = _variant(sku, nodes, now)
        return True


class ReadQueue:
    """SKUs the read-back was asked for and has not read yet, oldest ask first.

    Each SKU asked gets a place at the back unless it already waits: one asked again
    while queued keeps its place. A SKU read leaves the queue, so one asked after its
    read queues behind every SKU still waiting, and repeated asks for more SKUs than
    one call can read go round all of them. The queue holds at most the distinct SKUs
    asked (the shop's listings the bot syncs).
    """

    def __init__(self) -> None:
        self._places: dict[str, int] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._places)

    def __contains__(self, sku: object) -> bool:
        return sku in self._places

    def order(self, skus: Sequence[str]) -> list[str]:
        """``skus`` (each once) queued, and returned in queue order: oldest ask first."""
        places = self._places
        for sku in skus:
            if sku not in places:
                places[sku] = self._next
                self._next += 1
        return sorted(dict.fromkeys(skus), key=places.__getitem__)

    def done(self, skus: Iterable[str]) -> None:
        """``skus`` were read: they leave the queue."""
        for sku in skus:
            self._places.pop(sku, None)


def choose_location(locations: Sequence[tuple[str, str]], wanted: str) -> tuple[str, str]:
    """The configured location (id, numeric id or name); the only one when none is set."""
    names = "、".join(name for _id, name in locations) or "なし"
    if not wanted:
        if len(locations) == 1:
            return locations[0]
        raise LocationProblem(
            f"Shopify にロケーションが {len(locations)} 件あります（{names}）。"
            "ボットが在庫を管理するロケーションを zaiko.toml の [malls.shopify] location に"
            "名前か ID で設定してください"
        )
    gid = wanted if wanted.startswith(LOCATION_GID) else ""
    if wanted.isdigit():
        gid = LOCATION_GID + wanted
    for location in locations:
        if (gid and location[0] == gid) or (not gid and location[1].strip() == wanted):
            return location
    raise LocationProblem(
        f"Shopify のロケーション『{wanted}』が見つかりません（有効なロケーション: {names}）。"
        "[malls.shopify] location を直してください"
    )


def _variant(sku: str, nodes: Sequence[Mapping[str, Any]], now: float) -> Variant:
    if not nodes:
        return Variant(sku=sku, seen_at=now)
    item = nodes[0].get("inventoryItem")
    item = item if isinstance(item, dict) else {}
    level = item.get("inventoryLevel")
    available = None
    if isinstance(level, dict):
        for quantity in level.get("quantities") or []:
            if isinstance(quantity, dict) and quantity.get("name") == "available":
                value = quantity.get("quantity")
                available = value if isinstance(value, int) else None
    return Variant(
        sku=sku,
        item_id=str(item.get("id") or ""),
        tracked=item.get("tracked") is not False,
        stocked=isinstance(level, dict),
        available=available,
        duplicates=len(nodes),
        seen_at=now,
    )


def _nodes(connection: object) -> list[dict[str, Any]]:
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return [n for n in nodes or [] if isinstance(n, dict)]


def _quote(value: str) -> str:
    """A search value in double quotes, backslash-escaped (Shopify search syntax)."""
    # https://shopify.dev/docs/api/usage/search-syntax
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
