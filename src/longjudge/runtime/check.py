"""One real structured call, to see that a judge is reachable and whether it enforces the JSON
schema before a long job depends on it (``longjudge check-judge``).

The call goes through :meth:`JudgeClient.ask`, exactly as a job's calls do (the verdict block
when the schema is not enforced, the backend's own error classification), but with no cache and
a single attempt: a failure is reported, never retried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..config import RetryConfig
from ..errors import ParseError
from ..judges.base import Judge, JudgeResponse
from ..prompts.check import CHECK_PROMPT, CheckOut, check_request
from .client import JudgeClient

#: The step name the check's usage is counted under.
CHECK_STEP = "check"


@dataclass
class CheckResult:
    """What one check call showed."""

    latency: float
    response: JudgeResponse
    dialect: str
    answer: CheckOut | None
    problem: str | None


def describe_dialect(judge: Judge, response: JudgeResponse) -> str:
    """How the schema was sent for ``response``: the backend's dialect, or prompt only."""
    if not response.structured:
        return "none (prompt only, verdict read from a nonce-marked block)"
    return judge.schema_dialect()


async def run_check(judge: Judge, question: str, max_tokens: int) -> CheckResult:
    """Send the check request once (no cache, no retry) and parse the answer. A judge error
    propagates (a :class:`~longjudge.errors.JudgeError`); an unusable answer is a ``problem``."""
    client = JudgeClient(judge, retry=RetryConfig(max_attempts=1, parse_retries=0))
    request = check_request(question, max_tokens=max_tokens)
    start = time.perf_counter()
    try:
        response = await client.ask(request, step=CHECK_STEP)
    finally:
        latency = time.perf_counter() - start
    try:
        answer: CheckOut | None = CHECK_PROMPT.parse(response)
        problem = None
    except ParseError as exc:
        answer, problem = None, str(exc)
    return CheckResult(latency, response, describe_dialect(judge, response), answer, problem)


__all__ = ["CHECK_STEP", "CheckResult", "describe_dialect", "run_check"]
