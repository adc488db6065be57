"""Bounded async map of a scorer over examples and their candidates, with resume.

A new prompt starts whenever the judge's adaptive concurrency limit has free slots
(:mod:`longjudge.runtime.pipeline`; ``max_examples_in_flight`` is an optional hard cap); all
candidates of one prompt run concurrently after its shared per-prompt work; judge concurrency
is limited per endpoint by the client. Each reward is appended to the run directory the moment
it is ready.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import RunConfig
from ..scorers.base import Scorer
from ..types import Candidate, Example, Reward
from .pipeline import pipelined
from .progress import Progress
from .rundir import RunDir

Group = tuple[Example, Sequence[Candidate]]


@dataclass
class RunResult:
    """What one invocation did."""

    scored: int = 0
    unscored: int = 0
    skipped: int = 0
    failed_groups: int = 0
    seconds: float = 0.0
    #: Most prompts that were in flight at once (set by the admission of runtime/pipeline.py).
    peak_prompts_in_flight: int = 0
    unscored_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scored": self.scored,
            "unscored": self.unscored,
            "skipped_finished": self.skipped,
            "failed_groups": self.failed_groups,
            "seconds": round(self.seconds, 3),
            "peak_prompts_in_flight": self.peak_prompts_in_flight,
            "unscored_reasons": dict(sorted(self.unscored_reasons.items())),
        }


async def run_scoring(
    scorer: Scorer,
    groups: Sequence[Group],
    rundir: RunDir | None,
    config: RunConfig | None = None,
) -> RunResult:
    """Score every unfinished candidate of ``groups``; write into ``rundir`` when given."""
    config = config or RunConfig()
    done = rundir.finished(config.retry_unscored) if rundir else set()
    todo: list[Group] = []
    result = RunResult()
    for example, candidates in groups:
        left = [c for c in candidates if (example.id, c.id) not in done]
        result.skipped += len(candidates) - len(left)
        if left:
            todo.append((example, left))
    started = time.monotonic()
    total = sum(len(c) for _, c in todo)
    with Progress(total, scorer.client.usage, enabled=config.progress) as progress:

        def record(reward: Reward) -> None:
            if rundir is not None:
                rundir.append_reward(reward)
            if reward.status == "scored":
                result.scored += 1
            else:
                result.unscored += 1
                key = (reward.reason or "unknown").split(":")[0]
                result.unscored_reasons[key] = result.unscored_reasons.get(key, 0) + 1
            progress.advance()

        async def one_group(group: Group) -> None:
            example, candidates = group
            try:
                prepared = await scorer.prepare(example)

                async def one(candidate: Candidate) -> None:
                    record(await scorer.score_candidate(example, candidate, prepared))

                await asyncio.gather(*(one(c) for c in candidates))
            except Exception as exc:
                result.failed_groups += 1
                if rundir is not None:
                    rundir.append_error(
                        {
                            "kind": "internal",
                            "id": example.id,
                            "reason": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc(),
                        }
                    )

        result.peak_prompts_in_flight = await pipelined(
            todo, one_group, scorer.client.limiter, config.max_examples_in_flight
        )
    result.seconds = time.monotonic() - started
    return result


__all__ = ["Group", "RunResult", "run_scoring"]
