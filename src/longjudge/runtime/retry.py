"""The only retry policy in longjudge (tenacity).

Exponential backoff with jitter, at least ``Retry-After`` when the server sent one, bounded in
attempts and total time. Only classified :class:`RateLimitError` and :class:`TransientJudgeError`
are retried; fatal judge errors and bugs are raised at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from ..config import RetryConfig
from ..errors import ErrorKind, JudgeError

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, JudgeError) and exc.kind in (ErrorKind.RATE_LIMIT, ErrorKind.TRANSIENT)


class _Wait:
    """Backoff with jitter, raised to the server's Retry-After when it asked for more."""

    def __init__(self, config: RetryConfig) -> None:
        # Computed here rather than with tenacity's wait_exponential_jitter, whose 'initial'
        # argument is deprecated in tenacity 9.2 and whose replacement 8.x lacks.
        self._initial = config.initial_backoff
        self._jitter = config.jitter
        self._cap = config.max_backoff

    def __call__(self, state: RetryCallState) -> float:
        exponent = max(state.attempt_number - 1, 0)
        wait = min(self._initial * 2.0**exponent, self._cap) + random.uniform(0, self._jitter)
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, (int, float)) and retry_after > 0:
            wait = max(wait, min(float(retry_after), self._cap))
        return wait


async def call_with_retry(
    func: Callable[[], Awaitable[T]],
    config: RetryConfig,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """Await ``func()`` under the policy; the last error is re-raised when it gives up.

    The first attempt is made directly: setting tenacity up costs about a tenth of a
    millisecond per call (a twentieth of a judge call's client work on the development
    machine), and most calls succeed at once. A retryable failure hands over to tenacity,
    which sees that attempt as its first (same waits, same bounds: the time it took counts
    towards ``max_total_seconds``)."""
    started = time.monotonic()
    try:
        return await func()
    except Exception as exc:
        if not is_retryable(exc) or config.max_attempts <= 1:
            raise
        first: BaseException | None = exc

    async def again() -> T:
        nonlocal first
        if first is not None:
            error, first = first, None
            raise error
        return await func()

    return await _retrying(again, config, on_retry, time.monotonic() - started)


async def _retrying(
    func: Callable[[], Awaitable[T]],
    config: RetryConfig,
    on_retry: Callable[[BaseException], None] | None,
    spent: float,
) -> T:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None and exc is not None:
            on_retry(exc)

    retrying = AsyncRetrying(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(config.max_attempts)
        | stop_after_delay(max(0.0, config.max_total_seconds - spent)),
        wait=_Wait(config),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await func()
    raise AssertionError("unreachable: tenacity either returns or re-raises")


__all__ = ["call_with_retry", "is_retryable"]
