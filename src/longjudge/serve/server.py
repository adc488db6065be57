"""Build the reward server from a judge spec and config files, and run it on uvicorn."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import ScoreConfig, load_config
from ..errors import ConfigError
from .auth import BearerAuth
from .config import ServeConfig, ServeFile

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("longjudge.serve")

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class ServerSettings:
    """What the server scores with, and where it listens."""

    judge: str
    method: str = "longreward"
    score: ScoreConfig = field(default_factory=ScoreConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    host: str = "127.0.0.1"
    port: int = 8000


def load_configs(
    path: Path | None,
    score_flags: dict[str, Any] | None = None,
    serve_flags: dict[str, Any] | None = None,
) -> tuple[ScoreConfig, ServeConfig]:
    """The ``score`` sections and the ``serve:`` section of one YAML file (flags win)."""
    loaded = load_config(ServeFile, path, score_flags, {"serve": serve_flags or {}})
    return loaded.score_config(), loaded.serve


def access_summary(serve: ServeConfig, token: str | None) -> str:
    """Who may call the scoring endpoints, in one line for the start-up log (no secrets).

    ``allow_from`` without a token is a contradiction (everyone is already let in): an error.
    """
    if token is None:
        if serve.allow_from:
            raise ConfigError(
                "serve.allow_from (--allow-from) needs a token: with --no-auth every network "
                "is already accepted"
            )
        return "authentication OFF: anyone who can reach the port can score"
    if not serve.allow_from:
        return "bearer token required from every network"
    return (
        f"requests without a token accepted from {', '.join(serve.allow_from)}; "
        "bearer token required from every other network"
    )


def build_app(settings: ServerSettings, token: str | None) -> FastAPI:
    """The application over one :class:`~longjudge.scoring.ScoringContext` (judge behind a
    circuit breaker, shared cache, client, scorer), which the app's lifespan closes."""
    from ..scoring.context import ScoringContext
    from .service import RewardService

    try:
        from .app import create_app
    except ImportError as exc:
        from ..errors import MissingDependencyError

        raise MissingDependencyError(exc.name or "fastapi", "serve", "the reward server") from exc

    from ..judges.base import Judge
    from .breaker import BreakerJudge, JudgeBreaker

    breakers: list[JudgeBreaker] = []

    def guard(judge: Judge) -> Judge:
        breakers.append(
            JudgeBreaker(
                judge, settings.serve.breaker_failures, settings.serve.breaker_probe_interval
            )
        )
        return BreakerJudge(judge, breakers[0])

    context = ScoringContext(settings.judge, settings.method, settings.score, wrap_judge=guard)
    service = RewardService(context.scorer, settings.score.limits)
    app = create_app(service, settings.serve, BearerAuth(token), context, breakers[0])
    app.state.scoring = context  # for inspection; the lifespan owns it
    return app


def run_server(settings: ServerSettings, token: str | None) -> None:
    """Serve until interrupted. The token is never logged."""
    try:
        import uvicorn
    except ImportError as exc:
        from ..errors import MissingDependencyError

        raise MissingDependencyError("uvicorn", "serve", "the reward server") from exc
    access = access_summary(settings.serve, token)
    if token is None:
        log.warning("authentication is OFF (--no-auth): anyone who can reach the port can score")
    elif settings.serve.allow_from:  # a deliberate hole in authentication: say so loudly
        log.warning("access: %s", access)
    else:
        log.info("access: %s", access)
    if settings.host not in LOOPBACK:
        log.warning("listening on %s: reachable from other machines", settings.host)
    from .logs import access_log_config

    app = build_app(settings, token)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=access_log_config(),
        timeout_keep_alive=settings.serve.keep_alive,
    )


@contextmanager
def serve_in_thread(
    app: FastAPI,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    access_log: bool = False,
    keep_alive: int = ServeConfig().keep_alive,
) -> Iterator[str]:
    """Run ``app`` on uvicorn in a background thread; yield its base URL; stop it after.

    ``port=0`` takes a free port. For tests and for embedding the server in a trainer process.
    ``access_log`` logs each request as ``longjudge serve`` does (query values redacted).
    """
    import uvicorn

    from .logs import access_log_config

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        log_config=access_log_config(),
        lifespan="on",
        timeout_keep_alive=keep_alive,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the reward server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


__all__ = [
    "ServerSettings",
    "access_summary",
    "build_app",
    "load_configs",
    "run_server",
    "serve_in_thread",
]
