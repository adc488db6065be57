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


def test_waiters_are_served_in_order_and_a_cancelled_waiter_loses_no_slot() -> None:
    async def go() -> tuple[AdaptiveLimiter, list[int], list[object]]:
        limiter = AdaptiveLimiter(1)
        order: list[int] = []
        release = asyncio.Event()
        tasks: list[asyncio.Future[None]] = []

        async def holder() -> None:
            async with limiter.slot():
                await release.wait()
                # Queued and cancelled; the release just below drops its waiter before it runs.
                tasks[0].cancel()
            tasks[1].cancel()  # handed the slot by that release, cancelled before it ran

        async def task(i: int) -> None:
            async with limiter.slot():
                order.append(i)
                await asyncio.sleep(0)

        first = asyncio.ensure_future(holder())
        await asyncio.sleep(0)
        tasks.extend(asyncio.ensure_future(task(i)) for i in range(5))
        await asyncio.sleep(0)
        release.set()
        await first
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        return limiter, order, results

    limiter, order, results = asyncio.run(go())
    assert [type(r) for r in results[:2]] == [asyncio.CancelledError] * 2
    assert order == [2, 3, 4] and limiter.in_flight == 0 and not limiter._waiters


def test_random_cancellations_and_429s_leave_no_slot_behind() -> None:
    rng = random.Random(7)

    async def go() -> tuple[AdaptiveLimiter, int, int]:
        limiter = AdaptiveLimiter(5)
        done = 0

        async def task() -> None:
            nonlocal done
            async with limiter.slot():
                assert limiter.in_flight <= limiter.max_concurrency
                await asyncio.sleep(rng.uniform(0, 0.003))
                roll = rng.random()
                if roll < 0.1:
                    limiter.on_rate_limit()
                elif roll < 0.6:
                    limiter.on_success()
            done += 1

        tasks = [asyncio.ensure_future(task()) for _ in range(300)]
        for _ in range(60):
            await asyncio.sleep(rng.uniform(0, 0.002))
            rng.choice(tasks).cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        cancelled = sum(isinstance(r, asyncio.CancelledError) for r in results)
        return limiter, done, cancelled

    limiter, done, cancelled = asyncio.run(go())
    assert limiter.in_flight == 0 and not limiter._waiters
    assert done + cancelled == 300 and cancelled > 0 and limiter.peak_in_flight <= 5
