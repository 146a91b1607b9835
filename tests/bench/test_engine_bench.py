"""A tiny instance of ``python -m bench engine``: the harness runs and reports its keys.

Benchmarks are never timed tests: nothing here asserts a duration.
"""

from __future__ import annotations

import json

import pytest

from bench.__main__ import main
from bench.engine import EngineOptions, run


def test_engine_bench_runs_a_cold_and_steady_steps() -> None:
    size = run(EngineOptions(products=200, cycles=3))
    assert size["products"] == 200
    assert size["listings"] == 300  # one 楽天 code each, a Yahoo! code on every second
    assert size["cycles"] == 3
    assert size["cold_pushes"] == 300  # start-up pushes every listing
    assert size["steady_stock_writes_mean"] > 0  # orders and 入出庫 rows moved stock
    for key in ("cold_ms", "first_ms", "steady_mean_ms", "steady_median_ms", "steady_max_ms"):
        assert isinstance(size[key], float)


def test_engine_bench_cli_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["engine", "--products", "100", "--cycles", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["products"] for s in out["sizes"]] == [100]
    assert {"cold_ms", "steady_mean_ms", "steady_max_ms"} <= set(out["sizes"][0])


def test_engine_bench_decides_the_same_whether_rows_are_reused_or_parsed_afresh() -> None:
    reused = run(EngineOptions(products=150, cycles=4))
    fresh = run(EngineOptions(products=150, cycles=4, fresh_objects=True))
    for key in ("cold_pushes", "steady_pushes_mean", "steady_stock_writes_mean"):
        assert reused[key] == fresh[key], key
