"""JudgeClient: one backend plus the cache, the retry policy, the limiter and usage accounting.

Scorers never talk to a backend directly. They call :meth:`JudgeClient.complete` with a request,
the name of their step and a ``parse`` function that turns a response into a typed output or
raises :class:`~longjudge.errors.ParseError`. Only outputs that parse are cached; an unusable
output is asked again (bypassing the cache) up to ``parse_retries`` times, then the ParseError
propagates for the scorer to record as ``unscored``.

When the backend does not enforce a structured request's schema (``structured_output: none``,
or ``auto`` after falling back), the client asks for the verdict in a block marked with a fresh
nonce (:func:`~longjudge.prompts.base.with_verdict_block`) and hands the nonce to ``parse`` on
the response, so that text the judge quotes from the material cannot be read as its verdict.
The cache key then holds the instruction's hash in place of the nonce.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from ..config import RetryConfig
from ..errors import JudgeError, ParseError
from ..judges.base import Judge, JudgeRequest, JudgeResponse
from ..prompts.base import new_nonce, verdict_cache_tag, with_verdict_block
from ..types import Usage
from .cache import JudgeCache, cache_key
from .limiter import AdaptiveLimiter, limiter_for
from .retry import call_with_retry
from .usage import UsageTracker, estimate_tokens

T = TypeVar("T")

_EXTRA_USAGE: ContextVar[tuple[UsageTracker, ...]] = ContextVar("_EXTRA_USAGE", default=())


class JudgeClient:
    """Sends judge requests with caching, retries, a concurrency limit and usage counts."""

    def __init__(
        self,
        judge: Judge,
        *,
        retry: RetryConfig | None = None,
        cache: JudgeCache | None = None,
        max_concurrency: int = 256,
        initial_concurrency: int | None = None,
        usage: UsageTracker | None = None,
        dry_run: bool = False,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.judge = judge
        #: Sampling defaults that scorers put into their requests.
        self.temperature = temperature
        self.seed = seed
        self.retry = retry or RetryConfig()
        self.cache = cache
        self.max_concurrency = (
            min(max_concurrency, judge.max_parallel) if judge.max_parallel else max_concurrency
        )
        #: The limit at the start (None: the limiter's default).
        self.initial_concurrency = initial_concurrency
        self.usage = usage or UsageTracker()
        self.dry_run = dry_run

    async def complete(
        self,
        request: JudgeRequest,
        *,
        step: str,
        parse: Callable[[JudgeResponse], T],
        usage: UsageTracker | None = None,
        urgent: bool = False,
    ) -> T:
        """Return ``parse(response)``, from the cache when possible.

        Usage is counted in the client's tracker and, when given, in ``usage`` too (a scorer's
        per-dimension account).
        """
        if usage is not None:
            with self._also_counting(usage):
                return await self.complete(request, step=step, parse=parse, urgent=urgent)
        block = self._needs_block(request)
        key = self._key(request, block)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                try:
                    out = parse(hit)
                except ParseError:
                    self.cache.delete(key)  # stored by an older parser: treat as a miss
                else:
                    self._record(step, Usage(cache_hits=1))
                    return out
        if self.dry_run:
            return self._dry_run(request, step, parse)
        last: ParseError | None = None
        for _ in range(self.retry.parse_retries + 1):
            response = await self.ask(request, step=step, urgent=urgent)
            if not block and response.verdict_nonce is not None:  # ``auto`` fell back
                block, key = True, self._key(request, True)
            try:
                out = parse(response)
            except ParseError as exc:
                last = exc
                self._record(step, Usage(failures=1))
                continue
            if self.cache is not None:
                self.cache.put(key, response)
            # Let the request that took over this call's slot go out before this answer is acted
            # on: answers come in waves (requests sent together come back together), and working
            # on a wave of them first kept the freed slots empty for a quarter of a second at 128
            # in flight. Only after the answer is cached: a run killed now asks it again never.
            await asyncio.sleep(0)
            return out
        assert last is not None
        raise last

    async def ask(
        self, request: JudgeRequest, *, step: str, urgent: bool = False
    ) -> JudgeResponse:
        """One uncached call of a structured request, as :meth:`complete` makes it: when the
        backend does not enforce the schema, the verdict is asked for in a nonce-marked block
        (the response's ``verdict_nonce``). Retries, the limiter and usage apply; no parsing."""
        block = self._needs_block(request)
        response = await self._ask(request, step, block, urgent)
        if not block and self._needs_block(request):
            # The backend stopped enforcing schemas during this call (``auto`` fell back): its
            # free-text answer was asked without a verdict block, so ask again with one.
            response = await self._ask(request, step, True, urgent)
        return response

    def _needs_block(self, request: JudgeRequest) -> bool:
        return request.schema_ is not None and not self.judge.enforces_schema()

    def _key(self, request: JudgeRequest, block: bool) -> str:
        payload = request.cache_payload()
        if block:
            payload["verdict_block"] = verdict_cache_tag()
        return cache_key(self.judge.identity(), payload)

    async def _ask(
        self, request: JudgeRequest, step: str, block: bool, urgent: bool = False
    ) -> JudgeResponse:
        if not block:
            return await self._send(request, step, urgent)
        nonce = new_nonce()
        response = await self._send(with_verdict_block(request, nonce), step, urgent)
        return response.model_copy(update={"verdict_nonce": nonce})

    @contextmanager
    def _also_counting(self, extra: UsageTracker) -> Iterator[None]:
        # Each asyncio task has its own copy of the context variable, so concurrent calls
        # count into their own trackers.
        token = _EXTRA_USAGE.set((*_EXTRA_USAGE.get(), extra))
        try:
            yield
        finally:
            _EXTRA_USAGE.reset(token)

    def _record(self, step: str, usage: Usage) -> None:
        self.usage.record(step, usage)
        for extra in _EXTRA_USAGE.get():
            extra.record(step, usage)

    async def generate(self, request: JudgeRequest, *, step: str) -> JudgeResponse:
        """A raw, uncached call (sampling): retries, limiter and usage still apply."""
        return await self._send(request, step)

    @property
    def limiter(self) -> AdaptiveLimiter:
        """The adaptive concurrency limit of this client's endpoint (in the running loop)."""
        return limiter_for(self.judge.endpoint, self.max_concurrency, self.initial_concurrency)

    async def _send(
        self, request: JudgeRequest, step: str, urgent: bool = False
    ) -> JudgeResponse:
        limiter = self.limiter

        async def attempt() -> JudgeResponse:
            async with limiter.slot(urgent) as slot:
                try:
                    return await self.judge.generate(request)
                except Exception as exc:
                    classified = self.judge.classify_error(exc)
                    if classified is None:
                        raise  # a bug, not a judge failure: never retried
                    if classified.overload:
                        slot.overloaded()  # 429, 5xx, time-out: the limiter backs off
                    if classified is exc:
                        raise
                    raise classified from exc

        def on_retry(_: BaseException) -> None:
            self._record(step, Usage(retries=1))

        try:
            response = await call_with_retry(attempt, self.retry, on_retry)
        except JudgeError:
            self._record(step, Usage(failures=1))
            raise
        prompt_tokens = response.prompt_tokens or sum(
            estimate_tokens(m.get("content", "")) for m in request.messages
        )
        completion_tokens = response.completion_tokens or sum(
            estimate_tokens(t) for t in response.texts
        )
        self._record(
            step,
            Usage(calls=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
        )
        return response

    def _dry_run(self, request: JudgeRequest, step: str, parse: Callable[[JudgeResponse], T]) -> T:
        # Counts the call and estimates its tokens; a schema-valid placeholder lets the
        # scorer go on so that the calls that depend on this one are counted too.
        from ..judges.schema_fill import fill_schema_json

        text = fill_schema_json(request.schema_ or {"type": "string"}, seed=0)
        prompt_tokens = sum(estimate_tokens(m.get("content", "")) for m in request.messages)
        self._record(
            step,
            Usage(calls=1, prompt_tokens=prompt_tokens, completion_tokens=estimate_tokens(text)),
        )
        return parse(JudgeResponse(texts=[text], model=self.judge.model))

    async def aclose(self) -> None:
        await self.judge.aclose()


__all__ = ["JudgeClient"]
