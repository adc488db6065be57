"""A real reward model HTTP server on 127.0.0.1 for the tests (starlette + uvicorn in a thread).

Routes: ``POST /score`` (longjudge's native contract), ``/classify`` and ``/pooling`` (vLLM's
answer shapes) and ``/broken`` (a 200 with the wrong shape). The score is scripted by the
response text: ``SCORE=<number>`` in it, else its length / 100; a response that contains
``NULL`` gets no score. The reference adds 0.5 (native: a non-null ``reference``; vLLM routes:
the default reference template's words in the user turn), so tests can tell the inputs apart.
``fail_next`` makes the next requests answer 503.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_SCORE = re.compile(r"SCORE=(-?\d+(?:\.\d+)?)")


def scripted(response: str, with_reference: bool) -> float | None:
    if "NULL" in response:
        return None
    match = _SCORE.search(response)
    base = float(match.group(1)) if match else len(response) / 100
    return base + (0.5 if with_reference else 0.0)


@dataclass
class ServerState:
    fail_next: int = 0
    requests: list[tuple[str, Any]] = field(default_factory=list)


def make_app(state: ServerState) -> Starlette:
    async def guard(request: Request) -> tuple[Any, JSONResponse | None]:
        body = await request.json()
        state.requests.append((request.url.path, body))
        if state.fail_next > 0:
            state.fail_next -= 1
            return body, JSONResponse({"error": "busy"}, 503, headers={"Retry-After": "0"})
        return body, None

    async def native(request: Request) -> JSONResponse:
        body, failed = await guard(request)
        if failed:
            return failed
        items = body["items"]
        scores = [scripted(i["response"], i["reference"] is not None) for i in items]
        return JSONResponse({"scores": scores})

    def _vllm(body: dict[str, Any]) -> float | None:
        user, assistant = body["messages"][0]["content"], body["messages"][1]["content"]
        return scripted(assistant, "reference answer" in user)

    async def classify(request: Request) -> JSONResponse:
        body, failed = await guard(request)
        if failed:
            return failed
        value = _vllm(body)
        data = [{"index": 0, "label": None, "probs": [value], "num_classes": 1}]
        return JSONResponse({"object": "list", "model": body.get("model"), "data": data})

    async def pooling(request: Request) -> JSONResponse:
        body, failed = await guard(request)
        if failed:
            return failed
        value = _vllm(body)
        rows = [[0.0], [-1.0], [value]]  # per-token values: the last one is the sequence's
        return JSONResponse({"data": [{"index": 0, "object": "pooling", "data": rows}]})

    async def broken(request: Request) -> JSONResponse:
        _, failed = await guard(request)
        return failed or JSONResponse({"oops": True})

    return Starlette(
        routes=[
            Route("/score", native, methods=["POST"]),
            Route("/classify", classify, methods=["POST"]),
            Route("/pooling", pooling, methods=["POST"]),
            Route("/broken", broken, methods=["POST"]),
        ]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server() -> Iterator[tuple[str, ServerState]]:
    """Start the server on a free port; yield (base URL, state); stop it."""
    state = ServerState()
    port = free_port()
    config = uvicorn.Config(
        make_app(state), host="127.0.0.1", port=port, log_level="error", lifespan="off",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("reward model test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
