"""Prompt admission: how many prompts are in flight follows from the judge's concurrency.

A prompt's judge calls come in dependent steps (key points before coverage, statements before
their verification), so one prompt alone seldom keeps a judge busy, and a fixed number of
prompts in flight is either too few (the judge waits for the client between steps) or too many
(memory grows with the job). :func:`pipelined` starts the next prompt whenever fewer requests
queue at the judge's concurrency limit (:class:`~longjudge.runtime.limiter.AdaptiveLimiter`)
than a quarter of the limit, at most 32
(:attr:`~longjudge.runtime.limiter.AdaptiveLimiter.wants_work`),
and otherwise sleeps until a prompt finishes or the limiter reports room
(:meth:`~longjudge.runtime.limiter.AdaptiveLimiter.watch`: a release or a raised limit; no
polling, which cost a timer per few milliseconds). Waiting for an empty queue instead left
slots idle each time: a new prompt needs a few event-loop turns before its first requests
queue. The next prompt also waits until the one admitted last has asked for its first slot
(the limiter calls :data:`~longjudge.runtime.limiter.ON_REQUEST`, which each prompt's tasks
inherit): until then the queue looks shorter than it is about to be, and on a client short of
CPU, where a prompt takes long to get there, dozens were let in at once. So the limiter's queue
stays short but not empty while work remains, and prompts in flight stay about as many as the
judge can serve.

Memory stays bounded: never more prompts than the limit itself (every prompt in flight has at
least one request to make), and never more than ``hard_cap`` when one is set
(``run.max_examples_in_flight``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from .limiter import ON_REQUEST, AdaptiveLimiter

G = TypeVar("G")


async def pipelined(
    items: Iterable[G],
    start: Callable[[G], Awaitable[None]],
    limiter: AdaptiveLimiter,
    hard_cap: int | None = None,
) -> int:
    """Run ``start(item)`` for every item, admitting a new one while the judge has room.

    ``start`` must handle its own errors (an exception escaping it is re-raised here after the
    others finish). Returns the most items that were in flight at once.
    """
    pending = iter(items)
    active: set[asyncio.Task[None]] = set()
    wake = asyncio.Event()
    exhausted = False
    peak = 0
    errors: list[BaseException] = []
    # The prompt admitted last, until its first request reaches the limiter: until then the
    # queue looks shorter than it is about to be (on a client short of CPU, a prompt takes
    # long to get there, and dozens more were let in meanwhile).
    starting: list[asyncio.Task[None] | None] = [None]

    def started(task: asyncio.Task[None]) -> Callable[[], None]:
        def heard() -> None:
            if starting[0] is task:
                starting[0] = None
                wake.set()

        return heard

    async def run(item: G) -> None:
        task = asyncio.current_task()
        assert task is not None
        ON_REQUEST.set(started(task))  # this task's context, and its child tasks'
        await start(item)

    def finished(task: asyncio.Task[None]) -> None:
        active.discard(task)
        if not task.cancelled() and task.exception() is not None:
            errors.append(task.exception())  # type: ignore[arg-type]
        wake.set()

    unwatch = limiter.watch(wake.set)
    try:
        while True:
            cap = max(2, limiter.limit)
            if hard_cap is not None:
                cap = min(cap, hard_cap)
            waiting_start = starting[0] is not None and not starting[0].done()
            if (
                not exhausted
                and len(active) < cap
                and (not active or (limiter.wants_work and not waiting_start))
            ):
                item = next(pending, _END)
                if item is _END:
                    exhausted = True
                    continue
                task = asyncio.ensure_future(run(item))  # type: ignore[arg-type]
                starting[0] = task
                active.add(task)
                task.add_done_callback(finished)
                peak = max(peak, len(active))
                await asyncio.sleep(0)  # let it run up to its first request
                continue
            if exhausted and not active:
                break
            wake.clear()
            await wake.wait()
    finally:
        unwatch()
        if active:  # cancelled from outside: take the prompts in flight down with us
            for task in active:
                task.cancel()
            await asyncio.gather(*active, return_exceptions=True)
    if errors:
        raise errors[0]
    return peak


_END = object()

__all__ = ["pipelined"]
