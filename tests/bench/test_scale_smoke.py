"""A tiny instance of ``python -m bench scale``: the harness runs and reports every key.

Benchmarks are never timed tests: nothing here asserts a duration.
"""

from __future__ import annotations

import json

import pytest

from bench.__main__ import main
from bench.scale import ScaleOptions, run_size

KEYS = {
    "products": int,
    "sheet_requests_per_cycle": int,
    "sheet_cells_read_per_product": float,
    "bytes_read_per_cycle": int,
    "largest_request_bytes": int,
    "engine_ms": float,
    "bot_cycle_fraction": float,
    "bot_cycle_max_fraction": float,
    "peak_rss_mb": float,
    "full_push_virtual_s": dict,
    "staff_edit_latency_s": float,
}


def test_scale_smoke_reports_every_key() -> None:
    size = run_size(ScaleOptions(products=50, minutes=2))
    for key, kind in KEYS.items():
        assert isinstance(size[key], kind), (key, size[key])
    assert size["products"] == 50
    assert size["cycles"] == 8
    assert size["cycle_errors"] == 0
    assert size["sheet_requests_per_cycle"] >= 1
    assert size["sheet_cells_read_per_product"] > 0
    assert size["full_push_listings"] == {"rakuten": 50}
    assert set(size["full_push_virtual_s"]) == {"rakuten"}
    assert size["staff_edit_probes"] == "2/2"


def test_scale_cli_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scale", "--json", "--sizes", "30", "--minutes", "0.5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["products"] for s in out["sizes"]] == [30]
    assert set(KEYS) <= set(out["sizes"][0])
