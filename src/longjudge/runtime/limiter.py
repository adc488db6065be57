"""A per-endpoint concurrency limit that finds the server's capacity by itself.

The limit is the number of requests allowed in flight against one endpoint. It adapts in
*rounds*: a round ends once ``max(4, limit)`` requests sent during it have come back, about one
round trip (half as many in slow start). At the end of a round the limiter compares the round's
typical latency (its median, which a few answers delayed by the client's own busy event loop do
not move) with a *baseline* (the lowest typical latency of the recent rounds) and decides, AIMD
on latency:

- latency holds (within 15% of the baseline) and the limit was used (requests in flight
  reached it): **increase**. While still in slow start the limit doubles; after the first
  back-off it grows by one per round. By Little's law the throughput grows with the limit as
  long as the latency holds, so "raise while latency holds" is "raise while throughput grows".
- latency grew past 35% over the baseline: the server queues or slows down under the load;
  **decrease** in proportion (``limit · 1.15 / ratio``, at most halving) and leave slow start.
- in between: hold (in slow start, a second such round in a row ends slow start).

Latency growth of less than 50 ms never counts: a busy client's own event loop delays answers
by about that much, and a limiter that read it as the server's queue would starve a fast server
(real judges answer in seconds, where 35% is far above that noise). Beyond that, the client's
own delay is measured and taken out: while requests are in flight a timer on the event loop
notes how late it runs (every 25 ms), and a round's latencies and the baseline are compared
after subtracting the round's median lag; a round whose lag is more than half its latency
says nothing about the server and changes nothing. A client starved of CPU (a busy or shared
machine, its own retrieval and parsing) answers late whatever the number of requests in
flight; read as the server's queue, that lateness drove the limit down to a few requests,
which starved the judge further. The run summary reports the lag (``loop_lag``).

Overload answers (429 rate limits, 5xx, time-outs and dropped connections, i.e. the retried
errors of :mod:`longjudge.runtime.retry`) decrease the limit at once: by half in slow start
(the previous round's limit had no trouble), by 10% after it, at most once per round (requests
sent before a decrease do not decrease it again). The retry policy still does the waiting,
``Retry-After`` included; the limiter only decides how many requests are in flight.

So against a server that rejects work above a hidden capacity C the limit settles in a saw-tooth
between about 0.9·C and C; against one that queues (or slows down) above C it settles where the
latency stops holding, with the server busy. When 50 rounds in a row ran above the baseline's
latency (a standing queue), one *probe* round runs at three quarters of the limit so that the
baseline is measured afresh with no queue (a baseline measured on a queue would let the limit
creep up). The limit never exceeds the *ceiling* (``judge.max_concurrency``, ``--concurrency``;
a backend's ``max_parallel`` lowers it) and never goes under one.

Waiters queue in FIFO order and a released slot is handed to exactly one of them: with
thousands of queued requests, waking them all on every release would cost more CPU than the
requests themselves. *Urgent* requests (``slot(urgent=True)``: ones that other requests wait
on, such as a response's statements before their verification) have their own queue, served
first: at the end of a job the last prompts' first steps then do not wait behind the others'
last steps, which shortens the tail where the judge is no longer kept busy.

Written here because no dependency offers an adaptive asyncio limit keyed by endpoint.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType
from typing import Any

#: Limit at the start, before anything is known about the server (capped by the ceiling).
INITIAL_LIMIT = 32
#: Latency ratio (round's typical latency / baseline) up to which the limit may grow.
GROW_BELOW = 1.15
#: Latency ratio above which the limit shrinks.
SHRINK_ABOVE = 1.35
#: Latency growth (seconds) that never counts: a busy client delays answers by this much.
LATENCY_SLACK = 0.05
#: Factor applied on an overload answer after slow start.
OVERLOAD_FACTOR = 0.9
#: Rounds whose typical latency the baseline is the minimum of.
BASELINE_ROUNDS = 60
#: Rounds in a row above the baseline's latency that trigger a probe round.
PROBE_EVERY = 50
#: Seconds between two ticks of the event-loop lag timer.
LAG_TICK = 0.025
#: Share of a round's typical latency above which the client's own lag makes it uninformative.
CLIENT_BOUND = 0.5
#: Queued requests, as a share of the limit, below which more work is wanted (prompt admission):
#: a newly admitted prompt takes a few event-loop turns to send its first requests, and a short
#: queue keeps every slot busy meanwhile.
BACKLOG_SHARE = 0.25
#: ... and at most this many: a limit in the hundreds (a fast judge) does not need a longer
#: queue, and every queued request is a prompt held in memory a little longer.
BACKLOG_MAX = 32
#: Changes of the limit kept in the history: the first ones and the latest ones.
HISTORY_HEAD, HISTORY_TAIL = 24, 96


#: Called when a slot is asked for in this context: prompt admission
#: (:func:`~longjudge.runtime.pipeline.pipelined`) sets it for each prompt it starts, to learn
#: when the prompt's first request has reached the limiter (the tasks a prompt starts inherit it).
ON_REQUEST: ContextVar[Callable[[], None] | None] = ContextVar("ON_REQUEST", default=None)


class Slot:
    """One request's hold on the limiter (``async with limiter.slot() as slot``).

    Leaving the block normally records the request's latency; call :meth:`overloaded` before
    leaving on a 429, 5xx or time-out so that the limiter backs off. Other exceptions (a bad
    request, a bug) leave no trace on the limit.
    """

    __slots__ = ("_limiter", "_overloaded", "_urgent", "round", "started")

    def __init__(self, limiter: AdaptiveLimiter, urgent: bool = False) -> None:
        self._limiter = limiter
        self._overloaded = False
        self._urgent = urgent
        self.round = 0
        self.started = 0.0

    def overloaded(self) -> None:
        """Mark this request as answered with an overload signal (429, 5xx, time-out)."""
        self._overloaded = True

    def _begin(self) -> Slot:
        self.round = self._limiter._round
        self.started = self._limiter._clock()
        return self

    def release(self, ok: bool = True) -> None:
        """Give the slot back; ``ok`` records the latency (unless marked overloaded)."""
        limiter = self._limiter
        limiter.in_flight -= 1
        if self._overloaded:
            limiter._on_overload(self.round)
        elif ok:
            limiter._on_sample(self.round, limiter._clock() - self.started)
        limiter._hand_over()

    async def __aenter__(self) -> Slot:
        await self._limiter._acquire(self._urgent)
        return self._begin()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release(exc_type is None)


class AdaptiveLimiter:
    """An asyncio limit on requests in flight that adapts to the server (see the module doc)."""

    def __init__(
        self,
        ceiling: int,
        *,
        initial: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ceiling = max(1, ceiling)
        self._clock = clock
        self._value = float(min(self.ceiling, initial or INITIAL_LIMIT))
        #: The current limit (an integer view of the adaptive value).
        self.limit = int(self._value)
        self.in_flight = 0
        self.peak_in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._urgent: deque[asyncio.Future[None]] = deque()  # served before ``_waiters``
        self.slow_start = self.limit < self.ceiling
        # The current round.
        self._round = 0
        self._round_samples: list[float] = []
        self._round_used = 0
        self._cut_round = 0  # overloads of requests sent before this round are not counted again
        self._probing: float | None = None  # the limit to restore after a probe round
        self._held = False  # the last round's latency was in the hold band
        self._rounds_since_probe = 0
        self._baselines: deque[float] = deque(maxlen=BASELINE_ROUNDS)
        #: Counters for the run summary.
        self.rounds = 0
        self.overloads = 0
        self._t0 = clock()
        self._history_head: list[tuple[float, int]] = [(0.0, self.limit)]
        self._history_tail: deque[tuple[float, int]] = deque(maxlen=HISTORY_TAIL)
        self._history_dropped = 0
        self._on_room: list[Callable[[], None]] = []
        # Event-loop lag (seconds late of a timer) during the current round, and the median
        # lag of the recent rounds (for the summary).
        self._ticking = False
        self._round_lags: deque[float] = deque(maxlen=512)
        self._lags: deque[float] = deque(maxlen=BASELINE_ROUNDS)

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` whenever the limiter may want more work (:attr:`wants_work`
        after a release or a raised limit); returns the function that stops the calls. Prompt
        admission (:func:`~longjudge.runtime.pipeline.pipelined`) waits on this instead of
        polling."""
        self._on_room.append(callback)
        return lambda: self._on_room.remove(callback)

    @property
    def max_concurrency(self) -> int:
        """The ceiling (the name of the config field it comes from)."""
        return self.ceiling

    @property
    def waiting(self) -> int:
        """Requests queued for a slot."""
        return len(self._waiters) + len(self._urgent)

    @property
    def idle(self) -> int:
        """Free slots nobody waits for."""
        return 0 if self.waiting else max(0, self.limit - self.in_flight)

    @property
    def wants_work(self) -> bool:
        """Whether more work should be started: fewer requests queue for a slot than a quarter
        of the limit (``BACKLOG_SHARE``, at most ``BACKLOG_MAX``), so the slots stay busy while
        it gets going."""
        return self.waiting < max(1, min(int(self.limit * BACKLOG_SHARE), BACKLOG_MAX))

    def slot(self, urgent: bool = False) -> Slot:
        """``async with limiter.slot() as slot:`` holds one slot for one request; an ``urgent``
        one (other requests wait on its answer) is served before the others that wait."""
        return Slot(self, urgent)

    def try_slot(self) -> Slot | None:
        """A slot at once if one is free and nobody waits, else None; :meth:`Slot.release`
        gives it back. (For callers without an event loop, e.g. simulations.)"""
        if self.waiting or self.in_flight >= self.limit:
            return None
        self._take()
        return Slot(self)._begin()

    # -- slots --------------------------------------------------------------------------------

    async def _acquire(self, urgent: bool = False) -> None:
        heard = ON_REQUEST.get()
        if heard is not None:
            heard()
        if not self.waiting and self.in_flight < self.limit:
            self._take()
            return
        queue = self._urgent if urgent else self._waiters
        first_in_line = False
        while True:
            waiter = asyncio.get_running_loop().create_future()
            if first_in_line:
                queue.appendleft(waiter)
            else:
                queue.append(waiter)
            try:
                await waiter  # resolved by _hand_over, which counted the slot for us
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.in_flight -= 1  # handed a slot, then cancelled: pass it on
                    self._hand_over()
                elif waiter in queue:  # _hand_over may have dropped it already
                    queue.remove(waiter)
                    self._hand_over()
                raise
            if self.in_flight <= self.limit:
                return
            # A back-off lowered the limit after the slot was handed over: wait again, first.
            self.in_flight -= 1
            first_in_line = True

    def _take(self) -> None:
        if not self._ticking:
            self._start_ticking()
        self.in_flight += 1
        if self.in_flight > self._round_used:
            self._round_used = self.in_flight
            if self.in_flight > self.peak_in_flight:
                self.peak_in_flight = self.in_flight

    def _hand_over(self) -> None:
        while self.in_flight < self.limit and (self._urgent or self._waiters):
            waiter = (self._urgent or self._waiters).popleft()
            if not waiter.done():
                self._take()
                waiter.set_result(None)
        if self._on_room and self.wants_work:
            for callback in self._on_room:
                callback()

    # -- the client's own delay -------------------------------------------------------------

    def _start_ticking(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a simulation through try_slot): no lag to measure
        self._ticking = True
        due = loop.time() + LAG_TICK
        loop.call_at(due, self._tick, loop, due)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = loop.time()
        self.note_lag(now - due)
        if self.in_flight == 0 and not self.waiting:
            self._ticking = False  # nothing in flight: nothing to correct; the next take restarts
            return
        due = now + LAG_TICK
        loop.call_at(due, self._tick, loop, due)

    def note_lag(self, seconds: float) -> None:
        """Record how late the event loop ran a timer (the timer calls this; tests too)."""
        self._round_lags.append(max(0.0, seconds))

    # -- adaptation ---------------------------------------------------------------------------

    def _on_sample(self, sent_round: int, latency: float) -> None:
        if sent_round != self._round:
            return  # sent under an earlier limit: says nothing about this one
        samples = self._round_samples
        samples.append(latency)
        # Half a window decides in slow start (it doubles the next), a full one after it.
        if len(samples) >= max(4, self.limit // 2 if self.slow_start else self.limit):
            self._end_round()

    def _on_overload(self, sent_round: int) -> None:
        self.overloads += 1
        if sent_round < self._cut_round:
            return  # sent before the last back-off, which already answered it
        if self._probing is not None:
            self._value, self._probing = self._probing, None
        factor = 0.5 if self.slow_start else OVERLOAD_FACTOR
        self.slow_start = False
        self._set(self._value * factor)
        self._new_round()
        self._cut_round = self._round

    def _end_round(self) -> None:
        samples = sorted(self._round_samples)
        lags = sorted(self._round_lags)
        lag = lags[len(lags) // 2] if lags else 0.0
        self._lags.append(lag)
        raw = samples[len(samples) // 2]  # the median: robust to a few client hiccups
        self.rounds += 1
        if lag > CLIENT_BOUND * raw:
            # The client's own delay is most of what was measured: the round says nothing
            # about the server (and a baseline taken from it would be near zero and make every
            # later round look like a queue). Hold; overload answers still act.
            self._new_round()
            return
        typical = raw - lag
        self._baselines.append(typical)
        if self._probing is not None:  # a probe round only measures the baseline
            restore, self._probing = self._probing, None
            self._set(restore)
            self._new_round()
            return
        baseline = min(self._baselines)
        # Growth within the slack is the client's own scheduling noise, not the server's queue.
        ratio = typical / max(baseline, 1e-9) if typical - baseline > LATENCY_SLACK else 1.0
        used = self._round_used >= self.limit - max(1, self.limit // 10)
        value = self._value
        if ratio > SHRINK_ABOVE:
            self.slow_start = False
            value = max(value * GROW_BELOW / ratio, value / 2)
        elif ratio <= GROW_BELOW and used:
            value = value * 2 if self.slow_start else value + 1
        elif ratio > GROW_BELOW:
            # In slow start one such round holds the limit and a second in a row ends slow
            # start: a single round delayed by a burst of client work (a prompt's index build,
            # a garbage collection) must not end it far below the server's capacity.
            self.slow_start = self.slow_start and not self._held
        self._held = GROW_BELOW < ratio <= SHRINK_ABOVE
        if value >= self.ceiling:
            self.slow_start = False
        # Probe when no round for a while has seen the baseline's latency (a standing queue).
        self._rounds_since_probe = 0 if ratio <= 1.05 else self._rounds_since_probe + 1
        if not self.slow_start and self._rounds_since_probe >= PROBE_EVERY and value >= 4:
            self._rounds_since_probe = 0
            self._probing = min(value, float(self.ceiling))
            value *= 0.75
        self._set(value)
        self._new_round()

    def _new_round(self) -> None:
        self._round += 1
        self._round_samples = []
        self._round_lags.clear()
        self._round_used = self.in_flight

    def _set(self, value: float) -> None:
        self._value = min(float(self.ceiling), max(1.0, value))
        limit = int(self._value)
        if limit != self.limit:
            self.limit = limit
            self._remember(limit)
            self._hand_over()

    def _remember(self, limit: int) -> None:
        entry = (round(self._clock() - self._t0, 3), limit)
        if len(self._history_head) < HISTORY_HEAD:
            self._history_head.append(entry)
            return
        if len(self._history_tail) == HISTORY_TAIL:
            self._history_dropped += 1
        self._history_tail.append(entry)

    @property
    def history(self) -> list[tuple[float, int]]:
        """(seconds since the limiter started, limit) at each change; the first and the latest
        changes are kept when there were many (see ``summary()['history_dropped']``)."""
        return [*self._history_head, *self._history_tail]

    def summary(self) -> dict[str, Any]:
        """The limit, its history and its counters, for the run summary."""
        return {
            "ceiling": self.ceiling,
            "limit": self.limit,
            "peak_in_flight": self.peak_in_flight,
            "slow_start": self.slow_start,
            "rounds": self.rounds,
            "overloads": self.overloads,
            "history": [list(entry) for entry in self.history],
            "history_dropped": self._history_dropped,
            "loop_lag": round(sorted(self._lags)[len(self._lags) // 2], 4) if self._lags else 0.0,
        }


# Per event loop (weakly: a closed loop's limiters go with it; keying by id(loop) could hand a
# new loop the limiter, bound to a dead loop, of an old one that had the same id).
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AdaptiveLimiter]] = (
    weakref.WeakKeyDictionary()
)


def limiter_for(endpoint: str, ceiling: int, initial: int | None = None) -> AdaptiveLimiter:
    """The shared limiter of ``endpoint`` in the running event loop (created with ``ceiling``
    and the ``initial`` limit, the first time it is asked for)."""
    per_loop = _LIMITERS.setdefault(asyncio.get_running_loop(), {})
    limiter = per_loop.get(endpoint)
    if limiter is None:
        limiter = per_loop[endpoint] = AdaptiveLimiter(ceiling, initial=initial)
    return limiter


__all__ = ["AdaptiveLimiter", "Slot", "limiter_for"]
