"""The ``http`` backend: a reward model served over HTTP, with the judges' run machinery.

Two kinds of server (``http_api``; ``auto`` picks by the URL's last path segment):

- ``native``, longjudge's contract: ``POST {url}`` with ``{"items": [{"query", "reference",
  "response"}, ...]}`` (``reference`` is null for the r(q,y) input) answered by ``{"scores":
  [float | null, ...]}`` in the same order, optionally with ``"truncated": [bool, ...]``. The
  server builds the model input itself; items go ``batch_size`` to a request.
- ``classify`` / ``pooling``: vLLM's ``/classify`` and ``/pooling`` endpoints, one chat
  conversation per request (``messages`` built with the reference template, ``use_activation``
  false so the raw value comes back). The score is ``data[0].probs`` (classify) or
  ``data[0].data`` (pooling; per-token rows: the last row), a single value or ``logit_index``.

Retries use :func:`~longjudge.runtime.retry.call_with_retry` (429 and 5xx, timeouts and dropped
connections are retried; other 4xx and unusable bodies are not), concurrency the per-endpoint
:func:`~longjudge.runtime.limiter.limiter_for`, and each item's score is cached in the judge
cache (:class:`~longjudge.runtime.cache.JudgeCache`) under a key of the server's identity and
the item. A failed request leaves its items unscored with the reason; the others go on.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import httpx

from ...errors import (
    ConfigError,
    FatalJudgeError,
    JudgeError,
    RateLimitError,
    TransientJudgeError,
)
from ...judges.base import JudgeResponse
from ...runtime.cache import cache_key
from ...runtime.limiter import limiter_for
from ...runtime.retry import call_with_retry
from ...types import Usage
from .base import RewardModel, RMItem, RMScore, build_messages
from .registry import RMOptions

STEP = "rm.http"


class HTTPRewardModel(RewardModel):
    """A reward model behind an HTTP endpoint."""

    backend = "http"

    def __init__(self, url: str, options: RMOptions | None = None) -> None:
        super().__init__(url)
        options = options or RMOptions()
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"http reward model needs an http(s) URL, not {url!r}")
        self.url = url
        self.config = options.config
        self.retry = options.retry
        self.cache = options.cache
        self.usage = options.usage
        self.api: str = self.config.http_api
        if self.api == "auto":
            last = parsed.path.rstrip("/").rsplit("/", 1)[-1]
            self.api = last if last in ("classify", "pooling") else "native"
        self._headers = {}
        if self.config.api_key_env:
            key = os.environ.get(self.config.api_key_env, "")
            if key:
                self._headers["Authorization"] = f"Bearer {key}"

    def identity(self) -> dict[str, Any]:
        """What, besides the item, changes a score: the cache key's other half."""
        return {
            "backend": "rm-http",
            "url": self.url,
            "api": self.api,
            "model": self.config.http_model,
            "extra": self.config.http_extra,
        }

    def payload(self, item: RMItem) -> dict[str, Any]:
        """What this server is sent for ``item`` (the item's part of the cache key)."""
        if self.api == "native":
            return {"query": item.query, "reference": item.reference, "response": item.response}
        return {"messages": build_messages(item, self.config.reference_template)}

    async def score(self, items: Sequence[RMItem]) -> list[RMScore]:
        results: list[RMScore | None] = [None] * len(items)
        keys = [cache_key(self.identity(), self.payload(item)) for item in items]
        misses = []
        for i, key in enumerate(keys):
            hit = self._cached(key)
            if hit is None:
                misses.append(i)
            else:
                results[i] = hit
        async with httpx.AsyncClient(timeout=self.config.timeout, headers=self._headers) as client:
            if self.api == "native":
                size = self.config.batch_size
                chunks = [misses[s : s + size] for s in range(0, len(misses), size)]
            else:
                chunks = [[i] for i in misses]
            answers = await asyncio.gather(
                *(self._chunk(client, [items[i] for i in chunk]) for chunk in chunks)
            )
        for chunk, scores in zip(chunks, answers):
            for i, result in zip(chunk, scores):
                results[i] = result
                if result.score is not None and self.cache is not None:
                    body = json.dumps({"score": result.score, "truncated": result.truncated})
                    self.cache.put(keys[i], JudgeResponse(texts=[body], model=self.url))
        self.stats.items += len(items)
        final = [r if r is not None else RMScore(None, reason="no_result") for r in results]
        self.stats.truncated += sum(r.truncated for r in final)
        return final

    def _cached(self, key: str) -> RMScore | None:
        if self.cache is None:
            return None
        hit = self.cache.get(key)
        if hit is None:
            return None
        try:
            data = json.loads(hit.text)
            value = float(data["score"])
            truncated = bool(data.get("truncated", False))
        except (ValueError, TypeError, KeyError):
            self.cache.delete(key)  # corrupt or foreign entry: a miss
            return None
        if not math.isfinite(value):
            self.cache.delete(key)
            return None
        self._record(Usage(cache_hits=1))
        return RMScore(value, truncated=truncated)

    async def _chunk(self, client: httpx.AsyncClient, items: list[RMItem]) -> list[RMScore]:
        """Score one request's items; a failed request makes them unscored with the reason."""
        if self.api == "native":
            body: dict[str, Any] = {"items": [self.payload(item) for item in items]}
        else:
            body = {**self.payload(items[0]), "use_activation": False, **self.config.http_extra}
            if self.config.http_model:
                body["model"] = self.config.http_model
        try:
            data = await self._post(client, body)
        except JudgeError as exc:
            return [RMScore(None, reason=f"reward model server: {exc}") for _ in items]
        try:
            if self.api == "native":
                return _native_scores(data, len(items))
            return [_vllm_score(data, self.api, self.config.logit_index)]
        except JudgeError as exc:  # an answer of the wrong shape: never retried
            self._record(Usage(failures=1))
            return [RMScore(None, reason=f"reward model server: {exc}") for _ in items]

    async def _post(self, client: httpx.AsyncClient, body: dict[str, Any]) -> Any:
        limiter = limiter_for(f"rm:{self.url}", self.config.max_concurrency)

        async def attempt() -> Any:
            async with limiter.slot() as slot:
                try:
                    response = await client.post(self.url, json=body)
                except Exception as exc:
                    classified = classify_http_error(exc)
                    if classified is None:
                        raise  # a bug, not a server failure: never retried
                    if classified.overload:
                        slot.overloaded()
                    raise classified from exc
                error = status_error(response)
                if error is not None:
                    if error.overload:
                        slot.overloaded()  # 429 or 5xx: back off
                    raise error
                try:
                    data = response.json()
                except ValueError as exc:
                    raise TransientJudgeError(
                        "reward model server sent a body that is not JSON", overload=False
                    ) from exc
            return data

        def on_retry(_: BaseException) -> None:
            self._record(Usage(retries=1))

        try:
            data = await call_with_retry(attempt, self.retry, on_retry)
        except JudgeError:
            self._record(Usage(failures=1))
            raise
        self._record(Usage(calls=1))
        return data

    def _record(self, usage: Usage) -> None:
        if self.usage is not None:
            self.usage.record(STEP, usage)


def classify_http_error(exc: BaseException) -> JudgeError | None:
    """Map a transport exception to a JudgeError, or None when it is a bug."""
    if isinstance(exc, JudgeError):
        return exc
    if isinstance(exc, (httpx.TimeoutException, httpx.TransportError)):
        return TransientJudgeError(f"reward model server unreachable: {type(exc).__name__}: {exc}")
    return None


def status_error(response: httpx.Response) -> JudgeError | None:
    """The JudgeError an HTTP status means, or None for a success."""
    status = response.status_code
    if status < 400:
        return None
    message = f"HTTP {status}: {response.text[:200]}"
    retry_after = _retry_after(response)
    if status == 429:
        return RateLimitError(message, retry_after=retry_after)
    if status in (408, 409) or status >= 500:
        return TransientJudgeError(message, retry_after=retry_after)
    return FatalJudgeError(message)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _as_score(value: Any, truncated: bool = False) -> RMScore:
    if value is None:
        return RMScore(None, truncated, "reward model server gave no score for this item")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return RMScore(None, truncated, f"reward model server gave a non-number: {value!r:.40}")
    if not math.isfinite(value):
        return RMScore(None, truncated, "non_finite_score")
    return RMScore(float(value), truncated)


def _native_scores(data: Any, n: int) -> list[RMScore]:
    scores = data.get("scores") if isinstance(data, dict) else None
    if not isinstance(scores, list) or len(scores) != n:
        raise FatalJudgeError(f'reward model server must answer {{"scores": [{n} numbers]}}')
    flags = data.get("truncated")
    if not isinstance(flags, list) or len(flags) != n:
        flags = [False] * n
    return [_as_score(value, bool(flag)) for value, flag in zip(scores, flags)]


def _vllm_score(data: Any, api: str, index: int | None) -> RMScore:
    try:
        first = data["data"][0]
        values = first["probs"] if api == "classify" else first["data"]
    except (KeyError, IndexError, TypeError) as exc:
        raise FatalJudgeError(f"unexpected /{api} answer: {str(data)[:200]}") from exc
    if isinstance(values, list) and values and isinstance(values[-1], list):
        values = values[-1]  # per-token rows: the sequence's score is at its last token
    if not isinstance(values, list) or not values:
        raise FatalJudgeError(f"unexpected /{api} values: {str(values)[:200]}")
    if len(values) == 1:
        return _as_score(values[0])
    if index is not None and index < len(values):
        return _as_score(values[index])
    raise FatalJudgeError(f"/{api} gave {len(values)} values; set s2l.logit_index")


def make_reward_model(target: str, options: RMOptions) -> RewardModel:
    """This backend's factory (components.REWARD_MODELS)."""
    return HTTPRewardModel(target, options)


__all__ = ["HTTPRewardModel", "classify_http_error", "make_reward_model", "status_error"]
