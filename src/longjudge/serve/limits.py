"""Request limits of the reward server: body size, concurrency and time.

The body is read incrementally and abandoned as soon as it passes the limit, whether or not the
client sent a ``Content-Length``; a request waits for one of ``max_concurrent_requests`` slots
and its whole time, waiting included, is bounded by ``request_timeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class BodyTooLarge(Exception):
    """The request body is longer than the limit (answered with 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


class RequestTimeout(Exception):
    """The request took longer than its limit (answered with 504)."""


async def read_limited(
    chunks: AsyncIterator[bytes], declared_length: str | None, limit: int
) -> bytes:
    """Collect ``chunks`` into bytes, raising :class:`BodyTooLarge` past ``limit``."""
    if declared_length is not None:
        try:
            if int(declared_length) > limit:
                raise BodyTooLarge(limit)
        except ValueError:
            pass  # a malformed header: the streamed length decides
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)


class RequestGate:
    """At most ``max_concurrent`` requests at once; each bounded by ``timeout`` seconds."""

    def __init__(self, max_concurrent: int, timeout: float) -> None:
        self.timeout = timeout
        self._slots = asyncio.Semaphore(max_concurrent)

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Await ``work()`` within a slot; :class:`RequestTimeout` when time runs out."""

        async def gated() -> T:
            async with self._slots:
                return await work()

        try:
            return await asyncio.wait_for(gated(), self.timeout)
        except asyncio.TimeoutError as exc:
            raise RequestTimeout(f"request took longer than {self.timeout:g} s") from exc


__all__ = ["BodyTooLarge", "RequestGate", "RequestTimeout", "read_limited"]
