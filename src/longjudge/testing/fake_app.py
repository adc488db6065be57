"""The ASGI application behind the fake judge server: routes, faults, capacity and answers.

A bare ASGI callable over starlette's request and response classes (no middleware stack), served
by uvicorn's h11 protocol, to keep per-request overhead low at high capacity. See
:mod:`longjudge.testing.fake_judge` for how to run it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import IO, Any

from ..judges.schema_fill import fill_schema
from .fake_config import FakeJudgeConfig, FaultKind, FaultPlan

#: A scripted answer: ``(request body as a dict) -> output text`` (one call per choice).
Script = Callable[[dict[str, Any]], str]
ASGIFn = Callable[..., Any]

# What llama.cpp's server (llama-cpp-python 0.3) answers to response_format json_schema.
_LLAMA_CPP_REJECTION = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', "
    "'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
)


class FakeJudgeApp:
    """The ASGI application: routing, faults, capacity, answers and the request log."""

    def __init__(self, config: FakeJudgeConfig, script: Script | None = None) -> None:
        self.config = config
        self.script = script if script is not None else _load_script(config.script)
        self.plan = FaultPlan(config)
        self.requests: list[dict[str, Any]] = []
        self.by_status: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.in_service = 0
        self.peak_in_service = 0
        self.waiting = 0
        self.rejected = 0
        self._slots: asyncio.Semaphore | None = None
        self._closing: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._log: IO[str] | None = None
        self._counter = 0
        if config.log_file:
            self._log = open(config.log_file, "a", encoding="utf-8")

    # -- ASGI entry ---------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: ASGIFn, send: ASGIFn) -> None:
        from starlette.responses import JSONResponse

        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path.endswith("/chat/completions") and method == "POST":
            await self._chat(scope, receive, send)
            return
        if path == "/health" and method == "GET":  # monitoring: not logged
            await JSONResponse({"status": "ok"})(scope, receive, send)
            return
        if path == "/stats" and method == "GET":
            await JSONResponse(self.stats())(scope, receive, send)
            return
        if path.endswith("/models") and method == "GET":
            data = [{"id": self.config.model, "object": "model", "owned_by": "longjudge"}]
            response = JSONResponse({"object": "list", "data": data})
        else:
            response = JSONResponse({"error": {"message": f"no route {method} {path}"}}, 404)
        self._done(_record(path), response.status_code)
        await response(scope, receive, send)

    # -- chat completions ---------------------------------------------------------------------

    async def _chat(self, scope: dict[str, Any], receive: ASGIFn, send: ASGIFn) -> None:
        from starlette.requests import Request
        from starlette.responses import Response

        raw = await Request(scope, receive).body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._done(_record(scope["path"]), 400)
            await _error(400, "body must be a JSON object with 'messages'")(scope, receive, send)
            return
        fmt = body.get("response_format")
        fmt_type = fmt.get("type") if isinstance(fmt, dict) else None
        record = _record(scope["path"], body.get("model"), fmt_type, body.get("n") or 1)
        if self.config.record_bodies:
            record["body"] = body
        if self.config.reject_json_schema and fmt_type == "json_schema":
            self._done(record, 500)
            await _error(500, _LLAMA_CPP_REJECTION)(scope, receive, send)
            return
        limit = self.config.max_prompt_chars
        if limit is not None and _prompt_chars(body) > limit:
            self._done(record, 400)
            message = f"This model's maximum context length is {limit} characters"
            await _error(400, message, "context_length_exceeded")(scope, receive, send)
            return
        fault = self.plan.draw()
        record["fault"] = fault
        if fault is not None:
            self.faults[fault] += 1
        early = self._early_fault(fault, scope)
        if early is not None:
            self._done(record, early.status_code)
            await early(scope, receive, send)
            return
        if fault == "drop":
            self._done(record, None)
            await _drop(receive)
            return
        if fault == "hang":
            self._done(record, None)
            await self._hang(scope, receive, send)
            return
        if self.config.overflow == "reject" and self.in_service >= self.config.capacity:
            self.rejected += 1
            record["overflow"] = True
            self._done(record, 429)
            await _too_busy(self.config.retry_after)(scope, receive, send)
            return
        response: Response = await self._served(body, raw, fault, fmt)
        self._done(record, response.status_code)
        await response(scope, receive, send)

    def _early_fault(self, fault: FaultKind | None, scope: dict[str, Any]) -> Any:
        """The faults answered at once, without a serving slot (as a gateway would)."""

        if fault == "rate_limit":
            return _too_busy(self.config.retry_after)
        if fault == "server_error":
            return _error(500, "the fake judge had an internal error")
        if fault == "auth":
            token = ""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    token = value.decode("latin-1").removeprefix("Bearer ")
            # Echoes the key on purpose: the client must scrub it from its errors.
            return _error(401, f"Incorrect API key provided: {token}", "invalid_api_key")
        return None

    async def _served(
        self, body: dict[str, Any], raw: bytes, fault: FaultKind | None, fmt: Any
    ) -> Any:
        """Wait for a slot, hold it for ``latency``, then build the answer."""
        from starlette.responses import Response

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.capacity)
        self.waiting += 1
        async with self._slots:
            self.waiting -= 1
            self.in_service += 1
            self.peak_in_service = max(self.peak_in_service, self.in_service)
            latency = self.config.latency + self.config.latency_per_load * (self.in_service - 1)
            try:
                if latency > 0:
                    await asyncio.sleep(latency)
                if fault == "malformed_json":
                    return Response(b'{"id": "chatcmpl-broken", "choices": [{"ind', 200,
                                    media_type="application/json")
                payload = self._completion(body, raw, fault, _schema_of(fmt))
            finally:
                self.in_service -= 1
        return Response(json.dumps(payload).encode(), 200, media_type="application/json")

    def _completion(
        self, body: dict[str, Any], raw: bytes, fault: FaultKind | None, schema: Any
    ) -> dict[str, Any]:
        seed = int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")
        n = int(body.get("n") or 1)
        choices = []
        completion_chars = 0
        for index in range(n):
            text = self._answer(body, schema, random.Random(seed + index))
            finish = "stop"
            if fault == "truncated":
                text, finish = text[: len(text) // 2], "length"
            elif fault == "schema_invalid":
                text = _break_schema(text, schema)
            completion_chars += len(text)
            choices.append({
                "index": index,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            })
        prompt_chars = sum(len(str(m.get("content") or "")) for m in body["messages"]
                           if isinstance(m, dict))
        self._counter += 1
        prompt_tokens, completion_tokens = prompt_chars // 4, completion_chars // 4
        return {
            "id": f"chatcmpl-fake-{self._counter}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.config.model,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _answer(self, body: dict[str, Any], schema: Any, rng: random.Random) -> str:
        if self.script is not None:
            return self.script(body)
        if isinstance(schema, dict):
            return json.dumps(fill_schema(schema, rng), ensure_ascii=False)
        return "The fake judge read " + str(fill_schema({"type": "string"}, rng)) + "."

    async def _hang(self, scope: dict[str, Any], receive: ASGIFn, send: ASGIFn) -> None:
        """Answer nothing until the client disconnects, the server stops or time runs out."""
        if self._closing is None:
            self._closing = asyncio.Event()
            self.loop = asyncio.get_running_loop()
        gone = asyncio.ensure_future(receive())  # the body is read: this waits for disconnect
        closing = asyncio.ensure_future(self._closing.wait())
        done, pending = await asyncio.wait(
            {gone, closing}, timeout=self.config.hang_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if gone in done:
            return
        if closing in done:
            await _drop(receive)
            return
        await _error(504, "the fake judge hung")(scope, receive, send)

    def close_hangs(self) -> None:
        """Release hanging requests (called in the server's loop when it stops)."""
        if self._closing is not None:
            self._closing.set()

    def _done(self, record: dict[str, Any], status: int | None) -> None:
        record["status"] = status
        self.requests.append(record)
        self.by_status[str(status)] += 1
        if self._log is not None:
            self._log.write(json.dumps({k: v for k, v in record.items() if k != "body"}) + "\n")
            self._log.flush()

    def stats(self) -> dict[str, Any]:
        return {
            "requests": len(self.requests),
            "by_status": dict(self.by_status),
            "faults": dict(self.faults),
            "in_service": self.in_service,
            "peak_in_service": self.peak_in_service,
            "waiting": self.waiting,
            "rejected": self.rejected,
        }

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def uvicorn_config(app: FakeJudgeApp, host: str, port: int) -> Any:
    """Lean uvicorn settings: h11, no access log, no websockets, no lifespan."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http="h11",
        ws="none",
        lifespan="off",
        loop="asyncio",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=2,
        backlog=4096,
    )


def _load_script(spec: str | None) -> Script | None:
    """The script a ``module:attribute`` factory makes (None: no script)."""
    if not spec:
        return None
    import importlib

    module, _, attribute = spec.partition(":")
    factory = getattr(importlib.import_module(module), attribute)
    script: Script = factory()
    return script


def _record(
    path: str, model: Any = None, response_format: Any = None, n: Any = None
) -> dict[str, Any]:
    """One request log entry; ``fault`` and ``status`` are filled in when it is answered."""
    return {"time": time.time(), "path": path, "model": model, "fault": None, "status": None,
            "response_format": response_format, "n": n}


def _schema_of(fmt: Any) -> Any:
    """The schema a response_format asks for; ``{}``-like object for bare json_object."""
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        inner = fmt.get("json_schema")
        return inner.get("schema", {"type": "object"}) if isinstance(inner, dict) else None
    if fmt.get("type") == "json_object":
        return fmt.get("schema") or {"type": "object"}
    return None


def _break_schema(text: str, schema: Any) -> str:
    """Valid JSON that the schema rejects: a required key removed, or the wrong type."""
    try:
        value = json.loads(text)
    except ValueError:
        return json.dumps({"unexpected": text})
    required = schema.get("required") if isinstance(schema, dict) else None
    if isinstance(value, dict) and required:
        value.pop(required[0], None)
        return json.dumps(value)
    return json.dumps([value]) if not isinstance(value, list) else json.dumps({"items": value})


def _prompt_chars(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", ""))) for m in body["messages"] if isinstance(m, dict))


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _too_busy(retry_after: float) -> Any:
    from starlette.responses import JSONResponse

    headers = {"Retry-After": _seconds(retry_after)}
    body = {"error": {"message": "rate limit reached", "type": "rate_limit_error"}}
    return JSONResponse(body, 429, headers=headers)


def _error(status: int, message: str, code: str | None = None) -> Any:
    from starlette.responses import JSONResponse

    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status)


async def _drop(receive: ASGIFn) -> None:
    """Close the connection without a response (uvicorn's h11 transport)."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:  # not uvicorn's h11 cycle: fail loudly rather than fake it
        raise RuntimeError("the drop fault needs uvicorn's h11 protocol")
    transport.close()
    await receive()  # returns http.disconnect once the connection is gone


__all__ = ["FakeJudgeApp", "Script", "uvicorn_config"]
