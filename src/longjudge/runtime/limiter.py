"""A concurrency limit per endpoint that backs off when the server answers 429.

Additive increase, multiplicative decrease: a 429 halves the number of requests allowed in flight
(never below one); each success lets one more in, up to the configured maximum. Written here
because no dependency offers an adaptive asyncio limit keyed by endpoint.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class AdaptiveLimiter:
    """An asyncio limit on requests in flight whose size adapts to rate limiting.

    Waiters queue in FIFO order and a released slot is handed to exactly one of them: with
    thousands of queued requests, waking them all on every release (a condition variable's
    ``notify_all``) costs more CPU than the requests themselves.
    """

    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max_concurrency
        self.limit = max_concurrency
        self.in_flight = 0
        self.peak_in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            self.in_flight -= 1
            self._hand_over()

    async def _acquire(self) -> None:
        if not self._waiters and self.in_flight < self.limit:
            self._take()
            return
        first_in_line = False
        while True:
            waiter = asyncio.get_running_loop().create_future()
            if first_in_line:
                self._waiters.appendleft(waiter)
            else:
                self._waiters.append(waiter)
            try:
                await waiter  # resolved by _hand_over, which counted the slot for us
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.in_flight -= 1  # handed a slot, then cancelled: pass it on
                    self._hand_over()
                elif waiter in self._waiters:  # _hand_over may have dropped it already
                    self._waiters.remove(waiter)
                raise
            if self.in_flight <= self.limit:
                return
            # A 429 lowered the limit after the slot was handed over: wait again, first.
            self.in_flight -= 1
            first_in_line = True

    def _take(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _hand_over(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._take()
                waiter.set_result(None)

    def on_rate_limit(self) -> None:
        self.limit = max(1, self.limit // 2)

    def on_success(self) -> None:
        if self.limit < self.max_concurrency:
            self.limit += 1
            self._hand_over()


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
