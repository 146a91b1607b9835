"""For programs (the benchmark, tests): start a sandbox process, call its control API, stop it.

::

    box = SandboxProcess.start(Path("work/sandbox"), "--clock", "follow", "--empty")
    box.control.call("POST", "/tabs/商品マスタ/rows", json={"rows": rows})
    worker = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=box.worker_env())
    …
    box.stop()  # SIGTERM: the sandbox saves its state and exits 0

Light on purpose (no doubles imported): the CLI's ``sandbox edit`` uses
:class:`ControlClient` too, and the CLI's parser is built for every command.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.sandbox.server.locate import SERVER_NAME, read_server

ENV_NAME = "env"


class Unreachable(Exception):
    """No sandbox answers where we looked."""


class ControlClient:
    """The ``/_sandbox`` control API of one running sandbox."""

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        # The adapters' client, whose answers reference counting frees: the benchmark
        # calls this API from the bot's process, a few times a cycle.
        from adapters.base import MallClient

        self.url = url.rstrip("/")
        self.client = MallClient(base_url=f"{self.url}/_sandbox", timeout=timeout, trust_env=False)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One control call; its JSON, or :class:`RuntimeError` with the sandbox's words."""
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TransportError as err:
            raise Unreachable(str(err)) from err
        data = response.json()
        if response.status_code >= 400:
            raise RuntimeError(data.get("error", response.text))
        answer: dict[str, Any] = data
        return answer

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def worker_env(folder: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) plus what ``<folder>/env`` exports.

    An empty value unsets the name, as the shell's empty export makes it "not set" for
    the bot's settings.
    """
    env = dict(os.environ if base is None else base)
    for token in shlex.split((folder / ENV_NAME).read_text(encoding="utf-8"), comments=True):
        name, equals, value = token.partition("=")
        if token == "export" or not equals:
            continue
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    return env


@dataclass
class SandboxProcess:
    """A ``python -m bot sandbox`` child process and its folder."""

    folder: Path
    popen: subprocess.Popen[bytes]
    log: Path
    url: str
    control: ControlClient

    @classmethod
    def start(
        cls,
        folder: Path,
        *options: str,
        env: dict[str, str] | None = None,
        timeout: float = 120.0,
    ) -> SandboxProcess:
        """Start a sandbox on a free port writing into ``folder``; wait until it answers."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SERVER_NAME).unlink(missing_ok=True)
        log = folder / "sandbox.log"
        argv = [sys.executable, "-m", "bot", "sandbox", "--dir", str(folder), "--port", "0"]
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                [*argv, *options], stdout=out, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + timeout
        while (server := read_server(folder)) is None or server.get("pid") != popen.pid:
            if popen.poll() is not None or time.monotonic() > deadline:
                popen.kill()
                tail = log.read_text("utf-8", "replace")[-2000:]
                raise RuntimeError(f"the sandbox did not start:\n{tail}")
            time.sleep(0.1)
        url = str(server["url"])
        return cls(folder, popen, log, url, ControlClient(url))

    def worker_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment ``python -m bot run`` needs to work against this sandbox."""
        return worker_env(self.folder, base)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait: the sandbox saves its state and exits (0 when saved)."""
        self.control.close()
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()
