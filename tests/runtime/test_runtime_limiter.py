"""The per-endpoint adaptive concurrency limit.

Deterministic simulations (a virtual clock, no sleeping) check the adaptation rules against
server models; two tests drive real requests through the client against the fake judge server
and look at the limiter's state afterwards (never at how long anything took).
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections import deque
from collections.abc import Callable
from typing import Literal

from longjudge.config import RetryConfig
from longjudge.prompts.check import CHECK_PROMPT, check_request
from longjudge.runtime.limiter import HISTORY_HEAD, HISTORY_TAIL, AdaptiveLimiter, Slot, limiter_for
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from tests.judge_helpers import openai_client

Mode = Literal["reject", "queue", "grow"]


def simulate(
    mode: Mode, capacity: int, latency: float, *, ceiling: int = 256, events: int = 5000,
    slope: float = 0.0, client_lag: Callable[[int], float] | None = None,
) -> tuple[AdaptiveLimiter, list[int]]:
    """A client with endless work against a server model, on a virtual clock.

    ``reject``: above ``capacity`` requests in service, a 429 at once; ``queue``: they wait
    for a slot; ``grow``: no capacity, latency ``latency * (1 + slope * (others in service))``.
    ``client_lag(event)``: how late the client's event loop runs at that answer (starved of
    CPU): every answer is seen that much later, and the lag timer says so.
    Returns the limiter and its limit after every answer.
    """
    now = [0.0]
    limiter = AdaptiveLimiter(ceiling, clock=lambda: now[0])
    # (time, seq, slot, answered, seen): an answer of the server is seen by the client at once,
    # or, while its event loop lags, as a second event that much later
    heap: list[tuple[float, int, Slot, bool, bool]] = []
    queued: deque[Slot] = deque()
    seq, in_service, trace = 0, 0, []

    lag = [0.0]

    def serve(slot: Slot) -> None:
        nonlocal seq, in_service
        in_service += 1
        took = latency * (1 + slope * (in_service - 1)) if mode == "grow" else latency
        seq += 1
        heapq.heappush(heap, (now[0] + took, seq, slot, True, False))

    def fill() -> None:
        nonlocal seq
        while (slot := limiter.try_slot()) is not None:
            if mode == "reject" and in_service >= capacity:
                seq += 1
                heapq.heappush(heap, (now[0] + 0.001, seq, slot, False, False))
            elif mode == "queue" and in_service >= capacity:
                queued.append(slot)
            else:
                serve(slot)

    fill()
    for event in range(events):
        if client_lag is not None:
            lag[0] = client_lag(event)
        limiter.note_lag(lag[0])
        now[0], _, slot, served, seen = heapq.heappop(heap)
        if served and not seen:  # the server is done with it
            in_service -= 1
            if queued:
                serve(queued.popleft())
        if not seen and lag[0] > 0:  # the client sees it later
            seq += 1
            heapq.heappush(heap, (now[0] + lag[0], seq, slot, served, True))
            continue
        if served:
            slot.release()
        else:
            slot.overloaded()
            slot.release()
        trace.append(limiter.limit)
        fill()
    return limiter, trace


def test_settles_within_ten_percent_below_a_hidden_capacity_that_answers_429() -> None:
    for capacity, latency in [(32, 0.2), (128, 0.5), (20, 0.05)]:
        limiter, trace = simulate("reject", capacity, latency, events=6000)
        settled = trace[-2000:]
        assert min(settled) >= 0.9 * capacity, (capacity, min(settled))
        assert max(settled) <= capacity + 1, (capacity, max(settled))
        assert limiter.overloads > 0 and not limiter.slow_start


def test_a_queueing_server_is_kept_busy_with_a_bounded_queue() -> None:
    limiter, trace = simulate("queue", 32, 0.2, events=6000)
    settled = trace[-2000:]
    assert limiter.peak_in_flight < 256  # found the capacity, did not run to the ceiling
    assert sum(settled) / len(settled) >= 32  # the server stays busy on average
    assert max(settled) <= 1.5 * 32  # and its queue stays bounded


def test_backs_off_when_latency_grows_with_load() -> None:
    limiter, trace = simulate("grow", 10**6, 0.2, slope=0.05, events=6000)
    limits = [limit for _, limit in limiter.history]
    assert max(limits) >= 32 > limiter.limit  # went up while latency held, then came down
    assert max(trace[-2000:]) <= 30  # latency doubles at 21 in service: stays near there
    assert limiter.overloads == 0


def test_slow_start_doubles_then_grows_by_one() -> None:
    limiter, _ = simulate("reject", 40, 0.1, events=600)
    limits = [limit for _, limit in limiter.history]
    assert limits[:3] == [32, 64, 32]  # doubled, overshot, halved back
    assert limits[3] == 33  # then additive
    assert limiter.max_concurrency == 256 and limiter.ceiling == 256


def test_the_ceiling_and_the_floor_hold() -> None:
    limiter, trace = simulate("queue", 1000, 0.1, ceiling=24, events=2000)
    assert max(trace) == 24 and limiter.peak_in_flight == 24
    _, low_trace = simulate("reject", 1, 0.1, ceiling=8, events=2000)
    assert min(low_trace) == 1 and max(low_trace[-500:]) <= 2


def test_history_is_capped_and_keeps_the_start() -> None:
    limiter, _ = simulate("reject", 5, 0.05, events=20000)
    summary = limiter.summary()
    assert len(summary["history"]) == HISTORY_HEAD + HISTORY_TAIL
    assert summary["history_dropped"] > 0 and summary["history"][0] == [0.0, 32]
    times = [t for t, _ in summary["history"]]
    assert times == sorted(times)
    assert set(summary) >= {"ceiling", "limit", "peak_in_flight", "rounds", "overloads"}


def test_overloads_of_requests_sent_before_a_back_off_count_once() -> None:
    now = [0.0]
    limiter = AdaptiveLimiter(64, initial=40, clock=lambda: now[0])
    slots = [limiter.try_slot() for _ in range(40)]
    assert None not in slots and limiter.try_slot() is None
    for slot in slots:  # all 40 rejected together: one back-off, not forty
        assert slot is not None
        slot.overloaded()
        slot.release()
    assert limiter.limit == 20 and limiter.overloads == 40  # halved once (slow start)


def test_a_client_starved_of_cpu_is_not_read_as_a_queueing_server() -> None:
    # A queueing server of capacity 32 at 0.2 s; after 1,500 answers the client's own event
    # loop falls 0.15 s behind (a busy machine) and stays there. Its answers come 75% later at
    # any number in flight: the server has not changed, so the limit must not collapse.
    limiter, trace = simulate(
        "queue", 32, 0.2, events=12000, client_lag=lambda e: 0.15 if e >= 1500 else 0.0
    )
    assert min(trace[1500:]) >= 0.8 * 32, min(trace[1500:])
    assert limiter.summary()["loop_lag"] == 0.15  # the median of the recent rounds
    # a spell of lag longer than the latency itself (a profiler, a swapping machine) teaches
    # nothing, and the limit is back at the capacity once it has passed
    limiter, trace = simulate(
        "queue", 32, 0.2, events=6000, client_lag=lambda e: 0.5 if 1500 <= e < 2500 else 0.0
    )
    assert min(trace[1500:]) >= 0.8 * 32 and trace[-1] >= 0.9 * 32, (min(trace[1500:]), trace[-1])
    # the same lag on a server whose latency does grow with load still brings the limit down
    limiter, trace = simulate(
        "grow", 10**6, 0.2, slope=0.05, events=6000, client_lag=lambda e: 0.15
    )
    assert max(trace) >= 32 > trace[-1]


def _drive_client(config: FakeJudgeConfig, requests: int, ceiling: int) -> AdaptiveLimiter:
    retry = RetryConfig(
        max_attempts=30, max_total_seconds=60, initial_backoff=0.01, max_backoff=0.2, jitter=0.01
    )

    async def go(server: FakeJudgeServer) -> AdaptiveLimiter:
        client = openai_client(server, retry=retry)
        client.max_concurrency = ceiling
        left = list(range(requests))

        async def worker() -> None:
            while left:
                i = left.pop()
                request = check_request(f"Is {i} an even number?")
                await client.complete(request, step="check", parse=CHECK_PROMPT.parse)

        await asyncio.gather(*(worker() for _ in range(ceiling)))
        limiter = client.limiter
        await client.aclose()
        return limiter

    with FakeJudgeServer(config) as server:
        return asyncio.run(go(server))


def test_against_the_fake_server_it_settles_below_its_hidden_capacity() -> None:
    # L = 0.2 s: a loaded test machine delays answers by some milliseconds, not by a third.
    config = FakeJudgeConfig(latency=0.2, capacity=10, overflow="reject", retry_after=0.1)
    limiter = _drive_client(config, 300, ceiling=64)
    assert limiter.overloads > 0 and limiter.peak_in_flight > 10  # it probed past 10
    late = sorted(limit for _, limit in limiter.history[-10:])
    assert 9 <= late[len(late) // 2] <= 11, limiter.history  # settled at 0.9 C .. C (+1 probe)
    assert late[0] >= 7, limiter.history


def test_against_the_fake_server_it_backs_off_when_latency_grows() -> None:
    # 0.05 s alone, 0.2 s at the first limit (16 in service), 0.36 s at 32, 1.3 s at 128
    config = FakeJudgeConfig(latency=0.05, latency_per_load=0.01, capacity=1000)
    limiter = _drive_client(config, 300, ceiling=128)
    limits = [limit for _, limit in limiter.history]
    assert limiter.overloads == 0
    assert max(limits) >= 32 > limiter.limit  # doubled while latency held, then came down
    assert limiter.peak_in_flight <= 64  # one doubling past the knee at most, never 128


def test_in_flight_never_exceeds_the_limit() -> None:
    rng = random.Random(3)

    async def go() -> tuple[AdaptiveLimiter, list[tuple[int, int]]]:
        limiter = AdaptiveLimiter(6, clock=lambda: 0.0)  # latency never grows here
        entries: list[tuple[int, int]] = []

        async def task(i: int) -> None:
            async with limiter.slot() as slot:
                entries.append((limiter.in_flight, limiter.limit))
                await asyncio.sleep(rng.uniform(0, 0.01))
                if i == 20:
                    slot.overloaded()

        await asyncio.gather(*(task(i) for i in range(80)))
        return limiter, entries

    limiter, entries = asyncio.run(go())
    assert len(entries) == 80
    assert limiter.peak_in_flight <= 6 and limiter.in_flight == 0
    assert all(in_flight <= limit for in_flight, limit in entries)
    assert max(in_flight for in_flight, _ in entries) == 6  # the limit is actually used
    assert min(limit for _, limit in entries) == 5  # the overload took 10% off


def test_one_limiter_per_endpoint_and_event_loop() -> None:
    async def go() -> tuple[AdaptiveLimiter, int]:
        a = limiter_for("http://a/v1#m", 8)
        assert limiter_for("http://a/v1#m", 8) is a
        assert limiter_for("http://b/v1#m", 8) is not a
        start = a.limit
        slot = a.try_slot()
        assert slot is not None
        slot.overloaded()
        slot.release()
        return a, start

    first, _ = asyncio.run(go())
    second, start = asyncio.run(go())  # a new loop starts with a fresh, full limiter
    assert first is not second and start == 8 and first.limit == 7


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


def test_random_cancellations_and_overloads_leave_no_slot_behind() -> None:
    rng = random.Random(7)

    async def go() -> tuple[AdaptiveLimiter, int, int]:
        limiter = AdaptiveLimiter(5, clock=lambda: 0.0)
        done = 0

        async def task() -> None:
            nonlocal done
            async with limiter.slot() as slot:
                assert limiter.in_flight <= limiter.ceiling
                await asyncio.sleep(rng.uniform(0, 0.003))
                if rng.random() < 0.1:
                    slot.overloaded()
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


def test_watchers_hear_of_room_once_the_queue_is_shorter_than_a_quarter_of_the_limit() -> None:
    async def go() -> None:
        heard: list[int] = []
        limiter = AdaptiveLimiter(8, initial=8)
        unwatch = limiter.watch(lambda: heard.append(limiter.waiting))
        slots = [limiter.try_slot() for _ in range(8)]
        assert all(slots) and limiter.idle == 0 and limiter.wants_work
        waiters = [asyncio.ensure_future(limiter.slot().__aenter__()) for _ in range(3)]
        await asyncio.sleep(0)
        assert limiter.waiting == 3 and not limiter.wants_work  # 3 queued >= 8 / 4
        slots.pop().release()  # handed to a waiter: 2 still queue, no room to report
        assert heard == [] and limiter.in_flight == 8
        slots.pop().release()  # one queues now: under a quarter of the limit
        assert heard == [1] and limiter.wants_work
        unwatch()
        slots.pop().release()
        assert heard == [1]  # no longer watched
        for waiter in waiters:
            (await waiter).release()
        for slot in slots:
            assert slot is not None
            slot.release()
        assert limiter.in_flight == 0 and limiter.idle == 8

    asyncio.run(go())


def test_one_slow_round_holds_slow_start_and_a_second_in_a_row_ends_it() -> None:
    now = [0.0]
    limiter = AdaptiveLimiter(1024, initial=16, clock=lambda: now[0])

    def round_at(latency: float) -> int:
        slots = [limiter.try_slot() for _ in range(limiter.limit)]  # the limit is used
        now[0] += latency
        for slot in slots:
            assert slot is not None
            slot.release()  # the first half decides the round; the rest are of an older one
        return limiter.limit

    assert [round_at(0.5), round_at(0.5)] == [32, 64]
    # a burst of client work makes one round 20% slower: the limit holds, slow start goes on
    assert round_at(0.6) == 64 and limiter.slow_start
    assert round_at(0.5) == 128 and limiter.slow_start
    # two such rounds in a row: the server is near its capacity, slow start ends
    assert round_at(0.6) == 128 and limiter.slow_start
    assert round_at(0.6) == 128 and not limiter.slow_start
    assert round_at(0.5) == 129  # then one more per round while latency holds


def test_the_start_can_be_set_and_a_client_passes_it_on() -> None:
    from longjudge.judges.mock import MockJudge
    from longjudge.runtime.client import JudgeClient

    async def limits() -> tuple[int, int]:
        default = JudgeClient(MockJudge(model="a"), max_concurrency=128).limiter
        given = JudgeClient(
            MockJudge(model="b"), max_concurrency=128, initial_concurrency=128
        ).limiter
        return default.limit, given.limit

    assert asyncio.run(limits()) == (32, 128)
    assert AdaptiveLimiter(8, initial=64).limit == 8  # never above the ceiling


def test_urgent_requests_are_served_first_and_in_order_among_themselves() -> None:
    async def go() -> list[str]:
        limiter = AdaptiveLimiter(1, initial=1)
        served: list[str] = []
        held = limiter.try_slot()
        assert held is not None

        async def request(name: str, urgent: bool) -> None:
            async with limiter.slot(urgent):
                served.append(name)

        names = [("a", False), ("b", False), ("U1", True), ("c", False), ("U2", True)]
        tasks = [asyncio.ensure_future(request(n, u)) for n, u in names]
        await asyncio.sleep(0)
        assert limiter.waiting == 5 and limiter.idle == 0
        cancelled = asyncio.ensure_future(request("U0", True))
        await asyncio.sleep(0)
        cancelled.cancel()  # a cancelled urgent waiter loses no slot
        await asyncio.sleep(0)
        held.release()
        await asyncio.gather(*tasks)
        assert limiter.in_flight == 0 and limiter.waiting == 0
        return served

    assert asyncio.run(go()) == ["U1", "U2", "a", "b", "c"]


def test_the_queue_wanted_before_more_work_is_at_most_32_requests() -> None:
    async def go() -> tuple[bool, bool]:
        limiter = AdaptiveLimiter(1024, initial=512)
        slots = [limiter.try_slot() for _ in range(512)]
        waiters = [asyncio.ensure_future(limiter.slot().__aenter__()) for _ in range(32)]
        await asyncio.sleep(0)
        full = limiter.wants_work  # 32 queued: a quarter of 512 would be 128
        waiters.pop().cancel()
        await asyncio.sleep(0)
        short = limiter.wants_work  # 31 queued
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        for slot in slots:
            assert slot is not None
            slot.release()
        return full, short

    assert asyncio.run(go()) == (False, True)
