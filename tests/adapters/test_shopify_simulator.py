"""The Shopify simulator refuses what Shopify refuses, with the documented bodies.

Each test sends raw GraphQL (no adapter) and checks the answer against
docs/api/shopify.md; the last tests run normal traffic through the adapter — the
contract scenarios and a day of orders through the worker — and find no refusal.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.core.domain import StockPush
from bot.sandbox.clock import VirtualClock
from bot.sandbox.simulators.shopify import ShopifySimulator, Unconfirmed
from bot.sandbox.simulators.shopify.core import THROTTLED_DOC
from tests.adapters import test_contract as contract
from tests.adapters.harness import Harness
from tests.adapters.test_shopify import make

SET = """
mutation S($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input)%s {
    inventoryAdjustmentGroup { id changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
"""
ITEM_QUERY = """
query V($q: String!) {
  productVariants(first: 10, query: $q) { nodes { sku inventoryItem { id } } }
}
"""


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def sim(clock: VirtualClock) -> ShopifySimulator:
    shop = ShopifySimulator(clock=clock)
    shop.add_listing("MUG-1", 5)
    return shop


def post(
    sim: ShopifySimulator,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    version: str = "2026-04",
    token: str | None = None,
    host: str | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    client = httpx.Client(transport=sim.transport)
    url = f"https://{host or sim.shop}/admin/api/{version}/graphql.json"
    headers = {"X-Shopify-Access-Token": sim.token if token is None else token}
    if content is not None:
        return client.post(url, content=content, headers=headers)
    return client.post(url, json={"query": query, "variables": variables or {}}, headers=headers)


def ids(sim: ShopifySimulator, sku: str = "MUG-1") -> tuple[str, str]:
    body = post(sim, ITEM_QUERY, {"q": f"sku:{sku}"}).json()
    [node] = [n for n in body["data"]["productVariants"]["nodes"] if n["sku"] == sku]
    return node["inventoryItem"]["id"], f"gid://shopify/Location/{sim.locations[0].location_id}"


def set_stock(
    sim: ShopifySimulator,
    quantities: list[dict[str, Any]],
    *,
    version: str = "2026-04",
    key: str | None = "fresh",
    **extra: Any,
) -> dict[str, Any]:
    directive = ""
    if key is not None:
        directive = f' @idempotent(key: "{uuid.uuid4() if key == "fresh" else key}")'
    variables = {
        "input": {"name": "available", "reason": "correction", "quantities": quantities, **extra}
    }
    response = post(sim, SET % directive, variables, version=version)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert "cost" in body["extensions"]
    return body


def quantity(sim: ShopifySimulator, qty: int, **compare: Any) -> dict[str, Any]:
    item, location = ids(sim)
    return {"inventoryItemId": item, "locationId": location, "quantity": qty, **compare}


def top_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def user_errors(body: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    payload = body["data"]["inventorySetQuantities"]
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


# --------------------------------------------------------------------------- gateway


def test_a_wrong_or_revoked_token_is_401_with_shopifys_body(sim: ShopifySimulator) -> None:
    response = post(sim, "{ shop { name } }", token="shpat_wrong")
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    sim.expire_credentials()
    assert post(sim, "{ shop { name } }").status_code == 401


@pytest.mark.parametrize(
    ("version", "host"), [("2019-04", None), ("latest", None), ("2026-04", "other.myshopify.com")]
)
def test_an_unknown_version_or_shop_is_404(
    sim: ShopifySimulator, version: str, host: str | None
) -> None:
    response = post(sim, "{ shop { name } }", version=version, host=host)
    assert (response.status_code, response.json()) == (404, {"errors": "Not Found"})


def test_a_body_that_is_not_json_is_400(sim: ShopifySimulator) -> None:
    assert post(sim, "", content=b"query=shop").status_code == 400


def test_a_syntax_error_is_a_top_level_error(sim: ShopifySimulator) -> None:
    body = post(sim, "{ shop { name }").json()
    assert top_codes(body) == ["PARSE_ERROR"] and "data" not in body


def test_a_field_shopify_does_not_have_is_refused(sim: ShopifySimulator) -> None:
    body = post(sim, "{ shop { name inventoryLevel } }").json()
    assert top_codes(body) == ["UNDEFINED_FIELD"]
    assert body["errors"][0]["message"] == "Field 'inventoryLevel' doesn't exist on type 'Shop'"


def test_a_query_over_the_single_query_cap_is_max_cost_exceeded(sim: ShopifySimulator) -> None:
    query = "{ orders(first: 50) { nodes { lineItems(first: 50) { nodes { id } } } } }"
    body = post(sim, query).json()
    assert top_codes(body) == ["MAX_COST_EXCEEDED"]
    assert body["errors"][0]["extensions"]["maxCost"] == 1000


@pytest.mark.parametrize("status", [200, 429])
def test_over_the_bucket_is_throttled_in_the_documented_body(
    clock: VirtualClock, status: int
) -> None:
    sim = ShopifySimulator(clock=clock, facts=Unconfirmed(throttle_status=status))
    sim.spend_points(2000)
    response = post(sim, "{ shop { name } }")
    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": THROTTLED_DOC,  # a link in the answer, never fetched
            },
        }
    ]
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 and cost["actualQueryCost"] is None
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}
    clock.advance(1)
    assert post(sim, "{ shop { name } }").status_code == 200  # the bucket restored


def test_every_answer_carries_the_cost_and_bucket(sim: ShopifySimulator) -> None:
    body = post(sim, ITEM_QUERY, {"q": "sku:MUG-1"}).json()
    status = body["extensions"]["cost"]["throttleStatus"]
    # 22 requested (2 + 10 × 2) are reserved; one node came back, so 2 + 1 × 2 = 4 are
    # charged and the other 18 refunded (§1.7).
    assert status == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": 2000 - 4,
        "restoreRate": 100.0,
    }


# --------------------------------------------------------------------------- cost: reserve, then refund

VARIANTS = """
query V($q: String!, $loc: ID!) {
  productVariants(first: 100, query: $q) {
    pageInfo { hasNextPage endCursor }
    nodes {
      sku
      inventoryItem {
        id tracked
        inventoryLevel(locationId: $loc) { quantities(names: ["available"]) { name quantity } }
      }
    }
  }
}
"""


def search(sim: ShopifySimulator, *skus: str) -> httpx.Response:
    location = f"gid://shopify/Location/{sim.locations[0].location_id}"
    query = " OR ".join(f"sku:{sku}" for sku in skus)
    return post(sim, VARIANTS, {"q": query, "loc": location})


def test_a_search_returning_fewer_nodes_than_first_is_refunded(sim: ShopifySimulator) -> None:
    sim.add_listing("CUP-1", 3)
    body = search(sim, "MUG-1", "CUP-1").json()
    cost = body["extensions"]["cost"]
    # Requested: 2 + 1 (pageInfo) + 100 × 4; actual: two nodes of 4 each came back.
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (403, 2 + 1 + 2 * 4)
    assert cost["throttleStatus"]["currentlyAvailable"] == 2000 - 11
    assert sim.requests[-1].actual_cost == 11


def test_an_empty_answer_costs_the_connection_alone(sim: ShopifySimulator) -> None:
    cost = search(sim, "NONE-1").json()["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (403, 3)


def test_a_null_object_costs_one_and_nothing_below_it(sim: ShopifySimulator) -> None:
    other = sim.add_location("倉庫2")
    location = f"gid://shopify/Location/{other}"  # MUG-1 is not stocked there: level is null
    body = post(sim, VARIANTS, {"q": "sku:MUG-1", "loc": location}).json()
    [node] = body["data"]["productVariants"]["nodes"]
    assert node["inventoryItem"]["inventoryLevel"] is None
    # the node 1 + inventoryItem 1 + inventoryLevel (null) 1; the connection 2 + pageInfo 1
    assert body["extensions"]["cost"]["actualQueryCost"] == 3 + 3


def test_a_mutation_costs_what_it_requested(sim: ShopifySimulator) -> None:
    body = set_stock(sim, [quantity(sim, 4, changeFromQuantity=5)])
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 10


@pytest.mark.parametrize("status", [200, 429])
def test_admission_is_on_the_requested_cost_not_the_actual(
    clock: VirtualClock, status: int
) -> None:
    """A search that would return one node (actual 7) is still THROTTLED below 403."""
    sim = ShopifySimulator(clock=clock, facts=Unconfirmed(throttle_status=status))
    sim.add_listing("MUG-1", 5)
    sim.spend_points(2000 - 402)
    response = search(sim, "MUG-1")
    assert response.status_code == status
    body = response.json()
    assert top_codes(body) == ["THROTTLED"] and "data" not in body
    cost = body["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (403, None)
    assert cost["throttleStatus"]["currentlyAvailable"] == 402  # nothing reserved
    clock.advance(0.01)  # one more point restored: the requested cost fits
    answered = search(sim, "MUG-1").json()
    assert answered["extensions"]["cost"]["actualQueryCost"] == 7
    assert answered["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 403 - 7


def test_the_single_query_cap_is_on_the_requested_cost(sim: ShopifySimulator) -> None:
    """50 × 50 line items requested is over 1,000 even when no order exists (actual 2)."""
    query = "{ orders(first: 50) { nodes { lineItems(first: 50) { nodes { id } } } } }"
    body = post(sim, query).json()
    assert (
        top_codes(body) == ["MAX_COST_EXCEEDED"] and body["errors"][0]["extensions"]["cost"] > 1000
    )


# --------------------------------------------------------------------------- nodes(ids:)

LEVELS = """
query L($ids: [ID!]!, $loc: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id sku tracked
      inventoryLevel(locationId: $loc) { quantities(names: ["available"]) { name quantity } }
    }
  }
}
"""


def read_levels(sim: ShopifySimulator, items: list[str], query: str = LEVELS) -> dict[str, Any]:
    location = f"gid://shopify/Location/{sim.locations[0].location_id}"
    response = post(sim, query, {"ids": items, "loc": location})
    assert response.status_code == 200
    return dict(response.json())


def test_nodes_answers_each_item_in_the_order_asked_and_null_for_one_not_found(
    sim: ShopifySimulator,
) -> None:
    sim.add_listing("CUP-1", 3)
    sim.add_listing("GONE-1", 1)
    mug, _location = ids(sim, "MUG-1")
    cup, _location = ids(sim, "CUP-1")
    gone, _location = ids(sim, "GONE-1")
    sim.remove_listing("GONE-1")
    other_shop = "gid://shopify/InventoryItem/987654321"
    body = read_levels(sim, [cup, other_shop, mug, gone])
    assert "errors" not in body
    level = {"quantities": [{"name": "available", "quantity": 3}]}
    assert body["data"]["nodes"] == [
        {"id": cup, "sku": "CUP-1", "tracked": True, "inventoryLevel": level},
        None,
        {
            "id": mug,
            "sku": "MUG-1",
            "tracked": True,
            "inventoryLevel": {"quantities": [{"name": "available", "quantity": 5}]},
        },
        None,
    ]


def test_a_fragment_of_another_type_answers_an_empty_object(sim: ShopifySimulator) -> None:
    mug, _location = ids(sim)
    query = "query L($ids: [ID!]!) { nodes(ids: $ids) { id ... on Location { name } } }"
    body = post(sim, query, {"ids": [mug]}).json()
    assert body["data"]["nodes"] == [{"id": mug}]


def test_nodes_costs_one_object_per_id_asked_and_refunds_what_was_not_answered(
    sim: ShopifySimulator,
) -> None:
    mug, _location = ids(sim)
    before = sim.requests[-1]
    spent = 2000 - (before.actual_cost or 0)
    body = read_levels(sim, [mug, "gid://shopify/InventoryItem/987654321"])
    cost = body["extensions"]["cost"]
    # Requested: 2 ids × (item 1 + inventoryLevel 1 + quantities 1); actual: the item
    # answered costs its 3, the null one its 1.
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (6, 3 + 1)
    assert cost["throttleStatus"]["currentlyAvailable"] == spent - 4
    assert sim.requests[-1].cost == 6 and sim.requests[-1].actual_cost == 4


def test_nodes_takes_at_most_250_ids(sim: ShopifySimulator) -> None:
    mug, _location = ids(sim)
    assert read_levels(sim, [mug] * 250)["data"]["nodes"][249]["sku"] == "MUG-1"
    body = read_levels(sim, [mug] * 251)
    assert top_codes(body) == ["MAX_INPUT_SIZE_EXCEEDED"] and "data" not in body


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (LEVELS.replace("tracked", "bogus"), "UNDEFINED_FIELD"),  # not on InventoryItem
        (LEVELS.replace("quantities(", "bogus quantities("), "UNDEFINED_FIELD"),  # nor its level
        ("query L($ids: [ID!]!) { nodes(ids: $ids) { sku } }", "UNDEFINED_FIELD"),  # Node: id
        ("query L($ids: [ID!]!) { nodes(ids: $ids) { ... on Bogus { id } } }", "UNDEFINED_TYPE"),
    ],
)
def test_nodes_refuses_what_its_types_do_not_have_even_when_no_node_is_found(
    sim: ShopifySimulator, query: str, code: str
) -> None:
    body = read_levels(sim, ["gid://shopify/InventoryItem/987654321"], query)
    assert top_codes(body) == [code] and "data" not in body


# --------------------------------------------------------------------------- inventorySetQuantities


def test_more_than_250_quantities_is_refused(sim: ShopifySimulator) -> None:
    one = quantity(sim, 1, changeFromQuantity=None)
    body = set_stock(sim, [one] * 251)
    assert top_codes(body) == ["MAX_INPUT_SIZE_EXCEEDED"] and sim.stock("MUG-1") == 5


def test_before_2026_01_changefromquantity_and_idempotent_do_not_exist(
    sim: ShopifySimulator,
) -> None:
    body = set_stock(sim, [quantity(sim, 1, changeFromQuantity=5)], version="2025-10", key=None)
    assert top_codes(body) == ["INVALID_VARIABLE"]
    body = set_stock(sim, [quantity(sim, 1, compareQuantity=5)], version="2025-10")
    assert top_codes(body) == ["UNDEFINED_DIRECTIVE"]
    assert sim.stock("MUG-1") == 5


def test_before_2026_01_a_quantity_without_compare_is_compare_quantity_required(
    sim: ShopifySimulator,
) -> None:
    body = set_stock(sim, [quantity(sim, 1)], version="2025-10", key=None)
    assert user_errors(body) == [
        ("COMPARE_QUANTITY_REQUIRED", ["input", "quantities", "0", "compareQuantity"])
    ]
    body = set_stock(
        sim, [quantity(sim, 1)], version="2025-10", key=None, ignoreCompareQuantity=True
    )
    assert user_errors(body) == [] and sim.stock("MUG-1") == 1


def test_from_2026_04_compare_quantity_is_gone_and_change_from_must_be_present(
    sim: ShopifySimulator,
) -> None:
    assert top_codes(set_stock(sim, [quantity(sim, 1, compareQuantity=5)])) == ["INVALID_VARIABLE"]
    assert top_codes(set_stock(sim, [quantity(sim, 1)])) == ["INVALID_VARIABLE"]
    assert top_codes(
        set_stock(sim, [quantity(sim, 1, changeFromQuantity=5)], ignoreCompareQuantity=True)
    ) == ["INVALID_VARIABLE"]
    assert sim.stock("MUG-1") == 5
    # changeFromQuantity: null explicitly skips the check
    assert user_errors(set_stock(sim, [quantity(sim, 1, changeFromQuantity=None)])) == []
    assert sim.stock("MUG-1") == 1


def test_from_2026_04_the_idempotent_directive_is_required(sim: ShopifySimulator) -> None:
    body = set_stock(sim, [quantity(sim, 1, changeFromQuantity=5)], key=None)
    assert top_codes(body) == ["BAD_REQUEST"] and sim.stock("MUG-1") == 5
    body = set_stock(sim, [quantity(sim, 1, changeFromQuantity=5)], version="2026-01", key=None)
    assert user_errors(body) == [] and sim.stock("MUG-1") == 1  # optional in 2026-01


@pytest.mark.parametrize(
    ("version", "compare", "code"),
    [
        ("2025-10", "compareQuantity", "COMPARE_QUANTITY_STALE"),
        ("2026-01", "compareQuantity", "COMPARE_QUANTITY_STALE"),
        ("2026-01", "changeFromQuantity", "CHANGE_FROM_QUANTITY_STALE"),
        ("2026-04", "changeFromQuantity", "CHANGE_FROM_QUANTITY_STALE"),
    ],
)
def test_a_stale_compare_is_refused_and_nothing_is_set(
    sim: ShopifySimulator, version: str, compare: str, code: str
) -> None:
    key = None if version < "2026-01" else "fresh"
    body = set_stock(sim, [quantity(sim, 9, **{compare: 4})], version=version, key=key)
    assert user_errors(body) == [(code, ["input", "quantities", "0", compare])]
    assert body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"] is None
    assert sim.stock("MUG-1") == 5


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        (
            {"inventoryItemId": "gid://shopify/InventoryItem/999999"},
            "INVALID_INVENTORY_ITEM",
            "inventoryItemId",
        ),
        ({"locationId": "gid://shopify/Location/999999"}, "INVALID_LOCATION", "locationId"),
        ({"quantity": 1_000_000_001}, "INVALID_QUANTITY_TOO_HIGH", "quantity"),
    ],
)
def test_per_quantity_errors_name_their_index_and_sink_the_whole_call(
    sim: ShopifySimulator, change: dict[str, Any], code: str, path: str
) -> None:
    sim.add_listing("CUP-1", 3)
    good = {**quantity(sim, 7, changeFromQuantity=5)}
    cup_item, location = ids(sim, "CUP-1")
    bad = {
        "inventoryItemId": cup_item,
        "locationId": location,
        "quantity": 1,
        "changeFromQuantity": 3,
        **change,
    }
    body = set_stock(sim, [good, bad])
    assert user_errors(body) == [(code, ["input", "quantities", "1", path])]
    assert (sim.stock("MUG-1"), sim.stock("CUP-1")) == (5, 3)  # all or nothing


def test_an_item_not_stocked_at_the_location_is_refused(clock: VirtualClock) -> None:
    sim = ShopifySimulator(clock=clock, locations=("本店倉庫", "渋谷店"))
    sim.add_listing("MUG-1", 5)
    item, _ = ids(sim)
    other = f"gid://shopify/Location/{sim.locations[1].location_id}"
    body = set_stock(
        sim,
        [{"inventoryItemId": item, "locationId": other, "quantity": 1, "changeFromQuantity": None}],
    )
    assert [c for c, _f in user_errors(body)] == ["ITEM_NOT_STOCKED_AT_LOCATION"]


def test_name_reason_and_duplicates_are_checked(sim: ShopifySimulator) -> None:
    q = quantity(sim, 1, changeFromQuantity=5)
    body = set_stock(sim, [q, q])
    assert [c for c, _f in user_errors(body)] == ["NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"]
    body = post(
        sim,
        SET % f' @idempotent(key: "{uuid.uuid4()}")',
        {"input": {"name": "committed", "reason": "because", "quantities": [q]}},
    ).json()
    assert [c for c, _f in user_errors(body)] == ["INVALID_NAME", "INVALID_REASON"]
    assert sim.stock("MUG-1") == 5


def test_an_idempotency_key_replays_and_refuses_other_input(sim: ShopifySimulator) -> None:
    key = str(uuid.uuid4())
    first = set_stock(sim, [quantity(sim, 8, changeFromQuantity=5)], key=key)
    sim.set_stock("MUG-1", 6)  # a sale meanwhile; the replay must not set 8 again
    again = set_stock(sim, [quantity(sim, 8, changeFromQuantity=5)], key=key)
    assert again["data"] == first["data"] and sim.stock("MUG-1") == 6
    other = set_stock(sim, [quantity(sim, 9, changeFromQuantity=6)], key=key)
    assert [c for c, _f in user_errors(other)] == ["IDEMPOTENCY_KEY_PARAMETER_MISMATCH"]
    assert sim.stock("MUG-1") == 6


def test_a_set_answers_the_adjustment_it_made(sim: ShopifySimulator) -> None:
    body = set_stock(sim, [quantity(sim, 8, changeFromQuantity=5)])
    group = body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]
    assert group["changes"] == [{"name": "available", "delta": 3, "quantityAfterChange": 8}]


# --------------------------------------------------------------------------- search and orders


@pytest.mark.parametrize(("fuzzy", "found"), [(True, {"ZK-1", "ZK-10"}), (False, {"ZK-1"})])
def test_sku_search_is_fuzzy_or_exact_as_configured(
    clock: VirtualClock, fuzzy: bool, found: set[str]
) -> None:
    sim = ShopifySimulator(clock=clock, facts=Unconfirmed(fuzzy_sku_search=fuzzy))
    sim.add_listing("ZK-1", 1)
    sim.add_listing("ZK-10", 1)
    body = post(sim, ITEM_QUERY, {"q": 'sku:"ZK-1"'}).json()
    assert {n["sku"] for n in body["data"]["productVariants"]["nodes"]} == found


def test_orders_filter_by_updated_at_and_page(sim: ShopifySimulator, clock: VirtualClock) -> None:
    for _ in range(3):
        clock.advance(60)
        sim.place_order([("MUG-1", 1)])
    since = (sim.now() - timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = """query O($q: String!) { orders(first: 1, sortKey: UPDATED_AT, query: $q) {
      pageInfo { hasNextPage endCursor } nodes { name updatedAt cancelledAt } } }"""
    body = post(sim, query, {"q": f"updated_at:>={since}"}).json()
    page = body["data"]["orders"]
    assert [n["name"] for n in page["nodes"]] == ["#1002"] and page["pageInfo"]["hasNextPage"]


# --------------------------------------------------------------------------- normal runs refuse nothing


NORMAL_SCENARIOS = [
    contract.test_check_succeeds_with_good_credentials,
    contract.test_push_twice_gives_the_same_end_state,
    contract.test_unknown_code_fails_alone,
    contract.test_batches_never_exceed_the_mall_limit,
    contract.test_orders_appear_as_lines_with_their_units,
    contract.test_a_cancel_reports_zero_units,
    contract.test_the_same_fetch_twice_gives_the_same_lines,
    contract.test_read_stock_returns_live_quantities,
]


@pytest.mark.parametrize("scenario", NORMAL_SCENARIOS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "facts", [Unconfirmed(), Unconfirmed(fuzzy_sku_search=False, bucket_size=1000, restore_rate=50)]
)
def test_the_contract_scenarios_trigger_no_refusal(scenario: Any, facts: Unconfirmed) -> None:
    clock = VirtualClock()
    sim = ShopifySimulator(clock=clock, facts=facts)
    scenario(Harness("shopify", clock, sim=sim))
    assert sim.rejections() == []


@pytest.mark.parametrize("version", ["2025-10", "2026-01", "2026-04"])
def test_a_day_of_orders_triggers_no_refusal(version: str) -> None:
    """Hourly sales and cancels, each hour fetched, pushed and read back, in every version."""
    clock = VirtualClock()
    sim = ShopifySimulator(clock=clock)
    adapter = make(sim, version=version)
    codes = [sim.add_listing(sim.sample_code(n), 20) for n in range(12)]
    stock = {code: 20 for code in codes}
    adapter.push_stock([StockPush(mall="shopify", code=c, quantity=q) for c, q in stock.items()])
    start = clock.now()
    placed: list[str] = []
    for hour in range(10):
        for n, code in enumerate(codes):
            if (hour + n) % 3 == 0 and sim.stock(code):
                order = sim.place_order([(code, 1)])
                assert order is not None
                placed.append(order)
        if hour % 4 == 3:
            sim.cancel_order(placed[-1])
        clock.advance(3600)
        lines = adapter.fetch_order_lines(start, clock.now())
        taken: dict[str, int] = {}
        for line in lines:
            taken[line.code] = taken.get(line.code, 0) + line.units
        pushes = [StockPush(mall="shopify", code=c, quantity=20 - taken.get(c, 0)) for c in codes]
        results = adapter.push_stock(pushes)
        assert all(r.quantity == p.quantity for r, p in zip(results, pushes, strict=True))
        assert adapter.read_stock(codes) == {p.code: p.quantity for p in pushes}
    assert len({ln.order_id for ln in adapter.fetch_order_lines(start, clock.now())}) == len(placed)
    assert sim.rejections() == []
