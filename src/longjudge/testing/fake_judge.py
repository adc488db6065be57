"""A fake OpenAI-compatible judge server for tests and benchmarks (real HTTP on loopback).

``POST /v1/chat/completions`` answers a structured request (``response_format`` of type
``json_schema`` with ``json_schema.schema``, or ``json_object`` with ``schema``) with an output
valid for that schema, the same for the same request body; a plain request gets a short text; a
``script`` (in-process only) may answer instead. ``GET /v1/models`` and ``GET /health`` exist for
clients that probe. Latency, capacity (requests served at once) and fault injection come from
:class:`~longjudge.testing.fake_config.FakeJudgeConfig`. Every request is logged.

In-process::

    with FakeJudgeServer(FakeJudgeConfig(latency=0.05, capacity=8)) as server:
        judge = create_judge("openai/fake-judge", JudgeConfig(base_url=server.base_url))

From a shell: ``python -m longjudge.testing.fake_judge --port 8099 --fault-rate 0.2``.

For benchmarks, :class:`FakeJudgeProcess` runs the same server in a child process, so that it
does not share the interpreter lock with the pipeline being measured.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .fake_app import FakeJudgeApp, Script, uvicorn_config
from .fake_config import FakeJudgeConfig


class FakeJudgeServer:
    """Runs :class:`FakeJudgeApp` under uvicorn in a background thread on a free port."""

    def __init__(
        self,
        config: FakeJudgeConfig | None = None,
        *,
        script: Script | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = config or FakeJudgeConfig()
        self.app = FakeJudgeApp(self.config, script)
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: Any = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """One record per API request (not /health, /stats): time, path, model, fault, status ..."""
        return self.app.requests

    @property
    def stats(self) -> dict[str, Any]:
        return self.app.stats()

    def start(self, timeout: float = 15.0) -> FakeJudgeServer:
        import socket

        import uvicorn

        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so, and
        # without it every response waits ~40 ms for a delayed ACK (Nagle).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((self.host, self.port))
        self.port = int(self._socket.getsockname()[1])
        self._server = uvicorn.Server(uvicorn_config(self.app, self.host, self.port))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True,
            name=f"fake-judge-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake judge server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is not None and thread is not None and thread.is_alive():
            if self.app.loop is not None and not self.app.loop.is_closed():
                self.app.loop.call_soon_threadsafe(self.app.close_hangs)
            server.should_exit = True
            thread.join(timeout=15.0)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self.app.close()
        self._server = self._thread = None

    def __enter__(self) -> FakeJudgeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeJudgeProcess:
    """The fake server in a child process (``python -m longjudge.testing.fake_judge``).

    For throughput benchmarks: the server then has its own interpreter lock. There is no
    ``script`` and no in-memory request list across processes; use ``config.log_file`` and
    :attr:`stats` (``GET /stats``).
    """

    def __init__(self, config: FakeJudgeConfig | None = None, *, host: str = "127.0.0.1") -> None:
        self.config = config or FakeJudgeConfig()
        self.host = host
        self.port = 0
        self._proc: Any = None
        self._dir: Any = None
        self._log: Any = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def stats(self) -> dict[str, Any]:
        import httpx

        data: dict[str, Any] = httpx.get(f"http://{self.host}:{self.port}/stats").json()
        return data

    def start(self, timeout: float = 30.0) -> FakeJudgeProcess:
        import subprocess
        import sys
        import tempfile
        from pathlib import Path

        self._dir = tempfile.TemporaryDirectory(prefix="fake-judge-")
        folder = Path(self._dir.name)
        config_file, port_file = folder / "config.json", folder / "port"
        config_file.write_text(self.config.model_dump_json(), encoding="utf-8")  # JSON is YAML
        self._log = (folder / "server.log").open("wb")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "longjudge.testing.fake_judge", "--host", self.host,
             "--port", "0", "--port-file", str(port_file), "--config", str(config_file)],
            stdout=subprocess.DEVNULL, stderr=self._log,
        )
        deadline = time.monotonic() + timeout
        while not self._ready(port_file):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                log = (folder / "server.log").read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"the fake judge process did not start: {log}")
            time.sleep(0.05)
        return self

    def _ready(self, port_file: Any) -> bool:
        import httpx

        if not self.port:
            if not port_file.exists() or not port_file.read_text().strip():
                return False
            self.port = int(port_file.read_text())
        try:
            return httpx.get(f"http://{self.host}:{self.port}/health", timeout=1).is_success
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        import subprocess

        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> FakeJudgeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["FakeJudgeApp", "FakeJudgeConfig", "FakeJudgeProcess", "FakeJudgeServer", "Script"]


if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in the tests
    from .fake_cli import main

    main()
