"""The scoring context: the judge, the cache, the client and the scorer of one job, owned and
closed in one place.

Every entry point scores through a :class:`ScoringContext`: ``longjudge score`` (both engines),
the reward server (its lifespan), each Ray actor and the Ray driver's dry run, LongBench-Chat
judging and the in-process RL reward function. It is an async context manager::

    async with ScoringContext("openai/gpt-4o", "longreward", config) as context:
        rewards = await context.scorer.score(example, candidates)

and a plain object for owners that live longer than one block (a server, an actor, a trainer's
reward function): build it, use it, ``await context.aclose()`` once at the end. Closing is
idempotent and always in the same order: the client (which closes the judge's connections or
model), then the SQLite cache, even when the first step fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ..config import ScoreConfig
from ..judges.base import Judge
from ..judges.registry import create_judge
from ..runtime.cache import JudgeCache
from ..runtime.client import JudgeClient
from ..scorers.base import Scorer
from ..scorers.registry import build_scorer


class ScoringContext:
    """Owns the judge, cache, client and scorer built from (judge spec, method, config).

    ``wrap_judge`` may wrap the judge before the client and scorer see it (the reward server's
    circuit breaker). ``dry_run``: the client calls nothing and answers schema-valid fillers.
    """

    def __init__(
        self,
        judge: str,
        method: str,
        config: ScoreConfig,
        *,
        dry_run: bool = False,
        wrap_judge: Callable[[Judge], Judge] | None = None,
    ) -> None:
        self.spec = judge
        self.method = method
        self.config = config
        self._closed = False
        self.cache: JudgeCache | None = None
        built = create_judge(judge, config.judge)
        try:
            self.judge: Judge = wrap_judge(built) if wrap_judge is not None else built
            self.cache = JudgeCache(config.cache.path) if config.cache.enabled else None
            self.client = JudgeClient(
                self.judge,
                retry=config.retry,
                cache=self.cache,
                max_concurrency=config.judge.max_concurrency,
                initial_concurrency=config.judge.initial_concurrency,
                dry_run=dry_run,
                temperature=config.judge.temperature,
                seed=config.judge.seed,
            )
            # The one place a job's scorer is built.
            self.scorer: Scorer = build_scorer(method, self.client, config.section(method))
        except BaseException:
            self._close_after_failed_start(built)
            raise

    def _close_after_failed_start(self, judge: Judge) -> None:
        """What was opened before the scorer could be built, closed (no event loop is needed:
        a judge has made no call yet, so closing it only drops idle pools)."""
        self._closed = True
        if self.cache is not None:
            self.cache.close()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(judge.aclose())
        # inside a running loop (an async caller's constructor call) the judge has made no
        # request yet, so nothing is left open that needs awaiting

    @property
    def closed(self) -> bool:
        return self._closed

    def usage(self) -> dict[str, Any]:
        """The client's usage so far (calls, cache hits, tokens per step and in total)."""
        return self.client.usage.to_dict()

    async def aclose(self) -> None:
        """Close the client (and its judge), then the cache; once, whatever fails first."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.client.aclose()
        finally:
            if self.cache is not None:
                self.cache.close()

    def close(self) -> None:
        """:meth:`aclose` for owners without an event loop (the Ray driver's dry run). It
        closes on a new loop: an owner that made calls on its own loop awaits :meth:`aclose`
        there instead (the judge's connections belong to that loop)."""
        asyncio.run(self.aclose())

    async def __aenter__(self) -> ScoringContext:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


__all__ = ["ScoringContext"]
