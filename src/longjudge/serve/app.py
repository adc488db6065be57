"""The reward server's FastAPI application.

::

    GET  /health       liveness; no authentication
    GET  /metrics      Prometheus text: requests, items, judge usage, cache
    POST /v1/rewards   {"items": [{context, query, response, reference?}]} -> {"rewards": [Reward]}
    POST /get_reward   OpenRLHF: {"query": [...], "prompts": [...], "labels": [...]}
                       -> {"rewards": [float | null], "scored": [bool], "reasons": [...], ...}

Every endpoint but ``/health`` needs ``Authorization: Bearer <token>`` when a token is set
(except requests without an ``Authorization`` header from the networks of
``serve.allow_from``); a
token in the URL (``?token=``, ``?api_key=`` ...) is refused with 400 on every path, since URLs
end up in logs. Bodies over ``max_body_bytes`` and batches over ``max_batch_items`` get 413,
requests over ``request_timeout`` 504. Items that cannot be scored (blank or invisible-only
texts, over the limits) come back in ``errors`` as ``{"index", "reason"}`` (and unscored in
``rewards``) while the rest are scored. When the judge is unreachable (the circuit breaker of
:mod:`longjudge.serve.breaker` is open) scoring requests get 503 with ``Retry-After`` at once,
and those in flight when it opens too. Built by :func:`create_app`; ``longjudge serve`` runs it
on uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..types import Reward
from .auth import BearerAuth, is_token_param
from .breaker import JudgeBreaker
from .config import ServeConfig
from .limits import BodyTooLarge, RequestGate, RequestTimeout, read_limited
from .metrics import CONTENT_TYPE, render_metrics
from .network import AllowFrom
from .requests import GetRewardRequest, RewardItem, RewardsRequest, Unpacker
from .service import Counters, RewardService

M = TypeVar("M", bound=BaseModel)


#: Paths counted by name in the metrics; any other path counts as "other" (bounded labels).
ENDPOINTS = ("/health", "/metrics", "/v1/rewards", "/get_reward")


class _CountRequests:
    """ASGI middleware: counts answered requests by endpoint and status, and time spent."""

    def __init__(self, app: ASGIApp, counters: Counters) -> None:
        self.app = app
        self.counters = counters

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            path = scope["path"] if scope["path"] in ENDPOINTS else "other"
            self.counters.count_request(path, status, time.monotonic() - started)


class _RejectQueryTokens:
    """ASGI middleware: a request with a credential in its query string gets 400 (tokens are
    accepted only in the ``Authorization`` header). The token is not echoed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            if any(is_token_param(name) for name, _ in parse_qsl(query, keep_blank_values=True)):
                response = JSONResponse(
                    {"detail": "credentials in the URL are refused: send the token in the "
                     "'Authorization: Bearer <token>' header"},
                    status_code=400,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class JudgeUnavailable(Exception):
    """The judge is unreachable (answered with 503 and ``Retry-After``)."""


async def _read_model(request: Request, model: type[M], limit: int) -> M:
    body = await read_limited(request.stream(), request.headers.get("content-length"), limit)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        detail = json.loads(exc.json(include_input=False, include_url=False))
        raise HTTPException(status_code=422, detail=detail) from None


def _check_batch(size: int, limit: int) -> None:
    if size > limit:
        raise HTTPException(
            status_code=413, detail=f"{size} items in one request; the limit is {limit}"
        )


def _dimension_scores(reward: Reward) -> dict[str, float | None]:
    return {name: dim.score for name, dim in reward.dimensions.items()}


def create_app(
    service: RewardService,
    config: ServeConfig,
    auth: BearerAuth,
    context: AbstractAsyncContextManager[Any] | None = None,
    breaker: JudgeBreaker | None = None,
) -> FastAPI:
    """The application around ``service``; the lifespan enters ``context`` (the
    :class:`~longjudge.scoring.ScoringContext` that owns the service's scorer) and closes it
    at shutdown; ``breaker`` (the one wrapped around the service's judge) makes it fail fast
    with 503."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if context is None:
            yield
            return
        async with context:
            yield

    app = FastAPI(
        title="longjudge reward server",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(_RejectQueryTokens)
    app.add_middleware(_CountRequests, counters=service.counters)
    gate = RequestGate(config.max_concurrent_requests, config.request_timeout)
    unpacker = Unpacker(config.get_reward)
    counters = service.counters

    trusted = AllowFrom(config.allow_from)

    async def authorized(request: Request) -> None:
        header = request.headers.get("authorization")
        if header is None and trusted.permits(request.client.host if request.client else None):
            return  # serve.allow_from: a tokenless client on a trusted network
        if not auth.check(header):
            raise HTTPException(
                status_code=401,
                detail="missing or invalid bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=413)

    @app.exception_handler(RequestTimeout)
    async def _timeout(_: Request, exc: RequestTimeout) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=504)

    @app.exception_handler(JudgeUnavailable)
    async def _unavailable(_: Request, exc: JudgeUnavailable) -> JSONResponse:
        retry_after = breaker.retry_after if breaker is not None else 5
        if breaker is not None:
            breaker.counts.rejected_requests += 1
        return JSONResponse(
            {"detail": str(exc), "judge": breaker.state() if breaker is not None else {}},
            status_code=503,
            headers={"Retry-After": str(retry_after)},
        )

    async def guarded(work: Callable[[], Awaitable[list[Reward]]]) -> list[Reward]:
        """``work()``, cut short with JudgeUnavailable when the circuit is or becomes open."""
        if breaker is None:
            return await work()
        if breaker.is_open:
            raise JudgeUnavailable("the judge is unreachable; try again later")
        task = asyncio.ensure_future(work())
        opened = asyncio.ensure_future(breaker.wait_open())
        try:
            await asyncio.wait({task, opened}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise JudgeUnavailable("the judge became unreachable while scoring; try again later")

    async def score(
        items: list[RewardItem | None], reasons: list[str]
    ) -> tuple[list[Reward], list[dict[str, object]]]:
        items, reasons, errors = service.check(items, reasons)
        counters.in_flight += 1
        try:
            result = await gate.run(lambda: guarded(lambda: service.score(items, reasons)))
        finally:
            counters.in_flight -= 1
        return result, errors

    @app.get("/health")
    async def health() -> dict[str, Any]:
        judge = breaker.state() if breaker is not None else {"state": "unknown"}
        status = "ok" if judge["state"] != "unreachable" else "judge_unreachable"
        return {"status": status, "method": service.method, "judge": judge}

    @app.get("/metrics", dependencies=[Depends(authorized)])
    async def metrics() -> PlainTextResponse:
        text = render_metrics(
            counters, service.client.usage, service.client.cache, service.method, breaker
        )
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    @app.post("/v1/rewards", dependencies=[Depends(authorized)])
    async def rewards(request: Request) -> JSONResponse:
        body = await _read_model(request, RewardsRequest, config.max_body_bytes)
        _check_batch(len(body.items), config.max_batch_items)
        items: list[RewardItem | None] = list(body.items)
        result, errors = await score(items, [""] * len(items))
        return JSONResponse(
            {"rewards": [r.model_dump(mode="json") for r in result], "errors": errors}
        )

    @app.post("/get_reward", dependencies=[Depends(authorized)])
    async def get_reward(request: Request) -> JSONResponse:
        body = await _read_model(request, GetRewardRequest, config.max_body_bytes)
        size = len(body.query)
        _check_batch(size, config.max_batch_items)
        for name in ("prompts", "labels"):
            given = getattr(body, name)
            if given is not None and len(given) != size:
                raise HTTPException(422, f"'{name}' has {len(given)} entries, 'query' {size}")
        prompts: list[str | None] = list(body.prompts) if body.prompts else [None] * size
        labels: list[Any] = body.labels or [None] * size
        unpacked = [unpacker.unpack(q, p, lab) for q, p, lab in zip(body.query, prompts, labels)]
        result, errors = await score(
            [u.item for u in unpacked], [u.reason or "" for u in unpacked]
        )
        settings = config.get_reward
        values: list[float | None] = [
            r.total * settings.scale if r.total is not None else settings.unscored_value
            for r in result
        ]
        return JSONResponse(
            {
                "rewards": values,
                "scored": [r.status == "scored" for r in result],
                "reasons": [r.reason for r in result],
                "excluded": [r.excluded for r in result],
                "dimensions": [_dimension_scores(r) for r in result],
                "errors": errors,
            }
        )

    return app


__all__ = ["create_app"]
