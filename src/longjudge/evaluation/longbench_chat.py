"""``longjudge eval judge``: LongBench-Chat-style ratings of every response into a gold run.

The judging itself is the registered scorer ``longbench-chat``
(:mod:`longjudge.scorers.longbench_chat`); this module runs it as an ordinary scoring job (the
``local`` engine, one :class:`~longjudge.scoring.ScoringContext`, resume, ``summary.json``), so
a gold run is made, resumed and recorded like every other run. The ratings then serve as
``--gold`` of ``eval ranking`` and ``eval best-of-n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ScoreConfig
from ..scoring.engines import run_job
from ..scoring.job import ScoreJob

#: The registered scorer that rates the responses.
METHOD = "longbench-chat"


@dataclass
class LbcJob:
    """One ``longjudge eval judge`` invocation; the judging settings are
    ``config.longbench_chat`` (:class:`~longjudge.scorers.longbench_chat.LongBenchChatConfig`)."""

    input: Path
    responses: Path
    judge: str
    out: Path
    config: ScoreConfig = field(default_factory=ScoreConfig)


async def run_lbc_job(job: LbcJob) -> dict[str, Any]:
    """Rate every unfinished candidate into ``job.out``; returns the invocation's counts
    (:meth:`~longjudge.scoring.runner.RunResult.to_dict`), ``input_errors``, ``usage`` and
    the run directory's state as ``directory``."""
    outcome = await run_job(
        ScoreJob(job.input, job.responses, job.judge, METHOD, job.config, job.out)
    )
    assert outcome.state is not None  # a job with a run directory always has one
    return {
        **outcome.result.to_dict(),
        "input_errors": len(outcome.input_errors),
        "usage": outcome.usage,
        "directory": outcome.state.to_dict(),
    }


__all__ = ["METHOD", "LbcJob", "run_lbc_job"]
