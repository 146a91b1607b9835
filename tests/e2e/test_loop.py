"""The runner on real time: stop promptly, survive a failing cycle, never overlap ticks.

Real waits here are kept to a few hundredths of a second each (``min_interval`` lets the
runner tick faster than the 設定 tab's 5-second floor); the SIGTERM test runs a small
``python -m bot run``-like program in a subprocess.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests

from bot.infra.clock import RealClock
from bot.infra.sheet.gateway import SheetGateway, make_client
from bot.sandbox.alerts import MemoryAlerts
from bot.sandbox.sheets import SHEETS_PREFIX
from bot.shell.loop import Runner
from bot.shell.worker import Worker
from tests.e2e.conftest import fresh_sheet

ROOT = Path(__file__).resolve().parents[2]
FAST = 0.001


def run_in_thread(runner: Runner, **kw: int) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(runner.run(**kw)), daemon=True)
    thread.start()
    return thread, result


def test_setting_the_stop_event_ends_the_wait_between_cycles_at_once() -> None:
    stop = threading.Event()
    ticked = threading.Event()
    runner = Runner(cycle=ticked.set, interval=lambda: 60, clock=RealClock(), stop=stop)
    thread, result = run_in_thread(runner)
    assert ticked.wait(1.0)  # the first cycle runs at once
    time.sleep(0.05)  # the runner is now waiting for a tick a minute away
    started = time.perf_counter()
    stop.set()
    thread.join(1.0)
    assert not thread.is_alive()
    assert time.perf_counter() - started < 0.2
    assert result == [1]


def test_a_cycle_that_raises_does_not_stop_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[float] = []

    def cycle() -> None:
        calls.append(time.perf_counter())
        if len(calls) <= 2:
            raise RuntimeError(f"boom {len(calls)}")

    runner = Runner(
        cycle=cycle,
        interval=lambda: 0.01,
        clock=RealClock(),
        stop=threading.Event(),
        min_interval=FAST,
    )
    with caplog.at_level(logging.ERROR, logger="bot.shell.loop"):
        assert runner.run(max_cycles=4) == 4
    assert len(calls) == 4
    failures = [r for r in caplog.records if "failed; the loop goes on" in r.getMessage()]
    assert len(failures) == 2 and all(r.exc_info for r in failures)


def test_ticks_never_overlap_even_when_a_cycle_outlasts_the_interval() -> None:
    lock = threading.Lock()
    active = 0
    spans: list[tuple[float, float]] = []

    def cycle() -> None:
        nonlocal active
        with lock:
            active += 1
            assert active == 1, "two cycles at once"
        start = time.perf_counter()
        time.sleep(0.02)  # longer than the interval
        spans.append((start, time.perf_counter()))
        with lock:
            active -= 1

    runner = Runner(
        cycle=cycle,
        interval=lambda: 0.005,
        clock=RealClock(),
        stop=threading.Event(),
        min_interval=FAST,
    )
    assert runner.run(max_cycles=5) == 5
    assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(spans))


def test_a_new_interval_from_the_settings_tab_takes_effect_without_a_restart() -> None:
    ticks: list[float] = []
    interval = [60.0]

    def cycle() -> None:
        ticks.append(time.perf_counter())
        interval[0] = 0.01  # staff changed 連動間隔 during the first cycle

    runner = Runner(
        cycle=cycle,
        interval=lambda: interval[0],
        clock=RealClock(),
        stop=threading.Event(),
        min_interval=FAST,
    )
    assert runner.run(max_cycles=3) == 3
    assert ticks[-1] - ticks[0] < 0.5


def test_the_interval_counts_from_the_end_of_a_slow_first_cycle() -> None:
    starts: list[float] = []
    ends: list[float] = []

    def cycle() -> None:
        starts.append(time.perf_counter())
        if len(starts) == 1:
            time.sleep(0.06)  # start-up pushes every listing
        ends.append(time.perf_counter())

    runner = Runner(
        cycle=cycle,
        interval=lambda: 0.03,
        clock=RealClock(),
        stop=threading.Event(),
        min_interval=FAST,
    )
    assert runner.run(max_cycles=2) == 2
    assert starts[1] - ends[0] >= 0.03


def test_the_production_floor_keeps_a_zero_interval_from_spinning() -> None:
    runner = Runner(
        cycle=lambda: None, interval=lambda: 0, clock=RealClock(), stop=threading.Event()
    )
    assert runner._interval() == 1.0


def test_stop_during_a_sheet_retry_ends_the_real_worker_and_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGTERM while the gateway waits to retry Google: the wait is cut, the loop ends."""
    emu, sid = fresh_sheet()
    stop = threading.Event()
    clock = RealClock()
    session = requests.Session()
    session.trust_env = False
    emu.mount(session)
    client = make_client(session=session, clock=clock, stop=stop)
    gateway = SheetGateway.open(client, sid, malls=[])
    assert session.get_adapter(SHEETS_PREFIX) is emu
    worker = Worker(gateway=gateway, adapters={}, alerts=MemoryAlerts(), clock=clock, stop=stop)
    emu.fail_next(503, times=5)  # the start-up read now waits ≥ 2 s before its retry
    runner = Runner(cycle=worker.cycle, interval=lambda: 15, clock=clock, stop=stop)

    timer = threading.Timer(0.1, stop.set)
    timer.start()
    started = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="bot.shell.loop"):
        assert runner.run() == 1
    elapsed = time.perf_counter() - started
    timer.join()
    assert elapsed < 0.6
    assert any("interrupted by shutdown" in r.getMessage() for r in caplog.records)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


PROGRAM = textwrap.dedent(
    """
    import logging, sys, threading
    from bot.infra.clock import RealClock
    from bot.shell.loop import Runner

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    stop = threading.Event()
    clock = RealClock()

    def cycle():
        print("tick", flush=True)
        clock.sleep(30, stop)  # like a retry backoff inside the cycle

    runner = Runner(cycle=cycle, interval=lambda: 15, clock=clock, stop=stop)
    runner.install_signal_handlers()
    print(f"stopped after {runner.run()}", flush=True)
    """
)


def test_sigterm_ends_the_process_promptly_even_mid_cycle() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "tick"  # inside the cycle, waiting
        started = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=5)
        elapsed = time.perf_counter() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip() == "stopped after 1"
    assert elapsed < 10.0  # the 30 s wait was cut short (Heroku allows 30 s in all)
    assert "finishing the current step" in err


def test_the_daily_summary_time_is_japan_time_whatever_the_machine_zone() -> None:
    import os
    import time

    from bot.infra.clock import RealClock
    from bot.shell.loop import local_time_of_jst

    old = os.environ.get("TZ")
    try:
        os.environ["TZ"] = "UTC"
        time.tzset()
        assert local_time_of_jst("09:00", RealClock().now()) == "00:00"
        os.environ["TZ"] = "Asia/Tokyo"
        time.tzset()
        assert local_time_of_jst("09:00", RealClock().now()) == "09:00"
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
