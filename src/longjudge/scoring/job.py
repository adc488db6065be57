"""A scoring job: what to score, with what, where the results go; and what a job did.

:func:`~longjudge.scoring.engines.run_job` runs a :class:`ScoreJob` on its engine (``local`` or
``ray``) and returns a :class:`JobOutcome`; :func:`load_groups` reads its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ScoreConfig, build_config
from ..io import CandidateFields, ExampleFields, group_candidates, read_candidates, read_examples
from ..runtime.fingerprint import RunState
from .runner import Group, RunResult


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
    #: An engine by name (:data:`~longjudge.scoring.engines.ENGINES`): ``local`` (one
    #: process) or ``ray`` (prompts spread over Ray actors; needs ``out``).
    engine: str = "local"
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


__all__ = ["JobOutcome", "ScoreJob", "load_groups"]
