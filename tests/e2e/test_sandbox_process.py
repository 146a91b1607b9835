"""The production worker as its own process against ``python -m bot sandbox``.

Everything here is a subprocess: the sandbox is ``python -m bot sandbox`` started as a
program starts it (:class:`~bot.sandbox.server.client.SandboxProcess`), the workers as the
README says (``set -a; . sandbox/env; set +a; exec python -m bot run``) — the stolen-key
one with :meth:`SandboxProcess.worker_env`, a program's way — and one order is typed with
``python -m bot sandbox edit``. The test reads the sheet and the channels through the
control API and waits for what it expects (generous time-outs, no timing asserted).
Signals are real: SIGTERM must end the worker with status 0, SIGKILL must lose and
double nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.sandbox.server.client import SandboxProcess

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = "rakuten,shopify"
WAIT = 120.0
"""Seconds any one expected outcome may take before the test fails (no timing asserted;
generous: with 60 s it failed twice on a heavily loaded 2-CPU machine, never alone)."""
T = TypeVar("T")


def clean_env() -> dict[str, str]:
    """This machine's environment without any zaiko, Slack or Google setting in it."""
    drop = ("ZAIKO_", "SLACK_", "GOOGLE_APPLICATION_CREDENTIALS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONPATH"] = str(ROOT)
    return env


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = WAIT) -> T:
    """Poll ``probe`` until it returns something (not None/False); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.2)


@dataclass
class Process:
    """A child process whose output goes to files (a pipe could fill and stall it)."""

    name: str
    popen: subprocess.Popen[bytes]
    out: Path
    err: Path

    @classmethod
    def start(cls, name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> Process:
        out, err = cwd / f"{name}.out", cwd / f"{name}.err"
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            popen = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stdout, stderr=stderr)
        return cls(name, popen, out, err)

    def text(self) -> str:
        return self.out.read_text("utf-8", "replace") + self.err.read_text("utf-8", "replace")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            pytest.fail(f"{self.name} did not stop within {timeout:.0f} s:\n{self.text()[-3000:]}")


@dataclass
class Sandbox:
    """One ``python -m bot sandbox`` (through :class:`SandboxProcess`, as programs start it)."""

    folder: Path
    """The working directory; the sandbox writes into ``./sandbox`` there."""
    box: SandboxProcess | None = None
    workers: list[Process] = field(default_factory=list)
    bad_key: Process | None = None

    @property
    def dir(self) -> Path:
        return self.folder / "sandbox"

    @property
    def log(self) -> str:
        return (self.dir / "sandbox.log").read_text("utf-8", "replace")

    def start(self) -> None:
        options = ("--interval", "5", "--malls", CHANNELS)
        self.box = SandboxProcess.start(self.dir, *options, env=clean_env())

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        assert self.box is not None
        return self.box.control.call("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.box is not None
        return self.box.control.call("POST", path, json=body)

    def tab(self, title: str) -> list[list[Any]]:
        values: list[list[Any]] = self.get(f"/tabs/{title}")["values"]
        return values

    def product(self, sku: str) -> dict[str, Any]:
        return next(p for p in self.get("/malls")["products"] if p["sku"] == sku)

    def sales_of(self, order: str) -> list[list[Any]]:
        sales = self.tab("販売ログ")
        i_order = sales[0].index("注文番号")
        return [row for row in sales[1:] if len(row) > i_order and str(row[i_order]) == order]

    def worker(self, name: str) -> Process:
        """``python -m bot run`` as the README says to start it."""
        command = f"set -a; . ./sandbox/env; set +a; exec {sys.executable} -m bot run"
        process = Process.start(name, ["bash", "-c", command], self.folder, clean_env())
        self.workers.append(process)
        return process

    def running_worker(self) -> Process | None:
        """The last worker started that is still running (the stolen-key one aside)."""
        live = [w for w in self.workers if w is not self.bad_key and w.popen.poll() is None]
        return live[-1] if live else None

    def edit(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "sandbox", "edit", *argv],
            cwd=self.folder,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One sandbox for the module; a worker with a stolen key starts beside it at once.

    The stolen-key worker only waits and retries, so it runs alongside the other tests
    and its own test reads what it said by then (the suite stays short).
    """
    shop = Sandbox(tmp_path_factory.mktemp("shop"))
    shop.start()
    assert shop.box is not None
    # A program's way to run a worker: the sandbox's env, then one setting changed.
    env = shop.box.worker_env(clean_env())
    env["ZAIKO_GOOGLE_SERVICE_ACCOUNT_JSON"] = str(stolen_key(shop))
    argv = [sys.executable, "-m", "bot", "run"]
    shop.bad_key = Process.start("worker-bad-key", argv, shop.folder, env)
    shop.workers.append(shop.bad_key)
    yield shop
    for worker in shop.workers:
        if worker.popen.poll() is None:
            worker.stop(signal.SIGKILL)
    if shop.box is not None:
        shop.box.stop()


def started(worker: Process) -> Callable[[], bool]:
    """The worker opened the sheet and rebuilt its state (its log says so)."""

    def probe() -> bool:
        if worker.popen.poll() is not None:
            pytest.fail(f"{worker.name} exited:\n{worker.text()}")
        return "bot.shell.worker: started" in worker.text()

    return probe


def test_the_worker_syncs_an_order_typed_with_edit(
    sandbox: Sandbox,
) -> None:
    shirt = sandbox.product("TS-WH-M")
    worker = sandbox.worker("worker-a")

    done = sandbox.edit("order", "楽天", "TS-WH-M", "2")  # while the worker starts up

    assert done.returncode == 0, done.stderr
    order = done.stdout.split("注文番号 ")[1].split("（")[0]
    wait_for("the order in 販売ログ", lambda: sandbox.sales_of(order))
    assert sandbox.product("TS-WH-M")["stock"] == shirt["stock"] - 2
    wait_for(
        "Shopify to show two fewer",
        lambda: sandbox.product("TS-WH-M")["channels"]["shopify"]["stock"] == shirt["stock"] - 2,
    )
    assert worker.popen.poll() is None  # the next test kills it


def test_a_worker_killed_right_after_an_order_loses_and_doubles_nothing_then_stops_on_sigterm(
    sandbox: Sandbox,
) -> None:
    mug = sandbox.product("MUG-BL")
    first = sandbox.running_worker()
    if first is None:
        first = sandbox.worker("worker-b")
        wait_for("worker B to start", started(first))

    order = sandbox.post("/channels/rakuten/orders", {"lines": [["MUG-BL", 2]]})["order"]
    wait_for("the order in 販売ログ", lambda: sandbox.sales_of(order))
    first.popen.send_signal(signal.SIGKILL)  # right after its commit, before or while pushing
    first.popen.wait(timeout=30)

    mark = sandbox.get("/requests", target="sheets")["last"]
    second = sandbox.worker("worker-c")
    wait_for("worker C to start", started(second))
    wait_for(  # its first cycle: the commit (the order fetched again), then the push results
        "worker C's first cycle",
        # batchUpdates only: the commit's narrow re-read is a POST too (batchGetByDataFilter)
        lambda: (
            sum(
                e["method"] == "POST" and e["path"].endswith(":batchUpdate")
                for e in sandbox.get("/requests", target="sheets", since=mark)["requests"]
            )
            >= 2
        ),
    )
    assert sandbox.product("MUG-BL")["channels"]["shopify"]["stock"] == mug["stock"] - 2
    assert len(sandbox.sales_of(order)) == 1
    assert sandbox.product("MUG-BL")["stock"] == mug["stock"] - 2
    assert second.stop(signal.SIGTERM, timeout=30) == 0


def stolen_key(box: Sandbox) -> Path:
    """The sandbox's key file with another private key in it (one it never issued)."""
    key = json.loads((box.dir / "service-account.json").read_text("utf-8"))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key["private_key"] = stranger.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = box.folder / "stolen-key.json"
    path.write_text(json.dumps(key), encoding="utf-8")
    return path


def test_a_key_the_sandbox_did_not_issue_is_refused_and_the_worker_waits(
    sandbox: Sandbox,
) -> None:
    worker = sandbox.bad_key
    assert worker is not None  # started with the sandbox (see the fixture)

    said = (
        "Google がサービスアカウントのキーを受け付けません（invalid_grant: Invalid JWT Signature.）"
    )
    wait_for("the refusal in plain Japanese", lambda: said in worker.text())
    assert sandbox.get("/counters")["counters"]["google"]["refused"] >= 1
    assert worker.popen.poll() is None, "the worker waits and retries instead of exiting"
    assert worker.stop(signal.SIGTERM, timeout=30) == 0


def test_a_restarted_sandbox_carries_on_from_its_state_file(sandbox: Sandbox) -> None:
    assert sandbox.box is not None
    tabs = sandbox.get("")["tabs"]
    before = {tab: sandbox.tab(tab) for tab in tabs}
    listing = sandbox.product("TS-WH-M")["channels"]

    assert sandbox.box.stop(timeout=30) == 0
    assert "状態は保存済み" in sandbox.log
    sandbox.start()

    assert "状態ファイルから再開します" in sandbox.log
    assert {tab: sandbox.tab(tab) for tab in tabs} == before
    assert sandbox.product("TS-WH-M")["channels"] == listing
