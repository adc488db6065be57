"""A circuit breaker between the reward server and its judge.

When the judge cannot be reached (connection refused, DNS failure: an
:class:`~longjudge.errors.UnreachableJudgeError`) ``failures`` times in a row, the circuit
opens: scoring requests are answered at once with 503 and ``Retry-After`` instead of waiting
through the retry policy and returning every item unscored, and requests already in flight are
cut short the same way. While open, the judge is probed every ``probe_interval`` seconds
(:meth:`~longjudge.judges.base.Judge.probe`); the first probe that succeeds closes the circuit.
Any judge answer also closes it and resets the count.

:class:`BreakerJudge` wraps the real backend so that every judge call (whatever the scorer)
reports to the breaker; it delegates everything else, the cache identity included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from ..errors import FatalJudgeError, JudgeError, UnreachableJudgeError
from ..judges.base import Judge, JudgeRequest, JudgeResponse
from ..redact import redact_url

log = logging.getLogger("longjudge.serve")


class CircuitOpenError(FatalJudgeError):
    """The judge is known to be unreachable: the call is not even tried (never retried)."""


@dataclass
class BreakerCounts:
    """Counters exported at ``/metrics``."""

    connection_failures: int = 0
    opened: int = 0
    probes: int = 0
    rejected_requests: int = 0


class JudgeBreaker:
    """Consecutive connection failures open it; a successful probe or answer closes it."""

    def __init__(self, judge: Judge, failures: int = 3, probe_interval: float = 5.0) -> None:
        self.judge = judge
        self.threshold = failures
        self.probe_interval = probe_interval
        self.consecutive = 0
        self.opened_at: float | None = None
        self.last_error = ""
        self.counts = BreakerCounts()
        self._opened_event: asyncio.Event | None = None
        self._prober: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    @property
    def retry_after(self) -> int:
        """Seconds a client should wait before trying again (``Retry-After``)."""
        return max(1, round(self.probe_interval))

    def state(self) -> dict[str, Any]:
        """The judge's state for ``/health``."""
        out: dict[str, Any] = {
            "state": "unreachable" if self.is_open else "ok",
            "circuit": "open" if self.is_open else "closed",
            "consecutive_connection_failures": self.consecutive,
        }
        if self.opened_at is not None:
            out["open_for_seconds"] = round(time.monotonic() - self.opened_at, 1)
            out["last_error"] = self.last_error
        return out

    def success(self) -> None:
        self.consecutive = 0
        if self.is_open:
            self._close()

    def failure(self, error: BaseException) -> None:
        self.counts.connection_failures += 1
        self.consecutive += 1
        self.last_error = str(error)[:200]
        if not self.is_open and self.consecutive >= self.threshold:
            self._open()

    def _event(self) -> asyncio.Event:
        if self._opened_event is None:
            self._opened_event = asyncio.Event()
        return self._opened_event

    async def wait_open(self) -> None:
        """Return when the circuit opens (at once when it is open)."""
        if self.is_open:
            return
        await self._event().wait()

    def _open(self) -> None:
        self.opened_at = time.monotonic()
        self.counts.opened += 1
        log.warning(
            "judge unreachable after %d connection failures: answering 503 until a probe "
            "succeeds (%s)", self.consecutive, self.last_error,
        )
        self._event().set()
        with contextlib.suppress(RuntimeError):  # no running loop: probed on the next request
            self._prober = asyncio.get_running_loop().create_task(self._probe_loop())

    def _close(self) -> None:
        log.warning("judge reachable again: circuit closed")
        self.opened_at = None
        self.consecutive = 0
        self._opened_event = None  # waiters of the old event already woke up
        prober, self._prober = self._prober, None
        if prober is not None and prober is not asyncio.current_task():
            prober.cancel()

    async def _probe_loop(self) -> None:
        while self.is_open:
            await asyncio.sleep(self.probe_interval)
            self.counts.probes += 1
            try:
                await self.judge.probe()
            except Exception as exc:  # any failure keeps it open; the next probe tries again
                shown = self.judge.classify_error(exc) or exc
                self.last_error = redact_url(f"probe: {type(exc).__name__}: {shown}")[:200]
                continue
            self.success()

    async def aclose(self) -> None:
        prober, self._prober = self._prober, None
        if prober is not None:
            prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await prober


class BreakerJudge(Judge):
    """The real judge, reporting every call's reachability to a :class:`JudgeBreaker`."""

    def __init__(self, inner: Judge, breaker: JudgeBreaker) -> None:
        super().__init__(inner.model)
        self.inner = inner
        self.breaker = breaker
        self.backend = inner.backend
        self.max_parallel = inner.max_parallel

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    @property
    def endpoint(self) -> str:
        return self.inner.endpoint

    def enforces_schema(self) -> bool:
        return self.inner.enforces_schema()

    async def generate(self, request: JudgeRequest) -> JudgeResponse:
        if self.breaker.is_open:
            raise CircuitOpenError(f"judge unreachable (circuit open): {self.breaker.last_error}")
        try:
            response = await self.inner.generate(request)
        except Exception as exc:
            # Only an unreachable judge counts; a judge that answers with an error (or is
            # slow) is not what the circuit is for, and leaves the count as it is.
            classified = self.inner.classify_error(exc)  # scrubbed of credentials
            if isinstance(classified, UnreachableJudgeError):
                self.breaker.failure(classified)
            raise
        self.breaker.success()
        return response

    def classify_error(self, exc: BaseException) -> JudgeError | None:
        return self.inner.classify_error(exc)

    async def probe(self) -> None:
        await self.inner.probe()

    async def aclose(self) -> None:
        await self.breaker.aclose()
        await self.inner.aclose()

    def tokenize_count(self, text: str) -> int | None:
        return self.inner.tokenize_count(text)


__all__ = ["BreakerCounts", "BreakerJudge", "CircuitOpenError", "JudgeBreaker"]
