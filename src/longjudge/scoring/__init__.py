"""Scoring jobs, above the scorers and the run machinery: the :class:`ScoringContext` that owns
a job's judge, cache, client and scorer; the runner (bounded async map, the one resume plan,
:class:`RunResult`); the job and its engines (``local`` here, ``ray`` in ``distributed/``); and
what a job records in its run directory. Every entry point (CLI, server, Ray, LongBench-Chat
judging, RL) goes through here."""

from .context import ScoringContext
from .engines import ENGINES, engine_names, get_engine, run_job, run_job_sync
from .job import JobOutcome, ScoreJob, load_groups
from .runner import Group, RunResult, plan_run, run_scoring

__all__ = [
    "ENGINES",
    "Group",
    "JobOutcome",
    "RunResult",
    "ScoreJob",
    "ScoringContext",
    "engine_names",
    "get_engine",
    "load_groups",
    "plan_run",
    "run_job",
    "run_job_sync",
    "run_scoring",
]
