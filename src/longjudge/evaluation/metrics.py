"""Metrics as pure functions: pairwise accuracy against people, rank correlations, bootstrap.

Everything here takes plain values and returns plain values; nothing reads files or rewards.
scipy is imported inside the functions that use it (``pip install 'longjudge[eval]'``).

Pairwise accuracy keeps the two kinds of ties apart:

* a **human tie** (the people saw no difference) is never in the accuracy; it is counted, and
  how often the scorer tied too is reported beside it;
* a **score tie** (the scorer gave both the same score, within a tolerance) on a pair the people
  decided is no prediction: :attr:`Accuracy.accuracy` counts it as a miss,
  :attr:`Accuracy.accuracy_ties_half` as half right, :attr:`Accuracy.accuracy_untied` leaves it
  out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from ..config import StrictModel

Preference = Literal["a", "b", "tie"]


class BootstrapConfig(StrictModel):
    """Percentile bootstrap over clusters (prompts), seeded so that reports are repeatable."""

    resamples: int = Field(1000, ge=0, description="Bootstrap resamples; 0 turns the CIs off.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Coverage of the interval.")
    seed: int = Field(0, description="Seed of the resampling.")


def prefer(
    score_a: float | None, score_b: float | None, tolerance: float = 0.0
) -> Preference | None:
    """Which of two scores wins; ``tie`` within ``tolerance``; None when either is missing."""
    if score_a is None or score_b is None:
        return None
    if abs(score_a - score_b) <= tolerance:
        return "tie"
    return "a" if score_a > score_b else "b"


@dataclass(frozen=True)
class PairOutcome:
    """One human judgement of a pair and the scorer's preference on the same pair."""

    human: Preference
    model: Preference | None
    group: str = ""


@dataclass(frozen=True)
class Accuracy:
    """Pairwise accuracy with its tie and missing-score counts (see the module docstring)."""

    pairs: int
    human_ties: int
    human_ties_model_tied: int
    unscored: int
    decided: int
    correct: int
    wrong: int
    score_ties: int
    accuracy: float | None
    accuracy_ties_half: float | None
    accuracy_untied: float | None
    ci: tuple[float, float] | None = None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def pairwise_accuracy(
    outcomes: Sequence[PairOutcome], bootstrap: BootstrapConfig | None = None
) -> Accuracy:
    """Accuracy of the scorer's preferences against the human ones.

    ``decided`` pairs are those the people decided and the scorer scored both sides of. With
    ``bootstrap``, ``ci`` is a percentile interval of :attr:`Accuracy.accuracy`, resampling
    the outcomes' groups (prompts) with replacement.
    """
    human_ties = sum(1 for o in outcomes if o.human == "tie")
    tied_too = sum(1 for o in outcomes if o.human == "tie" and o.model == "tie")
    decided = [o for o in outcomes if o.human != "tie" and o.model is not None]
    unscored = sum(1 for o in outcomes if o.human != "tie" and o.model is None)
    correct = sum(1 for o in decided if o.model == o.human)
    score_ties = sum(1 for o in decided if o.model == "tie")
    wrong = len(decided) - correct - score_ties
    ci = None
    if bootstrap is not None and bootstrap.resamples > 0 and decided:
        groups: dict[str, list[float]] = {}
        for o in decided:
            cell = groups.setdefault(o.group, [0.0, 0.0])
            cell[0] += 1.0 if o.model == o.human else 0.0
            cell[1] += 1.0
        ci = bootstrap_ratio_ci(
            [g[0] for g in groups.values()], [g[1] for g in groups.values()], bootstrap
        )
    return Accuracy(
        pairs=len(outcomes),
        human_ties=human_ties,
        human_ties_model_tied=tied_too,
        unscored=unscored,
        decided=len(decided),
        correct=correct,
        wrong=wrong,
        score_ties=score_ties,
        accuracy=_ratio(correct, len(decided)),
        accuracy_ties_half=_ratio(correct + score_ties / 2, len(decided)),
        accuracy_untied=_ratio(correct, correct + wrong),
        ci=ci,
    )


def _defined(x: Sequence[float], y: Sequence[float]) -> bool:
    if len(x) != len(y):
        raise ValueError(f"rankings differ in length: {len(x)} and {len(y)}")
    return len(x) >= 2 and len(set(x)) > 1 and len(set(y)) > 1


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b (ties handled) by scipy; None when undefined (fewer than two items, or a
    constant ranking)."""
    if not _defined(x, y):
        return None
    from scipy.stats import kendalltau

    value = float(kendalltau(x, y).statistic)
    return None if math.isnan(value) else value


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b by counting pairs: the same value as :func:`kendall_tau`, without
    scipy's per-call overhead, for the many small subsets of the ranking curve."""
    if not _defined(x, y):
        return None
    concordant = discordant = ties_x = ties_y = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx = x[i] - x[j]
            dy = y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denominator if denominator else None


def spearman_rho(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho (average ranks for ties) by scipy; None when undefined."""
    if not _defined(x, y):
        return None
    from scipy.stats import spearmanr

    value = float(spearmanr(x, y).statistic)
    return None if math.isnan(value) else value


def _interval(values: Sequence[float], config: BootstrapConfig) -> tuple[float, float] | None:
    import numpy as np

    finite = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if finite.size == 0:
        return None
    alpha = (1.0 - config.confidence) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_ratio_ci(
    numerators: Sequence[float], denominators: Sequence[float], config: BootstrapConfig
) -> tuple[float, float] | None:
    """Percentile CI of ``sum(num) / sum(den)``, resampling clusters (index i = one cluster)."""
    import numpy as np

    if config.resamples == 0 or not numerators:
        return None
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    rng = np.random.default_rng(config.seed)
    idx = rng.integers(0, len(num), size=(config.resamples, len(num)))
    tops = num[idx].sum(axis=1)
    bottoms = den[idx].sum(axis=1)
    ratios = np.divide(tops, bottoms, out=np.full_like(tops, np.nan), where=bottoms > 0)
    return _interval(ratios.tolist(), config)


def bootstrap_mean_ci(
    values: Sequence[float], config: BootstrapConfig
) -> tuple[float, float] | None:
    """Percentile CI of the mean of ``values`` (one value per cluster)."""
    return bootstrap_ratio_ci(values, [1.0] * len(values), config)


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, or None of nothing."""
    return sum(values) / len(values) if values else None


__all__ = [
    "Accuracy",
    "BootstrapConfig",
    "PairOutcome",
    "Preference",
    "bootstrap_mean_ci",
    "bootstrap_ratio_ci",
    "kendall_tau",
    "kendall_tau_b",
    "mean",
    "pairwise_accuracy",
    "prefer",
    "spearman_rho",
]
