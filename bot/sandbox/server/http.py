"""The process: one threaded HTTP server on 127.0.0.1, a state keeper, a clean shutdown.

Each connection gets a thread (``ThreadingHTTPServer``); every call goes through
:meth:`SandboxWorld.handle` under the world's one lock. HTTP/1.1 with keep-alive, so
the worker's sessions reuse their connections; a reply the doubles "lose" closes the
connection without an answer.

:class:`StateKeeper` writes the state file when something changed, at most every
``MIN_GAP`` seconds and never more often than ``SLOWDOWN`` × the last save took (a
100k-product book takes about a second to pickle and the world is locked meanwhile),
and once more on SIGTERM/SIGINT before the process exits 0. A sandbox killed with
SIGKILL comes back as it was at its last save (at most a few seconds old).

Measured on this project's 2-CPU machine under load: a 10,000-product book pickles in
about 0.9 s (4 MB), a 100,000-product one in about 9 s (35 MB; loading takes as long),
so at that size the world is locked for seconds at each save. ``--save-every 0`` saves
only at shutdown and on ``POST /_sandbox/save`` (what a benchmark wants).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from bot.sandbox.server import state as state_file
from bot.sandbox.server.bridge import Call, header_pairs
from bot.sandbox.server.files import write_files
from bot.sandbox.server.locate import SERVER_NAME
from bot.sandbox.server.world import SandboxWorld

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MIN_GAP = 2.0
SLOWDOWN = 5.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, world: SandboxWorld) -> None:
        self.world = world
        super().__init__((HOST, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """Headers and body go out in two writes; with Nagle on, a kept-alive client's
    delayed ACK held every answer ~40 ms (measured by the benchmark)."""
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        call = Call(self.command, path, query, header_pairs(self.headers.items()), self._body())
        reply = self.server.world.handle(call)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class StateKeeper:
    """Saves the world to its file when dirty, throttled, and once more at the end."""

    def __init__(self, world: SandboxWorld, path: Path, min_gap: float = MIN_GAP) -> None:
        self.world = world
        self.path = path
        self.min_gap = min_gap
        """Seconds between saves at least; 0: only on request and at shutdown."""
        self.last_save = 0.0
        self.last_duration = 0.0
        self.saves = 0

    def due(self) -> bool:
        """Dirty, and the throttle allows a save now."""
        if self.min_gap <= 0:
            return False
        gap = max(self.min_gap, SLOWDOWN * self.last_duration)
        return self.world.dirty and time.monotonic() - self.last_save >= gap

    def save(self) -> dict[str, Any]:
        """Pickle under the lock, write outside it; what was saved, for the control API."""
        started = time.monotonic()
        with self.world.lock:
            data = state_file.dumps(self.world.state())
            self.world.dirty = False
        state_file.write_atomically(self.path, data)
        self.last_save = time.monotonic()
        self.last_duration = self.last_save - started
        self.saves += 1
        return {"state": str(self.path), "bytes": len(data), "seconds": self.last_duration}

    def run(self, stop: threading.Event) -> None:
        """Check four times a second until ``stop``."""
        while not stop.wait(0.25):
            if self.due():
                try:
                    self.save()
                except Exception:  # keep serving; the next change tries again
                    log.exception("sandbox: could not save the state to %s", self.path)


class SandboxServer:
    """The HTTP server and the state keeper of one world, in background threads."""

    def __init__(
        self, world: SandboxWorld, *, port: int, state: Path, save_every: float = MIN_GAP
    ) -> None:
        self.world = world
        self.http = _Server(port, world)
        self.port = int(self.http.server_address[1])
        world.bind(f"http://{HOST}:{self.port}")
        self.keeper = StateKeeper(world, state, save_every)
        world.save_now = self.keeper.save
        self.stopping = threading.Event()
        self._threads = [
            threading.Thread(
                target=self.http.serve_forever, args=(0.1,), name="sandbox-http", daemon=True
            ),
            threading.Thread(
                target=self.keeper.run, args=(self.stopping,), name="sandbox-state", daemon=True
            ),
        ]

    def start(self) -> None:
        """Save once (the file exists from the start), then serve."""
        self.keeper.save()
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop serving, then save what the last requests changed."""
        self.stopping.set()
        self.http.shutdown()
        self.http.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self.keeper.save()


def serve(
    world: SandboxWorld, *, port: int, state: Path, folder: Path, save_every: float = MIN_GAP
) -> int:
    """Listen until SIGTERM/SIGINT; save and exit 0. 1 when the port is taken."""
    try:
        server = SandboxServer(world, port=port, state=state, save_every=save_every)
    except OSError as err:
        print(
            f"ポート {port} で待ち受けできません（{err}）。--port を変えてください", file=sys.stderr
        )
        return 1
    server.start()
    write_files(world, folder, state)
    stop = threading.Event()
    _on_signals(stop)
    _announce(world, folder)
    while not stop.wait(1.0):
        pass
    (folder / SERVER_NAME).unlink(missing_ok=True)
    try:
        server.stop()
    except Exception as err:
        log.exception("sandbox: could not save the state to %s", state)
        print(f"状態を保存できませんでした（{err}）/ state NOT saved", file=sys.stderr)
        return 1
    print("サンドボックスを止めました（状態は保存済み）/ sandbox stopped, state saved", flush=True)
    return 0


def _on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _announce(world: SandboxWorld, folder: Path) -> None:
    shown = folder if not folder.is_absolute() else folder.resolve()
    lines = [
        f"サンドボックスを起動しました / sandbox listening on {world.base_url}",
        f"  シート / sheet: {world.sheet_id}（{'、'.join(world.sims)}）",
        f"  時計 / clock: {world.clock.mode}",
        "  ワーカーを動かすには別の端末で / to run the worker, in another terminal:",
        f"    set -a; . {shown}/env; set +a; python -m bot run",
        "  シートに入力するには / to type into the sheet:",
        "    python -m bot sandbox edit --help",
    ]
    print("\n".join(lines), flush=True)
