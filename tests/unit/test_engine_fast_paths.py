"""The usual cycle takes the engine's cheap paths (a slow fallback would pass every other test).

``test_engine_incremental.py`` proves the incremental step decides what a step from
scratch decides; these tests pin that a steady shop's cycle looks only at what changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import engine
from bot.core.domain import Product, PushResult, PushStatus, RowProblem, Snapshot

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
SKUS = tuple(f"P{i:02d}" for i in range(12))


def _snapshot(stock: dict[str, int]) -> Snapshot:
    products = {
        s: Product(sku=s, stock=stock[s], codes={"rakuten": (f"r-{s.lower()}",)}, row=i + 2)
        for i, s in enumerate(SKUS)
    }
    return Snapshot(products=products, mall_labels={"rakuten": "楽天"})


def _landed(plan: engine.Plan, now: datetime) -> engine.EngineState:
    """The commit landed and every push was applied."""
    state = engine.committed(plan)
    results = [PushResult(code=p.code, status=PushStatus.APPLIED) for p in plan.pushes]
    state, _, _ = engine.after_push(state, list(plan.pushes), results, now)
    return state


def _steady() -> tuple[engine.EngineState, Snapshot, datetime]:
    """A shop two cycles after start-up: every listing pushed, nothing changing."""
    snapshot = _snapshot({s: 5 for s in SKUS})
    state = _landed(engine.step(engine.EngineState(), snapshot, [], NOW), NOW)
    now = NOW + timedelta(seconds=15)
    state = _landed(engine.step(state, snapshot, [], now), now)
    return state, snapshot, now


def test_a_read_back_that_finds_listings_as_expected_edits_none() -> None:
    state, _, now = _steady()
    assert state.memo is not None
    readings = {key: listing.expected or 0 for key, listing in state.listings.items()}
    after, _, _ = engine.detect_drift(state, readings, now)
    assert after.memo is not None
    assert after.memo.edited == state.memo.edited == frozenset()
    assert after.listings is state.listings  # nothing changed: no copy of every listing


def test_a_read_back_that_finds_a_shortfall_edits_that_listing_only() -> None:
    state, _, now = _steady()
    readings = {key: listing.expected or 0 for key, listing in state.listings.items()}
    short = ("rakuten", "r-p03")
    readings[short] -= 1
    after, _, _ = engine.detect_drift(state, readings, now)
    assert after.memo is not None
    assert after.memo.edited == {short}


def test_a_steady_step_names_the_one_listing_whose_target_changed() -> None:
    state, _, now = _steady()
    assert state.memo is not None
    stock = {s: 5 for s in SKUS} | {"P04": 2}
    plan = engine.step(state, _snapshot(stock), [], now + timedelta(seconds=15))
    changed = plan.changed_targets
    assert changed is not None
    assert changed.since is state.memo.targets.flat
    # The targets are laid out as a new list (kept a list, not copied into a tuple);
    # the prior one, handed out last step, is left as it was.
    assert type(plan.targets) is list and plan.targets is not changed.since
    assert [t.quantity for t in changed.since if t.sku == "P04"] == [5]
    assert changed.keys == {("rakuten", "r-p04")}
    kept = [t for t in plan.targets if t.key not in changed.keys]
    before = [t for t in changed.since if t.sku != "P04"]
    assert all(new is old for new, old in zip(kept, before, strict=True))


def test_a_step_with_nothing_changed_hands_the_prior_targets_on() -> None:
    state, snapshot, now = _steady()
    assert state.memo is not None
    plan = engine.step(state, snapshot, [], now + timedelta(seconds=15))
    assert plan.targets is state.memo.targets.flat
    assert plan.changed_targets is not None
    assert plan.changed_targets.keys == frozenset()


def test_a_read_back_as_expected_clears_the_drift_a_hand_edit_raised() -> None:
    state, snapshot, now = _steady()
    key = ("rakuten", "r-p03")
    state, _, alerts = engine.detect_drift(state, {key: 9}, now)  # raised by hand on 楽天
    assert "drift:rakuten:r-p03" in state.conditions and len(alerts) == 1
    later = now + timedelta(seconds=15)
    state = _landed(engine.step(state, snapshot, [], later), later)  # pushed back to 5
    state, _, _ = engine.detect_drift(state, {key: 5}, later)
    assert "drift:rakuten:r-p03" not in state.conditions


def test_a_steady_step_hands_the_prior_statuses_on_and_names_none() -> None:
    # A stock change that leaves every 状態 as it was: no copy of every product's text,
    # and the commit is told no 状態 changed.
    state, _, now = _steady()
    assert state.memo is not None
    before = state.memo.conditions.statuses
    stock = {s: 5 for s in SKUS} | {"P04": 2}
    plan = engine.step(state, _snapshot(stock), [], now + timedelta(seconds=15))
    assert plan.statuses is before
    assert plan.changed_statuses == engine.ChangedStatuses(since=before, keys=frozenset())


def test_a_steady_step_names_the_one_product_whose_status_changed() -> None:
    state, _, now = _steady()
    assert state.memo is not None
    stock = {s: 5 for s in SKUS} | {"P04": -1}  # an oversell: its 状態 says so
    plan = engine.step(state, _snapshot(stock), [], now + timedelta(seconds=15))
    changed = plan.changed_statuses
    assert changed is not None
    assert changed.since is state.memo.conditions.statuses
    assert changed.keys == {"P04"}
    assert plan.statuses["P04"] != changed.since["P04"]


def test_a_row_problem_raised_and_cleared_names_its_product_each_time() -> None:
    state, snapshot, now = _steady()
    problem = RowProblem(tab="products", row=6, sku="P04", message="P04: おかしい")
    texts = []
    for problems in ((problem,), ()):
        now += timedelta(seconds=15)
        plan = engine.step(state, snapshot.model_copy(update={"problems": problems}), [], now)
        assert plan.changed_statuses is not None
        assert plan.changed_statuses.keys == {"P04"}
        texts.append(plan.statuses["P04"])
        state = _landed(plan, now)
    assert texts[0] != texts[1]
