"""Engines by name: each is ``async (ScoreJob) -> JobOutcome``; :func:`run_job` picks one.

The engines are declared in :data:`longjudge.components.ENGINES` as ``"module:function"``,
imported on first use: this module imports no engine, so ``distributed/`` (above this layer)
is never imported from here and there is no import cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ..components import ENGINES
from .job import JobOutcome, ScoreJob

Engine = Callable[[ScoreJob], Awaitable[JobOutcome]]


def engine_names() -> list[str]:
    return ENGINES.names()


def get_engine(name: str) -> Engine:
    """The engine called ``name``; an unknown name is a ConfigError listing the known ones,
    a missing extra (ray) an install hint."""
    engine: Engine = ENGINES.factory(name)
    return engine


async def run_job(job: ScoreJob) -> JobOutcome:
    """Run ``job`` on its engine. A dry run calls nothing and always runs here."""
    return await get_engine("local" if job.dry_run else job.engine)(job)


def run_job_sync(job: ScoreJob) -> JobOutcome:
    return asyncio.run(run_job(job))


__all__ = ["ENGINES", "Engine", "engine_names", "get_engine", "run_job", "run_job_sync"]
