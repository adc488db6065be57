"""A scoring job end to end: read inputs, build judge, client and scorer, run, record.

``longjudge score`` is a thin shell over :func:`run_job`; the reward server and the Ray engine
reuse :func:`build_client` and :func:`build_job_scorer`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..config import ScoreConfig, build_config
from ..io import CandidateFields, ExampleFields, group_candidates, read_candidates, read_examples
from ..judges.registry import create_judge
from ..redact import redact
from ..scorers.base import Scorer
from ..scorers.registry import build_scorer
from .cache import JudgeCache
from .client import JudgeClient
from .fingerprint import RunState, Setup, run_state
from .rundir import RunDir
from .runner import Group, RunResult, run_scoring


@dataclass
class ScoreJob:
    """What to score, with what, and where the results go."""

    input: Path
    responses: Path
    judge: str
    method: str = "longreward"
    config: ScoreConfig = field(default_factory=ScoreConfig)
    out: Path | None = None
    dry_run: bool = False
    #: ``local`` (one process) or ``ray`` (prompts spread over Ray actors; needs ``out``).
    engine: Literal["local", "ray"] = "local"
    #: Ray cluster address for ``engine="ray"``; None: $RAY_ADDRESS, else a local instance.
    ray_address: str | None = None


@dataclass
class JobOutcome:
    result: RunResult
    usage: dict[str, Any]
    input_errors: list[dict[str, Any]]
    groups: int
    #: the run directory after the job, for this input (None: dry run or no directory)
    state: RunState | None = None
    #: the scorer's counters (statements dropped by the cap, truncated RM inputs ...)
    stats: dict[str, Any] = field(default_factory=dict)
    #: where ``rescore`` moved the earlier results, if it did
    superseded: str | None = None

    @property
    def complete(self) -> bool:
        """No bad record, no failed prompt, and every candidate in the directory scored."""
        if self.input_errors or self.result.failed_groups:
            return False
        if self.state is not None:
            return self.state.complete
        return not self.result.unscored


def build_client(spec: str, config: ScoreConfig, *, dry_run: bool = False) -> JudgeClient:
    """The judge named by ``spec`` behind the cache, retry policy and limiter of ``config``."""
    judge = create_judge(spec, config.judge)
    cache = JudgeCache(config.cache.path) if config.cache.enabled else None
    return JudgeClient(
        judge,
        retry=config.retry,
        cache=cache,
        max_concurrency=config.judge.max_concurrency,
        dry_run=dry_run,
        temperature=config.judge.temperature,
        seed=config.judge.seed,
    )


def build_job_scorer(method: str, client: JudgeClient, config: ScoreConfig) -> Scorer:
    return build_scorer(method, client, config.section(method))


def load_groups(job: ScoreJob) -> tuple[list[Group], list[dict[str, Any]]]:
    """Examples grouped with their candidates, and every bad record as an error dict."""
    limits = job.config.limits
    examples = read_examples(
        job.input, build_config(ExampleFields, job.config.example_fields), limits
    )
    candidates = read_candidates(
        job.responses, build_config(CandidateFields, job.config.candidate_fields), limits
    )
    groups, orphans = group_candidates(examples.records, candidates)
    errors = [
        {"kind": "input", **e.to_dict()} for e in [*examples.errors, *candidates.errors, *orphans]
    ]
    return [(e, c) for e, c in groups], errors


def resolved_config(job: ScoreJob, described: dict[str, Any], setup: Setup) -> dict[str, Any]:
    """The config written to the run directory: everything but secrets (only the key's
    variable name is part of the config, never its value). ``described`` is the scorer's
    :meth:`~longjudge.scorers.base.Scorer.describe`; ``setup`` is the setup every result in
    the directory was made under. Credentials in URLs are redacted."""
    resolved: dict[str, Any] = redact(
        {
            "input": str(job.input),
            "responses": str(job.responses),
            "judge_spec": job.judge,
            **described,
            **job.config.model_dump(mode="json", exclude=set(job.config.sections())),
            "fingerprint": setup.to_dict(),
        }
    )
    return resolved


def start_rundir(
    rundir: RunDir,
    job: ScoreJob,
    described: dict[str, Any],
    input_errors: list[dict[str, Any]],
    setup: Setup,
) -> str | None:
    """Claim the directory for ``setup`` (refused when it holds another setup's results;
    with ``run.rescore`` those move to ``superseded/``, whose path is returned), then write the
    resolved config and the input errors not recorded by an earlier invocation. The caller
    holds the directory's lock."""
    superseded = rundir.claim(setup, job.config.run.rescore)
    rundir.write_config(resolved_config(job, described, setup))
    known = {
        (e.get("source"), e.get("line"), e.get("reason"))
        for e in rundir.errors()
        if e.get("kind") == "input"
    }
    for error in input_errors:
        if (error["source"], error.get("line"), error.get("reason")) not in known:
            rundir.append_error(error)
    return superseded


def finish_rundir(
    rundir: RunDir, groups: list[Group], setup: Setup, entry: dict[str, Any]
) -> RunState:
    """Settle errors.jsonl, count the directory's state for this input, and add the
    invocation's ``entry`` (with that state) to summary.json."""
    rundir.settle_errors()
    state = run_state(rundir.rewards(), groups, setup)
    rundir.add_invocation({**entry, "directory": state.to_dict()})
    return state


async def run_job(job: ScoreJob) -> JobOutcome:
    """Score ``job``; with ``dry_run`` nothing is written and no judge is called."""
    if job.engine == "ray" and not job.dry_run:
        from ..distributed.ray_engine import run_ray_job

        return await asyncio.to_thread(run_ray_job, job)
    rundir = None if job.dry_run or job.out is None else RunDir(job.out)
    with rundir.lock() if rundir is not None else contextlib.nullcontext():
        groups, input_errors = load_groups(job)
        client = build_client(job.judge, job.config, dry_run=job.dry_run)
        state = superseded = None
        try:
            scorer = build_job_scorer(job.method, client, job.config)
            setup = scorer.setup()
            if rundir is not None:
                superseded = start_rundir(rundir, job, scorer.describe(), input_errors, setup)
            result = await run_scoring(scorer, groups, rundir, job.config.run)
            usage, stats = client.usage.to_dict(), scorer.stats()
            if rundir is not None:
                entry = {
                    "judge": job.judge,
                    "method": job.method,
                    **result.to_dict(),
                    "input_errors": len(input_errors),
                    "usage": usage,
                    "scorer": stats,
                    "concurrency": client.limiter.summary(),
                }
                state = finish_rundir(rundir, groups, setup, entry)
        finally:
            await client.aclose()
            if client.cache is not None:
                client.cache.close()
    return JobOutcome(result, usage, input_errors, len(groups), state, stats, superseded)


def run_job_sync(job: ScoreJob) -> JobOutcome:
    return asyncio.run(run_job(job))


__all__ = [
    "JobOutcome",
    "ScoreJob",
    "build_client",
    "build_job_scorer",
    "finish_rundir",
    "run_job",
    "run_job_sync",
    "start_rundir",
]
