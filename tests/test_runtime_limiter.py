"""The per-endpoint adaptive concurrency limit."""

from __future__ import annotations

import asyncio
import random

from longjudge.runtime.limiter import AdaptiveLimiter, limiter_for


def test_a_429_halves_the_limit_and_successes_raise_it_back() -> None:
    async def go() -> list[int]:
        limiter = AdaptiveLimiter(16)
        seen = []
        for _ in range(5):
            limiter.on_rate_limit()
            seen.append(limiter.limit)
        for _ in range(3):
            limiter.on_success()
        seen.append(limiter.limit)
        for _ in range(100):
            limiter.on_success()
        seen.append(limiter.limit)
        return seen

    assert asyncio.run(go()) == [8, 4, 2, 1, 1, 4, 16]


def test_in_flight_never_exceeds_the_limit() -> None:
    rng = random.Random(3)

    async def go() -> tuple[AdaptiveLimiter, list[tuple[int, int]]]:
        limiter = AdaptiveLimiter(6)
        entries: list[tuple[int, int]] = []

        async def task(i: int) -> None:
            async with limiter.slot():
                entries.append((limiter.in_flight, limiter.limit))
                await asyncio.sleep(rng.uniform(0, 0.01))
                if i == 20:
                    limiter.on_rate_limit()
                elif i > 40:
                    limiter.on_success()

        await asyncio.gather(*(task(i) for i in range(80)))
        return limiter, entries

    limiter, entries = asyncio.run(go())
    assert len(entries) == 80
    assert limiter.peak_in_flight <= 6 and limiter.in_flight == 0
    assert all(in_flight <= limit for in_flight, limit in entries)
    assert max(in_flight for in_flight, _ in entries) == 6  # the limit is actually used
    assert min(limit for _, limit in entries) == 3  # the 429 halved it


def test_one_limiter_per_endpoint_and_event_loop() -> None:
    async def go() -> tuple[AdaptiveLimiter, int]:
        a = limiter_for("http://a/v1#m", 8)
        assert limiter_for("http://a/v1#m", 8) is a
        assert limiter_for("http://b/v1#m", 8) is not a
        start = a.limit
        a.on_rate_limit()
        return a, start

    first, _ = asyncio.run(go())
    second, start = asyncio.run(go())  # a new loop starts with a fresh, full limiter
    assert first is not second and start == 8
