"""Load what pair selection and Best-of-N need from a scoring run.

The run directory's rewards carry ids only; the texts come from the examples and responses files
that ``longjudge score`` recorded in the run's ``config.yaml`` (keys ``input`` and
``responses``, with the field mappings ``example_fields`` and ``candidate_fields``), or from
files named explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import build_config
from ..errors import InputError
from ..io import CandidateFields, ExampleFields, RecordError, read_candidates, read_examples
from ..runtime.fingerprint import example_digest, text_digest
from ..runtime.rundir import RunDir
from ..types import Candidate, Example, Reward


@dataclass
class RunData:
    """A run's rewards with the examples and candidates they refer to."""

    rewards: list[Reward]
    examples: dict[str, Example] = field(default_factory=dict)
    candidates: dict[tuple[str, str], Candidate] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)
    #: (example id, candidate id) of rewards left out because the example or the candidate's
    #: text in the input files is no longer the one they scored (their fingerprint differs).
    stale: list[tuple[str, str]] = field(default_factory=list)

    def by_example(self) -> dict[str, list[Reward]]:
        """Rewards grouped by example id, in first-written order."""
        groups: dict[str, list[Reward]] = {}
        for reward in self.rewards:
            groups.setdefault(reward.example_id, []).append(reward)
        return groups

    def text(self, reward: Reward) -> str | None:
        """The text of the candidate ``reward`` scores, or None when it is unknown."""
        candidate = self.candidates.get((reward.example_id, reward.candidate_id))
        return None if candidate is None else candidate.text


def _input_path(given: str | Path | None, config: dict[str, Any], key: str, run: Path) -> Path:
    if given is not None:
        path = Path(given)
        if not path.exists():
            raise InputError(f"{path} not found")
        return path
    recorded = config.get(key)
    if not recorded:
        raise InputError(f"{run / 'config.yaml'} records no '{key}' file: name it explicitly")
    path = Path(str(recorded))
    if not path.exists():
        raise InputError(
            f"the '{key}' file recorded in {run / 'config.yaml'} ({path}) is not found from "
            f"{Path.cwd()}: name it explicitly"
        )
    return path


def load_run(
    run_dir: str | Path,
    examples: str | Path | None = None,
    responses: str | Path | None = None,
) -> RunData:
    """Rewards of ``run_dir`` plus the examples and candidates they score."""
    run = Path(run_dir)
    rundir = RunDir.existing(run)
    config = rundir.read_config()
    example_fields = build_config(ExampleFields, config.get("example_fields") or None)
    candidate_fields = build_config(CandidateFields, config.get("candidate_fields") or None)
    read_ex = read_examples(_input_path(examples, config, "input", run), example_fields)
    read_ca = read_candidates(_input_path(responses, config, "responses", run), candidate_fields)
    data = RunData(
        rewards=[],
        examples={e.id: e for e in read_ex.records},
        candidates={(c.example_id, c.id): c for c in read_ca.records},
        errors=[*read_ex.errors, *read_ca.errors],
    )
    for reward in rundir.rewards():
        if _matches_inputs(reward, data):
            data.rewards.append(reward)
        else:
            data.stale.append((reward.example_id, reward.candidate_id))
    return data


def _matches_inputs(reward: Reward, data: RunData) -> bool:
    """Whether ``reward`` scored the example and text the input files hold now.

    A reward with no fingerprint (an older run) or whose candidate is missing from the files is
    kept: pair selection reports the missing text itself.
    """
    stored = reward.fingerprint
    candidate = data.candidates.get((reward.example_id, reward.candidate_id))
    example = data.examples.get(reward.example_id)
    if stored is None or candidate is None or example is None:
        return True
    return stored.candidate == text_digest(candidate.text) and stored.example == example_digest(
        example
    )


__all__ = ["RunData", "load_run"]
