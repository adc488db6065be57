"""What a job writes into its run directory besides the rewards: the resolved config, the
input errors, and one ``summary.json`` entry per invocation, the same for every engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..redact import redact
from ..runtime.fingerprint import RunState, Setup, run_state
from ..runtime.rundir import RunDir
from ..scorers.base import Scorer
from .inputs import StreamedInput, input_state
from .job import ScoreJob
from .runner import Group, RunResult

#: The method sections of :class:`~longjudge.config.ScoreConfig`: the scorer's
#: ``describe()`` states the one in use, resolved, so none is copied raw into config.yaml.


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


def input_errors_of(scorer: Scorer, read_errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The job's bad input records: the scorer's own inputs' (LongBench-Chat's rated
    examples file), then those of the examples and responses."""
    return [*({"kind": "input", **e} for e in scorer.input_errors()), *read_errors]


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


def summary_entry(
    job: ScoreJob,
    result: RunResult,
    input_errors: list[dict[str, Any]],
    usage: dict[str, Any],
    stats: dict[str, Any],
    **engine: Any,
) -> dict[str, Any]:
    """One invocation's ``summary.json`` entry, for every engine; ``engine`` adds what the
    engine reports of itself (the concurrency limiter's summary, Ray's workers)."""
    return {
        "judge": job.judge,
        "method": job.method,
        "engine": job.engine,
        **engine,
        **result.to_dict(),
        "input_errors": len(input_errors),
        "usage": usage,
        "scorer": stats,
    }


def finish_rundir(
    rundir: RunDir,
    groups: Sequence[Group] | StreamedInput,
    setup: Setup,
    entry: dict[str, Any],
) -> RunState:
    """Settle errors.jsonl, count the directory's state for this input (eager groups, or the
    refs of a streamed input), and add the invocation's ``entry`` (with that state) to
    summary.json. The directory is read through its compact index."""
    stored = rundir.stored()
    rundir.settle_errors(stored)
    if isinstance(groups, StreamedInput):
        state = input_state(stored, groups, setup)
    else:
        state = run_state(stored, groups, setup)
    rundir.add_invocation({**entry, "directory": state.to_dict()})
    return state


__all__ = [
    "finish_rundir",
    "input_errors_of",
    "resolved_config",
    "start_rundir",
    "summary_entry",
]
