"""A tiny instance of ``python -m bench scale``: the harness runs and reports every key.

The default mode starts ``python -m bot sandbox`` as a subprocess and runs the bot here
against it over HTTP; ``--inline`` keeps the doubles in process. Benchmarks are never
timed tests: nothing here asserts a duration or a size in bytes of memory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import main
from bench.boxed import BOT_CODE
from bench.scale import ScaleOptions, run_size
from bot.sandbox.server.locate import CODE_PACKAGES, code_fingerprint

ROOT = Path(__file__).resolve().parents[2]
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


def assert_issue_keys(size: dict[str, Any]) -> None:
    for key, kind in KEYS.items():
        assert isinstance(size[key], kind), (key, size[key])
    assert all(isinstance(v, float) for v in size["full_push_virtual_s"].values())


def test_the_sandbox_mode_runs_the_bot_against_a_sandbox_process() -> None:
    size = run_size(ScaleOptions(products=50, minutes=2))

    assert_issue_keys(size)
    assert size["mode"] == "sandbox"
    assert size["products"] == 50
    assert size["cycles"] == 8
    assert size["cycle_errors"] == 0
    assert size["sheet_requests_per_cycle"] >= 1
    assert size["sheet_cells_read_per_product"] > 0
    assert size["full_push_listings"] == {"rakuten": 50}
    assert set(size["full_push_virtual_s"]) == {"rakuten"}
    assert size["staff_edit_probes"] == "2/2"
    assert size["google_token_calls"] >= 1  # real google-auth fetched its token over HTTP
    # The bot's peak and the sandbox's are two figures from two processes.
    assert size["peak_rss_includes_emulator"] is False
    assert isinstance(size["sandbox_peak_rss_mb"], float) and size["sandbox_peak_rss_mb"] > 0
    assert size["peak_rss_mb"] > 0


def test_a_sandbox_running_other_code_than_the_bot_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A simulator edited after the bench imported the bot: its sandbox is not measured.

    ``python -m bot sandbox`` imports the checkout of the working directory. A four-mall
    run at 10k whose sandbox started while a Shopify simulator file was half-edited got
    HTTP 500 for every ``inventorySetQuantities`` and reported the whole Shopify cold
    push failed (full_push_failed 10,000), which was taken for a fault of the adapter.
    """
    copy = tmp_path / "checkout"
    for package in CODE_PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("*.pyc"))
    assert code_fingerprint(copy) == BOT_CODE  # the same source wherever it lies
    simulator = copy / "bot" / "sandbox" / "simulators" / "shopify" / "inventory.py"
    simulator.write_text(simulator.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    monkeypatch.chdir(copy)  # the sandbox child imports this copy

    with pytest.raises(RuntimeError, match="other code than this benchmark's bot"):
        run_size(ScaleOptions(products=5, minutes=0.25, channels=("shopify",)))


def test_the_cli_reports_the_bot_process_alone_as_one_json_object() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "scale", "--json", "--sizes", "30", "--minutes", "0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["mode"] == "sandbox" and "bot's process alone" in out["note"]
    [size] = out["sizes"]
    assert_issue_keys(size)
    assert size["products"] == 30
    # The emulator was never loaded in the process whose peak RSS is reported.
    assert size["sheets_emulator_in_bot_process"] is False
    assert size["sandbox_peak_rss_mb"] > 0


def test_the_inline_debugging_mode_keeps_the_doubles_in_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scale", "--json", "--inline", "--sizes", "30", "--minutes", "0.5"]) == 0

    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "inline" and "--inline" in out["note"]
    [size] = out["sizes"]
    assert_issue_keys(size)
    assert size["products"] == 30
    assert size["peak_rss_includes_emulator"] is True
    assert size["sandbox_peak_rss_mb"] is None


def test_a_full_push_answered_pending_counts_until_its_outcome_is_known() -> None:
    # 60 Amazon listings: more than Amazon takes as PATCHes, so the cold push is a feed
    # whose outcome the worker learns cycles later (adapters/amazon/feeds.py).
    size = run_size(
        ScaleOptions(products=60, minutes=3, channels=("rakuten", "amazon"), mode="inline")
    )

    assert_issue_keys(size)
    assert size["cycle_errors"] == 0
    assert size["full_push_listings"]["amazon"] == 60
    assert size["full_push_unsettled"] == {}
    sent, known = size["full_push_sent_virtual_s"], size["full_push_virtual_s"]
    assert known["amazon"] > sent["amazon"]  # learnt in a later cycle than it was sent
    assert known["rakuten"] == sent["rakuten"]  # a channel that answers at once
