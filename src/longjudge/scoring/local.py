"""The ``local`` engine: the whole job in this process, through one :class:`ScoringContext`."""

from __future__ import annotations

import contextlib

from ..runtime.rundir import RunDir
from .context import ScoringContext
from .job import JobOutcome, ScoreJob, load_groups
from .record import finish_rundir, input_errors_of, start_rundir, summary_entry
from .runner import run_scoring


async def run_local(job: ScoreJob) -> JobOutcome:
    """Score ``job`` here; with ``dry_run`` nothing is written and no judge is called."""
    rundir = None if job.dry_run or job.out is None else RunDir(job.out)
    with rundir.lock() if rundir is not None else contextlib.nullcontext():
        groups, read_errors = load_groups(job)
        state = superseded = None
        async with ScoringContext(job.judge, job.method, job.config, dry_run=job.dry_run) as ctx:
            scorer = ctx.scorer
            input_errors = input_errors_of(scorer, read_errors)
            setup = scorer.setup()
            if rundir is not None:
                superseded = start_rundir(rundir, job, scorer.describe(), input_errors, setup)
            result = await run_scoring(scorer, groups, rundir, job.config.run)
            usage, stats = ctx.usage(), scorer.stats()
            if rundir is not None:
                concurrency = ctx.client.limiter.summary()
                entry = summary_entry(
                    job, result, input_errors, usage, stats, concurrency=concurrency
                )
                state = finish_rundir(rundir, groups, setup, entry)
    return JobOutcome(result, usage, input_errors, len(groups), state, stats, superseded)


__all__ = ["run_local"]
