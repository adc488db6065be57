"""A concurrency limit per endpoint that backs off when the server answers 429.

Additive increase, multiplicative decrease: a 429 halves the number of requests allowed in flight
(never below one); each success lets one more in, up to the configured maximum. Written here
because no dependency offers an adaptive asyncio limit keyed by endpoint.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class AdaptiveLimiter:
    """An asyncio limit on requests in flight whose size adapts to rate limiting."""

    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max_concurrency
        self.limit = max_concurrency
        self.in_flight = 0
        self.peak_in_flight = 0
        self._cond = asyncio.Condition()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            async with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()

    def on_rate_limit(self) -> None:
        self.limit = max(1, self.limit // 2)

    def on_success(self) -> None:
        if self.limit < self.max_concurrency:
            self.limit += 1
            # Waiters are woken by the next release; no lock needed to raise the limit.


# Per event loop (weakly: a closed loop's limiters go with it; keying by id(loop) could hand a
# new loop the limiter, bound to a dead loop, of an old one that had the same id).
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AdaptiveLimiter]] = (
    weakref.WeakKeyDictionary()
)


def limiter_for(endpoint: str, max_concurrency: int) -> AdaptiveLimiter:
    """The shared limiter of ``endpoint`` in the running event loop."""
    per_loop = _LIMITERS.setdefault(asyncio.get_running_loop(), {})
    limiter = per_loop.get(endpoint)
    if limiter is None:
        limiter = per_loop[endpoint] = AdaptiveLimiter(max_concurrency)
    return limiter


__all__ = ["AdaptiveLimiter", "limiter_for"]
