"""Run directories as evaluation inputs: the work behind ``longjudge eval ...``.

Each function reads run directories (stored rewards only; no judge is called), runs one of the
evaluations of this package on them and returns its result for the command to print:

- :func:`run_agreement`: a run against human preferences, with the ablation renormalising
  exactly when the run did;
- :func:`compare_with_gold` then :func:`ranking_curves` or :func:`best_of_n_curves`: runs
  against a gold run, with what each run and the gold run do not share (:class:`Overlap`);
  nothing in common at all is an :class:`~longjudge.errors.InputError` (exit 2).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..runtime.rundir import RunDir
from ..types import Reward
from .agreement import AgreementConfig, AgreementReport, agreement, config_for_run
from .best_of_n import BestOfNConfig, BonCurve
from .best_of_n import best_of_n_curves as _bon_curves
from .human import HumanPair
from .ranking import RankingCurve, SubsetConfig, ranking_curve

#: Names the reference curves take: a run may not be labelled with them.
REFERENCE_NAMES = ("oracle", "random")


def run_rewards(path: str | Path) -> list[Reward]:
    """Every candidate's latest reward of a run directory (InputError when it is none)."""
    return RunDir.existing(path).rewards()


def run_names(paths: Sequence[Path], taken: tuple[str, ...] = REFERENCE_NAMES) -> list[str]:
    """A short unique label per run directory (its name; the parent's too when needed)."""
    names: list[str] = []
    for path in paths:
        name = path.resolve().name
        if name in names or name in taken:
            name = f"{path.resolve().parent.name}/{name}"
        while name in names or name in taken:
            name += "'"
        names.append(name)
    return names


def run_agreement(
    run_dir: Path, human: Sequence[HumanPair], config: AgreementConfig
) -> AgreementReport:
    """The agreement of a run's rewards with human pairs (see :mod:`.agreement`)."""
    run_config = RunDir(run_dir).read_config()
    return agreement(run_rewards(run_dir), human, config_for_run(config, run_config))


@dataclass(frozen=True)
class Overlap:
    """What one run and the gold run do not share (ids sorted)."""

    name: str
    #: Prompts of the run that the gold run lacks, and the other way round.
    not_in_gold: list[str]
    not_in_run: list[str]
    #: ``example/candidate`` of prompts both have, present in only one of the two.
    lone_candidates: list[str]
    #: Whether the two share any candidate at all.
    shared: bool


def overlap(name: str, rewards: Sequence[Reward], gold: Sequence[Reward]) -> Overlap:
    """Which prompts and candidates only one of a run and the gold run has."""
    mine = {(r.example_id, r.candidate_id) for r in rewards}
    theirs = {(r.example_id, r.candidate_id) for r in gold}
    mine_ex, gold_ex = {e for e, _ in mine}, {e for e, _ in theirs}
    both = mine_ex & gold_ex
    lone = {f"{e}/{c}" for e, c in mine ^ theirs if e in both}
    return Overlap(
        name=name,
        not_in_gold=sorted(mine_ex - gold_ex),
        not_in_run=sorted(gold_ex - mine_ex),
        lone_candidates=sorted(lone),
        shared=bool(mine & theirs),
    )


@dataclass
class GoldComparison:
    """Runs (label -> rewards) read beside a gold run, and how each overlaps it."""

    gold: Path
    gold_rewards: list[Reward]
    runs: dict[str, list[Reward]] = field(default_factory=dict)
    overlaps: list[Overlap] = field(default_factory=list)


def compare_with_gold(run_dirs: Sequence[Path], gold: Path) -> GoldComparison:
    """Read the runs and the gold run, labelled by :func:`run_names`."""
    comparison = GoldComparison(gold, run_rewards(gold))
    for path, name in zip(run_dirs, run_names(run_dirs)):
        rewards = run_rewards(path)
        comparison.runs[name] = rewards
        comparison.overlaps.append(overlap(name, rewards, comparison.gold_rewards))
    return comparison


def ranking_curves(comparison: GoldComparison, config: SubsetConfig) -> list[RankingCurve]:
    """Each run's mean Kendall tau against the gold ranking, by subset size N; InputError
    when no prompt has two candidates scored in both a run and the gold run."""
    curves = [
        ranking_curve(rewards, comparison.gold_rewards, config, name)
        for name, rewards in comparison.runs.items()
    ]
    if not any(c.points for c in curves):
        raise InputError(
            f"nothing to compare with the gold run {comparison.gold}: no prompt has two "
            "candidates scored in both (see the ids above)"
        )
    return curves


def best_of_n_curves(comparison: GoldComparison, config: BestOfNConfig) -> list[BonCurve]:
    """Each run's Best-of-N curve and the reference curves; InputError when no run picked a
    candidate the gold run scored."""
    curves = _bon_curves(comparison.runs, comparison.gold_rewards, config)
    if not any(p.prompts for c in curves if not c.reference for p in c.points):
        raise InputError(
            f"nothing to compare with the gold run {comparison.gold}: no run picked a "
            "candidate the gold run scored (see the ids above)"
        )
    return curves


def curves_payload(gold: Path, curves: Sequence[Any]) -> dict[str, Any]:
    """The ``--json`` record of a set of curves."""
    return {"gold": str(gold), "curves": [dataclasses.asdict(c) for c in curves]}


def write_json(path: Path, payload: Any) -> None:
    """A result (a dataclass or plain data) as indented UTF-8 JSON."""
    is_record = dataclasses.is_dataclass(payload) and not isinstance(payload, type)
    data = dataclasses.asdict(payload) if is_record else payload
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=list) + "\n", encoding="utf-8"
    )


__all__ = [
    "REFERENCE_NAMES",
    "GoldComparison",
    "Overlap",
    "best_of_n_curves",
    "compare_with_gold",
    "curves_payload",
    "overlap",
    "ranking_curves",
    "run_agreement",
    "run_names",
    "run_rewards",
    "write_json",
]
