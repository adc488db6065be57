"""The ``local`` engine: the whole job in this process, through one :class:`ScoringContext`.

The input is streamed (:mod:`longjudge.scoring.inputs`): a first pass keeps where each prompt
and candidate is and what its fingerprint needs, the resume plan is made from those and the
run directory's compact index, and each prompt is read again when the runner admits it and
dropped once its rewards are written. Memory follows the prompts in flight, not the job.
"""

from __future__ import annotations

import contextlib

from ..runtime.rundir import RunDir
from .context import ScoringContext
from .inputs import iter_groups, plan_input, scan_input
from .job import JobOutcome, ScoreJob
from .record import finish_rundir, input_errors_of, start_rundir, summary_entry
from .runner import score_groups


async def run_local(job: ScoreJob) -> JobOutcome:
    """Score ``job`` here; with ``dry_run`` nothing is written and no judge is called."""
    rundir = None if job.dry_run or job.out is None else RunDir(job.out)
    with rundir.lock() if rundir is not None else contextlib.nullcontext():
        inputs = scan_input(job.input, job.responses, job.config)
        state = superseded = None
        async with ScoringContext(job.judge, job.method, job.config, dry_run=job.dry_run) as ctx:
            scorer = ctx.scorer
            input_errors = input_errors_of(scorer, inputs.errors)
            setup = scorer.setup()
            if rundir is not None:
                superseded = start_rundir(rundir, job, scorer.describe(), input_errors, setup)
            run = job.config.run
            todo, result = plan_input(setup, inputs, rundir, run.retry_unscored)
            total = sum(len(p.candidates) for p in todo)
            groups = iter_groups(inputs, todo)
            result = await score_groups(scorer, groups, total, rundir, run, result)
            usage, stats = ctx.usage(), scorer.stats()
            if rundir is not None:
                concurrency = ctx.client.limiter.summary()
                entry = summary_entry(
                    job, result, input_errors, usage, stats, concurrency=concurrency
                )
                state = finish_rundir(rundir, inputs, setup, entry)
    return JobOutcome(result, usage, input_errors, len(inputs.prompts), state, stats, superseded)


__all__ = ["run_local"]
