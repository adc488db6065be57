"""Agreement of a run's rewards with human preferences, and the LongReward dimension ablation.

Rows of the result:

* ``total``: the reward's total; a selectable candidate beats a scored but excluded one (S2L's
  trust region), whatever their scores, as it would when picking;
* one row per dimension: that dimension's score alone;
* ``without <dim>`` (when the rewards have two or more dimensions): the weighted mean of the
  other dimensions, recomputed from the stored dimension scores and the reward's
  ``meta["weights"]`` (equal weights when absent). As in the scorer, a remaining dimension that
  is unscored makes the ablated mean missing, unless the run renormalised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from ..config import StrictModel
from ..types import Reward
from .human import HumanPair
from .metrics import Accuracy, BootstrapConfig, PairOutcome, Preference, pairwise_accuracy

#: A comparable view of one reward: (tier, score), or None when it has no such score.
Key = tuple[int, float]
View = Callable[[Reward], "Key | None"]


class AgreementConfig(StrictModel):
    """How rewards are compared with human preferences."""

    tie_tolerance: float = Field(
        0.0, ge=0, description="Scores closer than this are a score tie (no prediction)."
    )
    renormalize: bool = Field(
        False,
        description="Ablation: average the scored remaining dimensions when one is unscored "
        "(the run's own setting is used by the CLI).",
    )
    bootstrap: BootstrapConfig = Field(
        default_factory=BootstrapConfig, description="Confidence intervals (prompts resampled)."
    )


def run_renormalizes(run_config: Mapping[str, Any]) -> bool:
    """Whether a run renormalised its LongReward totals over the scored dimensions (its
    ``config.yaml``'s ``longreward.renormalize``)."""
    return bool((run_config.get("longreward") or {}).get("renormalize", False))


def config_for_run(config: AgreementConfig, run_config: Mapping[str, Any]) -> AgreementConfig:
    """``config`` with the ablation renormalising exactly when the run itself did."""
    return config.model_copy(update={"renormalize": run_renormalizes(run_config)})


@dataclass(frozen=True)
class AgreementRow:
    """The accuracy of one view of the rewards."""

    name: str
    kind: Literal["total", "dimension", "ablation"]
    result: Accuracy


@dataclass
class AgreementReport:
    """Every view's accuracy and how many human pairs could be used at all."""

    rows: list[AgreementRow] = field(default_factory=list)
    human_pairs: int = 0
    missing: int = 0
    examples: int = 0

    def row(self, name: str) -> AgreementRow:
        return next(r for r in self.rows if r.name == name)


def total_view(reward: Reward) -> Key | None:
    if reward.status != "scored" or reward.total is None:
        return None
    return (1 if reward.selectable else 0, reward.total)


def dimension_view(name: str) -> View:
    def view(reward: Reward) -> Key | None:
        dim = reward.dimensions.get(name)
        if dim is None or dim.status != "scored" or dim.score is None:
            return None
        return (1, dim.score)

    return view


def ablated_mean(reward: Reward, without: str, renormalize: bool = False) -> float | None:
    """The weighted mean of ``reward``'s dimensions other than ``without``."""
    weights = reward.meta.get("weights") or {}
    rest = [d for name, d in reward.dimensions.items() if name != without]
    scored = [d for d in rest if d.status == "scored" and d.score is not None]
    if not scored or (len(scored) < len(rest) and not renormalize):
        return None
    weight = sum(float(weights.get(d.name, 1.0)) for d in scored)
    if weight <= 0:
        return None
    return sum(float(weights.get(d.name, 1.0)) * (d.score or 0.0) for d in scored) / weight


def ablation_view(without: str, renormalize: bool) -> View:
    def view(reward: Reward) -> Key | None:
        value = ablated_mean(reward, without, renormalize)
        return None if value is None else (1, value)

    return view


def compare(a: Key | None, b: Key | None, tolerance: float) -> Preference | None:
    """The scorer's preference between two keys; tiers first, then scores within tolerance."""
    if a is None or b is None:
        return None
    if a[0] != b[0]:
        return "a" if a[0] > b[0] else "b"
    if abs(a[1] - b[1]) <= tolerance:
        return "tie"
    return "a" if a[1] > b[1] else "b"


def dimension_names(rewards: Sequence[Reward]) -> list[str]:
    """Dimension names in first-seen order."""
    names: list[str] = []
    for reward in rewards:
        names += [d for d in reward.dimensions if d not in names]
    return names


def views(rewards: Sequence[Reward], renormalize: bool) -> list[tuple[str, str, View]]:
    """(name, kind, view) of every row: total, dimensions, and ablations."""
    dims = dimension_names(rewards)
    out: list[tuple[str, str, View]] = [("total", "total", total_view)]
    out += [(d, "dimension", dimension_view(d)) for d in dims]
    if len(dims) >= 2:
        out += [(f"without {d}", "ablation", ablation_view(d, renormalize)) for d in dims]
    return out


def agreement(
    rewards: Sequence[Reward], human: Sequence[HumanPair], config: AgreementConfig | None = None
) -> AgreementReport:
    """Accuracy of each view of ``rewards`` against ``human`` pairs.

    Pairs naming a candidate the run has no reward for are counted in ``missing`` and left out
    of every row; pairs with an unscored side count as ``unscored`` in that row.
    """
    config = config or AgreementConfig()
    by_key = {(r.example_id, r.candidate_id): r for r in rewards}
    usable = [p for p in human if (p.example_id, p.a) in by_key and (p.example_id, p.b) in by_key]
    report = AgreementReport(
        human_pairs=len(human),
        missing=len(human) - len(usable),
        examples=len({p.example_id for p in usable}),
    )
    for name, kind, view in views(rewards, config.renormalize):
        outcomes = [
            PairOutcome(
                p.winner,
                compare(
                    view(by_key[(p.example_id, p.a)]),
                    view(by_key[(p.example_id, p.b)]),
                    config.tie_tolerance,
                ),
                p.example_id,
            )
            for p in usable
        ]
        result = pairwise_accuracy(outcomes, config.bootstrap)
        report.rows.append(AgreementRow(name, kind, result))  # type: ignore[arg-type]
    return report


__all__ = [
    "AgreementConfig",
    "AgreementReport",
    "AgreementRow",
    "ablated_mean",
    "agreement",
    "compare",
    "config_for_run",
    "dimension_names",
    "run_renormalizes",
    "total_view",
]
