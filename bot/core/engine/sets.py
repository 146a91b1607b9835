"""Sets (§4.3): nested definitions expanded to leaf components, and set stock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core import words
from bot.core.domain import Product, RowProblem, SetComponent
from bot.core.engine.contract import TAB_SETS, TAB_TITLES


@dataclass(frozen=True, slots=True)
class SetBook:
    """Validated set definitions: set sku → tuple of (component sku, qty), leaves only."""

    expanded: Mapping[str, tuple[tuple[str, int], ...]]
    invalid: frozenset[str]
    problems: tuple[RowProblem, ...]


def _set_problem(row: int, column: str, set_sku: str, text: str) -> RowProblem:
    """A セット構成 problem, naming its cell like the layout's messages do."""
    return RowProblem(
        tab=TAB_SETS,
        row=row,
        sku=set_sku,
        message=words.say(
            "engine.set_cell_problem", tab=TAB_TITLES[TAB_SETS], column=column, row=row, text=text
        ),
    )


def resolve_sets(
    sets: Sequence[SetComponent], products: Mapping[str, Product], invalid: frozenset[str]
) -> SetBook:
    """Expand nested sets to leaf components; flag missing parts, self-reference, cycles."""
    direct: dict[str, list[SetComponent]] = defaultdict(list)
    for comp in sets:
        direct[comp.set_sku].append(comp)
    problems: list[RowProblem] = []
    bad: set[str] = set()
    for set_sku, comps in direct.items():
        _check_rows(set_sku, comps, products, invalid, problems, bad)
    expanded: dict[str, tuple[tuple[str, int], ...]] = {}
    for set_sku, comps in direct.items():
        if set_sku in bad:
            continue
        leaves = _expand(direct, set_sku, ())
        if leaves is None:
            problems.append(
                _set_problem(
                    comps[0].row,
                    "A",
                    set_sku,
                    words.say("engine.set_cycle", set_sku=set_sku),
                )
            )
            bad.add(set_sku)
        elif any(leaf in invalid for leaf in leaves):
            bad.add(set_sku)  # a component row has its own problem; the set waits for it
        else:
            expanded[set_sku] = tuple(sorted(leaves.items()))
    _drop_bad_subsets(direct, expanded, bad)
    return SetBook(expanded=expanded, invalid=frozenset(bad), problems=tuple(problems))


def _check_rows(
    set_sku: str,
    comps: Sequence[SetComponent],
    products: Mapping[str, Product],
    invalid: frozenset[str],
    problems: list[RowProblem],
    bad: set[str],
) -> None:
    """One set's rows: the set and each component must be products, not the set itself."""
    if set_sku not in products and set_sku not in invalid:
        problems.append(
            _set_problem(
                comps[0].row, "A", set_sku, words.say("engine.set_sku_missing", set_sku=set_sku)
            )
        )
        bad.add(set_sku)
    elif set_sku in invalid:
        bad.add(set_sku)  # the set's own row has a problem: the set waits for the fix
    for comp in comps:
        if comp.component_sku == set_sku:
            text = words.say("engine.set_self_reference", set_sku=set_sku)
        elif comp.component_sku not in products and comp.component_sku not in invalid:
            text = words.say("engine.set_component_missing", component_sku=comp.component_sku)
        else:
            continue
        problems.append(_set_problem(comp.row, "B", set_sku, text))
        bad.add(set_sku)


def _expand(
    direct: Mapping[str, Sequence[SetComponent]], sku: str, path: tuple[str, ...]
) -> dict[str, int] | None:
    """Leaf sku → units in one ``sku``; None when the definition loops back on itself."""
    if sku in path:
        return None
    if sku not in direct:
        return {sku: 1}
    total: dict[str, int] = defaultdict(int)
    for comp in direct[sku]:
        sub = _expand(direct, comp.component_sku, (*path, sku))
        if sub is None:
            return None
        for leaf, q in sub.items():
            total[leaf] += q * comp.qty
    return dict(total)


def _drop_bad_subsets(
    direct: Mapping[str, Sequence[SetComponent]],
    expanded: dict[str, tuple[tuple[str, int], ...]],
    bad: set[str],
) -> None:
    """A set whose sub-set is bad is bad too (repeated until nothing changes)."""
    changed = True
    while changed:
        changed = False
        for set_sku in list(expanded):
            if any(c.component_sku in bad for c in direct[set_sku]):
                del expanded[set_sku]
                bad.add(set_sku)
                changed = True


def set_stock(leaves: Iterable[tuple[str, int]], stock: Mapping[str, int]) -> int:
    """Set stock: the min over components of of floor(component stock / qty); never negative (§4.3)."""
    return min((max(stock.get(sku, 0), 0) // qty for sku, qty in leaves), default=0)
