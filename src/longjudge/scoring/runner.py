"""Bounded async map of a scorer over examples and their candidates, with resume.

A new prompt starts whenever the judge's adaptive concurrency limit wants more work
(:mod:`longjudge.runtime.pipeline`; ``max_examples_in_flight`` is an optional hard cap); all
candidates of one prompt run concurrently with its shared per-prompt work; judge concurrency
is limited per endpoint by the client. Each reward is stamped with its fingerprint and appended
to the run directory the moment it is ready (an unscored one also to errors.jsonl). Resume
reuses a stored reward only when its fingerprint matches: :func:`plan_run` (over
:func:`~longjudge.runtime.fingerprint.plan_resume`) is the one resume plan of every engine.
:class:`RunResult` is what one invocation did, with one serialisation (:meth:`RunResult.to_dict`)
for the CLI, ``summary.json`` and the Ray workers.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import RunConfig
from ..runtime.fingerprint import ResumePlan, Setup, plan_resume
from ..runtime.heap import HeapTrimmer
from ..runtime.pipeline import pipelined
from ..runtime.progress import Progress
from ..runtime.rundir import RunDir
from ..runtime.stored import StoredIndex
from ..scorers.base import Scorer
from ..types import Candidate, Example, Reward

Group = tuple[Example, Sequence[Candidate]]


@dataclass
class RunResult:
    """What one invocation did."""

    scored: int = 0
    unscored: int = 0
    #: stored rewards reused (their fingerprint matched), and how many of them are unscored
    skipped: int = 0
    skipped_unscored: int = 0
    #: candidates scored again although the directory held a reward, and why (per reason)
    rescored: int = 0
    rescored_reasons: dict[str, int] = field(default_factory=dict)
    failed_groups: int = 0
    seconds: float = 0.0
    #: Most prompts that were in flight at once (set by the admission of runtime/pipeline.py).
    peak_prompts_in_flight: int = 0
    unscored_reasons: dict[str, int] = field(default_factory=dict)

    def take_plan(self, plan: ResumePlan) -> None:
        """Count what resume decided (reused and rescored candidates)."""
        self.skipped += plan.reused
        self.skipped_unscored += plan.reused_unscored
        self.rescored += plan.rescored_candidates
        for reason, count in plan.rescored.items():
            self.rescored_reasons[reason] = self.rescored_reasons.get(reason, 0) + count

    def to_dict(self) -> dict[str, Any]:
        """The one serialisation (CLI summary, ``summary.json``, Ray workers): field names."""
        return {
            "scored": self.scored,
            "unscored": self.unscored,
            "skipped": self.skipped,
            "skipped_unscored": self.skipped_unscored,
            "rescored": self.rescored,
            "rescored_reasons": dict(sorted(self.rescored_reasons.items())),
            "failed_groups": self.failed_groups,
            "seconds": round(self.seconds, 3),
            "peak_prompts_in_flight": self.peak_prompts_in_flight,
            "unscored_reasons": dict(sorted(self.unscored_reasons.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """The inverse of :meth:`to_dict`."""
        return cls(
            **{
                **data,
                "rescored_reasons": dict(data.get("rescored_reasons") or {}),
                "unscored_reasons": dict(data.get("unscored_reasons") or {}),
            }
        )

    def add(self, part: RunResult) -> None:
        """Count ``part`` (one Ray worker's shard) into this result; seconds are not added
        (the caller times the whole), prompts in flight add up (the workers run at once)."""
        self.scored += part.scored
        self.unscored += part.unscored
        self.skipped += part.skipped
        self.skipped_unscored += part.skipped_unscored
        self.rescored += part.rescored
        self.failed_groups += part.failed_groups
        self.peak_prompts_in_flight += part.peak_prompts_in_flight
        for mine, theirs in (
            (self.rescored_reasons, part.rescored_reasons),
            (self.unscored_reasons, part.unscored_reasons),
        ):
            for reason, count in theirs.items():
                mine[reason] = mine.get(reason, 0) + count


def plan_run(
    setup: Setup, groups: Sequence[Group], rundir: RunDir | None, config: RunConfig
) -> tuple[list[Group], RunResult]:
    """The one resume plan: what is left to score of ``groups``, and a result that counts
    what resume decided. A directory with results of another setup is refused
    (:meth:`RunDir.check_setup`)."""
    stored = StoredIndex()
    if rundir is not None:
        stored = rundir.stored()
        rundir.check_setup(setup, stored)
    plan = plan_resume(stored, groups, setup, config.retry_unscored)
    result = RunResult()
    result.take_plan(plan)
    return plan.todo, result


async def run_scoring(
    scorer: Scorer,
    groups: Sequence[Group],
    rundir: RunDir | None,
    config: RunConfig | None = None,
) -> RunResult:
    """Score every candidate of ``groups`` that ``rundir`` holds no reusable reward for.

    The caller holds ``rundir``'s lock; the resume plan is :func:`plan_run`."""
    config = config or RunConfig()
    todo, result = plan_run(scorer.setup(), groups, rundir, config)
    total = sum(len(c) for _, c in todo)
    return await score_groups(scorer, todo, total, rundir, config, result)


async def score_groups(
    scorer: Scorer,
    todo: Iterable[Group],
    total: int,
    rundir: RunDir | None,
    config: RunConfig,
    result: RunResult,
) -> RunResult:
    """Score every candidate of ``todo`` (what a resume plan left; ``total`` candidates) into
    ``result``. ``todo`` is consumed one prompt at a time, as prompts are admitted, and a
    prompt's example, candidates and per-prompt work are dropped once its rewards are written:
    given a lazy ``todo`` (:func:`~longjudge.scoring.inputs.iter_groups`), memory holds the
    prompts in flight, and ``result`` only counters."""
    started = time.monotonic()
    trim = HeapTrimmer()  # freed prompts go back to the system (runtime/heap.py)
    with Progress(total, scorer.client.usage, enabled=config.progress) as progress:

        def record(reward: Reward) -> None:
            if rundir is not None:
                rundir.append_reward(reward)
                if reward.status != "scored":
                    rundir.append_unscored(reward)
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
                    reward = await scorer.score_candidate(example, candidate, prepared)
                    record(scorer.stamp(example, candidate, reward))

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
            finally:
                trim()

        result.peak_prompts_in_flight = await pipelined(
            todo, one_group, scorer.client.limiter, config.max_examples_in_flight
        )
    result.seconds = time.monotonic() - started
    return result


__all__ = ["Group", "RunResult", "plan_run", "run_scoring", "score_groups"]
