"""Best-of-N curves: the gold score of the candidate each scorer picks as best and as worst.

Only stored scores are used; no judge is called. Per prompt, the pool is the candidates the gold
run scored. For each N (2, 4, 8, ... by default), subsets of N candidates of the pool are drawn
(the same subsets for every scorer), and in each subset the scorer picks among its
**selectable** candidates (:attr:`Reward.selectable`) the highest and the lowest total. The gold
score of the pick is recorded; when several candidates tie for the pick, the mean of their gold
scores is (the expected value of breaking the tie at random). A subset where the scorer has no
selectable candidate gives no pick and is counted in ``no_pick``.

Values are averaged over a prompt's subsets, then over prompts. Three reference curves come
with every result: ``oracle`` (the gold best and worst of each subset) and ``random`` (the
subset's mean gold score, for both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import Field

from ..types import Reward
from .metrics import bootstrap_mean_ci, mean
from .ranking import SubsetConfig, draw_subsets


class BestOfNConfig(SubsetConfig):
    """Which N and how many subsets per prompt."""

    ns: list[int] | None = Field(
        None, description="The N values; default 2, 4, 8, ... up to the largest pool."
    )


@dataclass(frozen=True)
class BonPoint:
    """Mean gold score of the best and worst picks at one N."""

    n: int
    best: float | None
    worst: float | None
    prompts: int
    subsets: int
    no_pick: int
    best_ci: tuple[float, float] | None = None
    worst_ci: tuple[float, float] | None = None


@dataclass
class BonCurve:
    """One scorer's (or reference's) Best-of-N curve."""

    scorer: str
    points: list[BonPoint] = field(default_factory=list)
    reference: bool = False


def default_ns(largest: int) -> list[int]:
    """2, 4, 8, ... not above ``largest``."""
    out, n = [], 2
    while n <= largest:
        out.append(n)
        n *= 2
    return out


def _tied_mean(
    subset: Sequence[str], scores: dict[str, float], gold: dict[str, float], best: bool
) -> float | None:
    picks = [c for c in subset if c in scores]
    if not picks:
        return None
    target = max(scores[c] for c in picks) if best else min(scores[c] for c in picks)
    tied = [gold[c] for c in picks if scores[c] == target]
    return sum(tied) / len(tied)


def _selectable_totals(rewards: Sequence[Reward]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for r in rewards:
        if r.selectable and r.total is not None:
            out.setdefault(r.example_id, {})[r.candidate_id] = r.total
    return out


def _gold_scores(gold: Sequence[Reward]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for r in gold:
        if r.status == "scored" and r.total is not None:
            out.setdefault(r.example_id, {})[r.candidate_id] = r.total
    return out


def best_of_n_curves(
    runs: Mapping[str, Sequence[Reward]],
    gold: Sequence[Reward],
    config: BestOfNConfig | None = None,
) -> list[BonCurve]:
    """One curve per run in ``runs`` (name -> rewards), then the ``oracle`` and ``random``
    reference curves."""
    config = config or BestOfNConfig()
    gold_scores = _gold_scores(gold)
    pools = {eid: list(scores) for eid, scores in gold_scores.items() if len(scores) >= 2}
    largest = max((len(p) for p in pools.values()), default=0)
    ns = sorted(n for n in (config.ns or default_ns(largest)) if 2 <= n <= largest)
    scorers: dict[str, tuple[dict[str, dict[str, float]], bool]] = {
        name: (_selectable_totals(rewards), False) for name, rewards in runs.items()
    }
    scorers["oracle"] = (gold_scores, True)
    curves = [BonCurve(name, reference=ref) for name, (_, ref) in scorers.items()]
    curves.append(BonCurve("random", reference=True))
    for n in ns:
        subsets = {eid: draw_subsets(pool, n, config, eid) for eid, pool in pools.items()}
        for curve, (scores, _) in zip(curves, scorers.values()):
            curve.points.append(_point(n, subsets, scores, gold_scores, config))
        curves[-1].points.append(_random_point(n, subsets, gold_scores, config))
    return curves


def _point(
    n: int,
    subsets: dict[str, list[tuple[str, ...]]],
    scores: dict[str, dict[str, float]],
    gold: dict[str, dict[str, float]],
    config: BestOfNConfig,
) -> BonPoint:
    best_per_prompt: list[float] = []
    worst_per_prompt: list[float] = []
    count = no_pick = 0
    for eid, draws in subsets.items():
        mine = scores.get(eid, {})
        bests, worsts = [], []
        for subset in draws:
            count += 1
            best = _tied_mean(subset, mine, gold[eid], best=True)
            worst = _tied_mean(subset, mine, gold[eid], best=False)
            if best is None or worst is None:
                no_pick += 1
                continue
            bests.append(best)
            worsts.append(worst)
        if bests:
            best_per_prompt.append(sum(bests) / len(bests))
            worst_per_prompt.append(sum(worsts) / len(worsts))
    return BonPoint(
        n=n,
        best=mean(best_per_prompt),
        worst=mean(worst_per_prompt),
        prompts=len(best_per_prompt),
        subsets=count,
        no_pick=no_pick,
        best_ci=bootstrap_mean_ci(best_per_prompt, config.bootstrap),
        worst_ci=bootstrap_mean_ci(worst_per_prompt, config.bootstrap),
    )


def _random_point(
    n: int,
    subsets: dict[str, list[tuple[str, ...]]],
    gold: dict[str, dict[str, float]],
    config: BestOfNConfig,
) -> BonPoint:
    per_prompt = []
    count = 0
    for eid, draws in subsets.items():
        if draws:
            count += len(draws)
            per_prompt.append(
                sum(sum(gold[eid][c] for c in s) / len(s) for s in draws) / len(draws)
            )
    ci = bootstrap_mean_ci(per_prompt, config.bootstrap)
    value = mean(per_prompt)
    return BonPoint(n, value, value, len(per_prompt), count, 0, ci, ci)


__all__ = ["BestOfNConfig", "BonCurve", "BonPoint", "best_of_n_curves", "default_ns"]
