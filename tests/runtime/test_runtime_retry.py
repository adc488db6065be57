"""The one retry policy: what is retried, how long it waits, and when it gives up."""

from __future__ import annotations

import asyncio
import time

import pytest
from tenacity import AsyncRetrying, RetryCallState

from longjudge.config import RetryConfig
from longjudge.errors import FatalJudgeError, RateLimitError, TransientJudgeError
from longjudge.judges.base import JudgeRequest
from longjudge.runtime.retry import _Wait, call_with_retry, is_retryable
from tests.conftest import make_client

FAST = RetryConfig(max_attempts=4, initial_backoff=0.01, max_backoff=0.05, jitter=0.0)


class Flaky:
    """Raises the given errors in turn, then returns 'ok'; records when it was called."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.times: list[float] = []

    async def __call__(self) -> str:
        self.times.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def run(func: Flaky, config: RetryConfig = FAST) -> str:
    return asyncio.run(call_with_retry(func, config))


def wait_after(config: RetryConfig, attempt: int, exc: BaseException) -> float:
    state = RetryCallState(AsyncRetrying(), None, (), {})
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return _Wait(config)(state)


def test_transient_and_rate_limit_errors_are_retried_until_success() -> None:
    func = Flaky(TransientJudgeError("500"), RateLimitError("429", retry_after=0.01))
    assert run(func) == "ok"
    assert len(func.times) == 3


def test_retry_after_is_honoured() -> None:
    func = Flaky(RateLimitError("429", retry_after=0.3))
    config = RetryConfig(max_attempts=3, initial_backoff=0.01, max_backoff=5.0, jitter=0.0)
    assert run(func, config) == "ok"
    assert func.times[1] - func.times[0] >= 0.29  # not the 0.01 backoff


def test_wait_grows_exponentially_and_retry_after_raises_it_up_to_the_cap() -> None:
    config = RetryConfig(initial_backoff=0.5, max_backoff=10.0, jitter=0.0)
    plain = TransientJudgeError("x")
    assert [wait_after(config, n, plain) for n in (1, 2, 3, 6)] == [0.5, 1.0, 2.0, 10.0]
    assert wait_after(config, 1, RateLimitError("x", retry_after=7.0)) == 7.0
    assert wait_after(config, 1, RateLimitError("x", retry_after=900.0)) == 10.0  # capped
    assert wait_after(config, 4, RateLimitError("x", retry_after=0.1)) == 4.0  # never shorter
    jittery = RetryConfig(initial_backoff=0.5, max_backoff=10.0, jitter=1.0)
    waits = {wait_after(jittery, 1, plain) for _ in range(20)}
    assert all(0.5 <= w <= 1.5 for w in waits) and len(waits) > 1


def test_attempts_are_bounded() -> None:
    func = Flaky(*[TransientJudgeError(f"fail {i}") for i in range(10)])
    with pytest.raises(TransientJudgeError, match="fail 3"):
        run(func)
    assert len(func.times) == FAST.max_attempts


def test_total_time_is_bounded() -> None:
    config = RetryConfig(max_attempts=1000, max_total_seconds=0.3, initial_backoff=0.05,
                         max_backoff=0.05, jitter=0.0)
    func = Flaky(*[TransientJudgeError("500") for _ in range(1000)])
    with pytest.raises(TransientJudgeError):
        run(func, config)
    assert 1 <= len(func.times) < 50  # far below max_attempts: the time bound stopped it


@pytest.mark.parametrize("error", [FatalJudgeError("401"), ValueError("a bug"),
                                   KeyError("a bug"), AssertionError("a bug")])
def test_fatal_errors_and_bugs_are_never_retried(error: BaseException) -> None:
    func = Flaky(error, error)
    with pytest.raises(type(error)):
        run(func)
    assert len(func.times) == 1
    assert not is_retryable(error)


def test_on_retry_sees_each_retried_error() -> None:
    seen: list[BaseException] = []
    errors = (TransientJudgeError("a"), TransientJudgeError("b"))
    assert asyncio.run(call_with_retry(Flaky(*errors), FAST, seen.append)) == "ok"
    assert [str(e) for e in seen] == ["a", "b"]


def test_a_bug_in_a_backend_reaches_the_caller_unretried() -> None:
    client = make_client([ValueError("backend bug"), "never reached"])
    request = JudgeRequest(messages=({"role": "user", "content": "hi"},))
    with pytest.raises(ValueError, match="backend bug"):
        asyncio.run(client.complete(request, step="s", parse=lambda r: r.text))
    assert client.judge.calls == 1  # type: ignore[attr-defined]


class SlowFlaky(Flaky):
    """A Flaky whose every attempt takes ``seconds``."""

    def __init__(self, seconds: float, *errors: BaseException) -> None:
        super().__init__(*errors)
        self.seconds = seconds

    async def __call__(self) -> str:
        await asyncio.sleep(self.seconds)
        return await super().__call__()


def test_the_first_attempt_counts_towards_the_attempts_and_the_total_time() -> None:
    # made before tenacity is set up, the first attempt is still its first
    config = RetryConfig(max_attempts=2, initial_backoff=0.01, max_backoff=0.05, jitter=0.0)
    errors = [TransientJudgeError("a"), TransientJudgeError("b"), TransientJudgeError("c")]
    two = Flaky(*errors)
    with pytest.raises(TransientJudgeError, match="b"):
        run(two, config)
    assert len(two.times) == 2
    # a first attempt that used up max_total_seconds is not retried
    timed = RetryConfig(max_attempts=5, initial_backoff=0.01, jitter=0.0, max_total_seconds=0.1)
    slow = SlowFlaky(0.15, TransientJudgeError("slow"))
    with pytest.raises(TransientJudgeError, match="slow"):
        run(slow, timed)
    assert len(slow.times) == 1
    # and one that left time is retried
    quick = SlowFlaky(0.01, TransientJudgeError("quick"))
    assert run(quick, timed) == "ok" and len(quick.times) == 2
