"""Which inventory item a SKU is, and which location the bot owns (§1.2, §1.3).

Shopify keeps stock per (inventory item, location). A listing's code is its variant's
SKU; the item behind it is found with ``productVariants(query: "sku:…")``, whose search
is tokenised and not documented as exact (§1.2, UNCONFIRMED), so every answer is
filtered to ``sku == wanted`` here. Once a SKU's item is known its quantity is read
exactly by id (``nodes(ids:)``, :data:`LEVELS_QUERY`): no search, no page of other
SKUs that share a prefix. An item not found by id, or whose SKU is no longer the one
asked, is forgotten and searched again. A shop with several locations says in config
which one the bot owns; the adapter never guesses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
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

# Quantities by inventory item id, exactly. QueryRoot.nodes takes ``ids: [ID!]!`` and
# returns ``[Node]!`` in the order asked, an id not found as null
# (https://shopify.dev/docs/api/admin-graphql/latest/queries/nodes); InventoryItem has
# ``sku``, ``tracked`` and ``inventoryLevel(locationId: ID!)`` — the item's quantities at
# that location, null where it is not stocked
# (https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryItem);
# InventoryLevel.quantities(names: [String!]!) → [InventoryQuantity!]! with name and
# quantity (https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryLevel).
LEVELS_QUERY = """
query ZaikoLevels($ids: [ID!]!, $loc: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      sku
      tracked
      inventoryLevel(locationId: $loc) { quantities(names: ["available"]) { name quantity } }
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
    # Exact reads: ids per ``nodes`` call — input arrays take at most 250 items
    # (https://shopify.dev/docs/api/usage/limits; the example the changelog refuses is
    # ``nodes(ids:)`` with 252, https://shopify.dev/changelog/graphql-input-objects-limited-to-250-items).
    IDS_PER_READ: ClassVar[int] = 250
    # Requested cost per id: the item 1, its inventoryLevel 1, quantities 1 (objects 1,
    # scalars 0; an interface costs the maximum of its possible selections, here the
    # one fragment: https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).
    # The page gives no rule for a list sized by an input array: priced per id asked,
    # the cautious reading (UNCONFIRMED; the simulator charges the same). 250 ids: 750,
    # under the 1,000-point single-query cap (§1.6).
    READ_COST_PER_ID: ClassVar[float] = 3
    # Ours: an exact read is not sent for fewer ids than this when more wait (one call's
    # latency for a handful of SKUs); the queue's tail is read whatever its size.
    MIN_IDS_PER_READ: ClassVar[int] = 25
    # Ours: how long a SKU's item id is trusted before it is looked up again.
    TTL_S: ClassVar[float] = 3600.0

    def __init__(self, api: AdminApi, *, location: str, clock: Clock) -> None:
        self._api = api
        self._wanted_location = location.strip()
        self._clock = clock
        self._location: tuple[str, str] | None = None
        self._variants: dict[str, Variant] = {}
        self.last_searched: frozenset[str] = frozenset()
        """The SKUs the last :meth:`lookup` searched (their quantities are as of then)."""

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
        """Each SKU's variant; ``fresh`` reads every one now (quantities are live then).

        A SKU not looked up within :attr:`TTL_S` is searched (its item, and whether a
        second variant took the SKU, may have changed); with ``fresh`` the others whose
        item is known are read exactly by id, and searched only when the item is gone.
        """
        now = self._clock.monotonic()
        wanted = list(dict.fromkeys(skus))
        stale = [
            sku
            for sku in wanted
            if (v := self._variants.get(sku)) is None or now - v.seen_at > self.TTL_S
        ]
        if fresh:
            searched = set(stale)
            known = [sku for sku in wanted if sku not in searched and self.readable(sku)]
            for start in range(0, len(known), self.IDS_PER_READ):
                _read, lost = self._read_exact(known[start : start + self.IDS_PER_READ])
                stale += lost
            skipped = searched | set(known)
            stale += [sku for sku in wanted if sku not in skipped]
        for start in range(0, len(stale), self.SKUS_PER_SEARCH):
            self._search(stale[start : start + self.SKUS_PER_SEARCH])
        self.last_searched = frozenset(stale)
        return {sku: self._variants[sku] for sku in wanted}

    def forget_quantity(self, sku: str) -> None:
        """The next lookup of ``sku`` must read it again."""
        self._variants.pop(sku, None)

    def readable(self, sku: str) -> bool:
        """``sku``'s one inventory item is known: its quantity can be read by id."""
        variant = self._variants.get(sku)
        return variant is not None and variant.exists and variant.duplicates == 1

    def affords_search(self, reserve: float) -> bool:
        """One more search fits in the cost bucket now with ``reserve`` points to spare.

        By the pacer's reckoning from the last answer's ``throttleStatus`` (§1.7): a
        search admitted now needs no wait. The bucket is reserved at the requested cost
        (SEARCH_COST) even though most of it is refunded once the answer is in.
        """
        return self._api.pacer.wait_for(self.SEARCH_COST + reserve) <= 0

    def ids_affordable(self, reserve: float) -> int:
        """How many ids one exact read may ask now with ``reserve`` points to spare."""
        # wait_for keeps one point of slack (whole points reported): so does this.
        spare = self._api.pacer.available_now() - reserve - 1.0
        return max(min(int(spare // self.READ_COST_PER_ID), self.IDS_PER_READ), 0)

    def read_affordable(self, skus: Sequence[str], *, reserve: float) -> dict[str, Variant]:
        """Fresh variants of the leading ``skus`` the bucket affords to read now.

        ``skus`` are taken in order. A SKU whose item is known (:meth:`readable`) is
        read exactly by id with the known SKUs after it, up to :attr:`IDS_PER_READ` and
        what the bucket affords with ``reserve`` to spare; one not known is searched
        with the unknown SKUs after it. An item the exact read did not find (deleted,
        or its SKU retyped) is forgotten and searched in its place. The first read that
        does not fit ends the call, so nothing is started to wait for its turn.

        A search that has started is finished: the fuzzy SKU search (§1.2) can answer
        a page more than one for SKUs that prefix others (``ZK-1``: ``ZK-10``…), and a
        second variant with the same SKU may be on any page. Its further pages spend
        the reserve first and wait on the pacer only when the bucket runs dry: dropping
        such a search would leave it at the head of the queue, read again and dropped
        again on every call. Once found, a SKU is read by id and never searched again
        by the read-back unless its item goes.
        """
        read: dict[str, Variant] = {}
        pending = list(skus)
        while pending:
            if self.readable(pending[0]):
                batch = [sku for sku in pending if self.readable(sku)][: self.IDS_PER_READ]
                fits = self.ids_affordable(reserve)
                if fits < min(len(batch), self.MIN_IDS_PER_READ):
                    break
                batch = batch[:fits]
                found, lost = self._read_exact(batch)
            else:
                batch = [sku for sku in pending if not self.readable(sku)]
                batch = batch[: self.SKUS_PER_SEARCH]
                if not self._search(batch, reserve=reserve):
                    break
                found, lost = {sku: self._variants[sku] for sku in batch}, []
            read.update(found)
            done = set(batch)
            pending = lost + [sku for sku in pending if sku not in done]
        return read

    def _read_exact(self, skus: Sequence[str]) -> tuple[dict[str, Variant], list[str]]:
        """Quantities of known items by id: (what was read, SKUs to search again).

        A null node (the item was deleted, or is no longer this shop's) or an item
        whose SKU is no longer the one asked means the SKU is another item now or none:
        it is forgotten, to be searched. What is read keeps ``seen_at`` and
        ``duplicates`` from the search that found the item: identity is the search's
        business (:attr:`TTL_S`), quantities are this read's.
        """
        location_id, _name = self.location()
        items = [(sku, self._variants[sku].item_id) for sku in skus]
        ids = list(dict.fromkeys(item_id for _sku, item_id in items))
        data = self._api.call(
            LEVELS_QUERY,
            {"ids": ids, "loc": location_id},
            cost=self.READ_COST_PER_ID * len(ids),
        )
        nodes = data.get("nodes")
        answered = {
            str(node.get("id")): node
            for node in (nodes if isinstance(nodes, list) else [])
            if isinstance(node, dict)
        }
        read: dict[str, Variant] = {}
        lost: list[str] = []
        for sku, item_id in items:
            node = answered.get(item_id)
            if node is None or node.get("sku") != sku:
                self.forget_quantity(sku)
                lost.append(sku)
                continue
            level = node.get("inventoryLevel")
            read[sku] = self._variants[sku] = replace(
                self._variants[sku],
                tracked=node.get("tracked") is not False,
                stocked=isinstance(level, dict),
                available=_available(level),
            )
        return read, lost

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
    return Variant(
        sku=sku,
        item_id=str(item.get("id") or ""),
        tracked=item.get("tracked") is not False,
        stocked=isinstance(level, dict),
        available=_available(level),
        duplicates=len(nodes),
        seen_at=now,
    )


def _available(level: object) -> int | None:
    """The ``available`` quantity of an InventoryLevel answer (None when absent)."""
    if not isinstance(level, dict):
        return None
    for quantity in level.get("quantities") or []:
        if isinstance(quantity, dict) and quantity.get("name") == "available":
            value = quantity.get("quantity")
            return value if isinstance(value, int) else None
    return None


def _nodes(connection: object) -> list[dict[str, Any]]:
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return [n for n in nodes or [] if isinstance(n, dict)]


def _quote(value: str) -> str:
    """A search value in double quotes, backslash-escaped (Shopify search syntax)."""
    # https://shopify.dev/docs/api/usage/search-syntax
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
