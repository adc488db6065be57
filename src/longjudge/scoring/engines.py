"""Engines by name: each is ``async (ScoreJob) -> JobOutcome``; :func:`run_job` picks one.

The table names each engine's function as ``"module:function"``, imported on first use: this
module imports no engine, so ``distributed/`` (above this layer) is never imported from here
at module level and there is no import cycle. (The component registry will declare the same
table as its ENGINES registry; until then, this map is it.)
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable

from ..errors import ConfigError
from .job import JobOutcome, ScoreJob

Engine = Callable[[ScoreJob], Awaitable[JobOutcome]]

#: name -> "module:function" of an ``async (ScoreJob) -> JobOutcome``.
ENGINES: dict[str, str] = {
    "local": "longjudge.scoring.local:run_local",
    "ray": "longjudge.distributed.ray_engine:run_ray",
}


def engine_names() -> list[str]:
    return sorted(ENGINES)


def get_engine(name: str) -> Engine:
    """The engine called ``name``; an unknown name is a ConfigError listing the known ones."""
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; known: {', '.join(engine_names())}")
    module, _, function = ENGINES[name].partition(":")
    engine: Engine = getattr(importlib.import_module(module), function)
    return engine


async def run_job(job: ScoreJob) -> JobOutcome:
    """Run ``job`` on its engine. A dry run calls nothing and always runs here."""
    return await get_engine("local" if job.dry_run else job.engine)(job)


def run_job_sync(job: ScoreJob) -> JobOutcome:
    return asyncio.run(run_job(job))


__all__ = ["ENGINES", "Engine", "engine_names", "get_engine", "run_job", "run_job_sync"]
