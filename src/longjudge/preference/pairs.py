"""Preference pairs from scored candidates, and the TRL dataset they are written as.

Strategies (one pair at most per prompt):

- ``best-worst`` (LongReward): the highest against the lowest total among the selectable
  candidates;
- ``best-median``: the highest total against the lower median of the selectable candidates
  (ranked by total): a harder negative than the worst, a typical response rather than a
  broken one, with a smaller margin; with two candidates it is best-worst;
- ``s2l`` (S2L-RM): the same inside the trust region; outside-region candidates are not
  selectable, and a prompt whose scored candidates are all outside gives ``empty_trust_region``;
- ``s2l-baseline`` (the S2L-RM paper's diversity option): chosen is the best S2L-RM total inside
  the trust region, rejected is the lowest ``r(q,y)`` baseline score (``meta.baseline_score``)
  among the scored candidates, inside the region or not (``baseline_pool="trust_region"`` keeps
  it inside). The scores kept and the margin are the baseline's, the scale on which both sides
  are compared; the S2L totals go along as ``chosen_total`` / ``rejected_total``.

Only :attr:`Reward.selectable` candidates are ever chosen and unscored ones are never used.
Best and worst with equal scores give no pair (``tie``), nor does a margin under ``min_margin``
(``below_margin``), nor fewer than ``min_scored`` usable candidates (``too_few_scored``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from ..components import PAIR_STRATEGIES
from ..errors import ConfigError
from ..types import PreferencePair, Reward
from .picks import best, worst
from .run_inputs import RunData
from .sampling import PromptConfig

#: A name in components.PAIR_STRATEGIES.
Strategy = str
#: The registered strategies (built-in ones and any added before this module was imported).
STRATEGIES: tuple[str, ...] = tuple(PAIR_STRATEGIES.names())

#: Every reason a prompt can give no pair, in the order the summary lists them.
REASONS: tuple[str, ...] = (
    "no_scored",
    "empty_trust_region",
    "too_few_scored",
    "no_baseline_score",
    "chosen_is_baseline_worst",
    "tie",
    "below_margin",
    "missing_example",
    "missing_text",
)


class PairConfig(PromptConfig):
    """How pairs are selected and how their prompt is rendered."""

    strategy: Strategy = Field(
        "best-worst",
        description="best-worst (highest against lowest total), best-median (highest against "
        "the lower median: harder negatives, smaller margins), s2l (best-worst inside the "
        "trust region), s2l-baseline, or any strategy registered in "
        "components.PAIR_STRATEGIES.",
    )
    min_margin: float = Field(
        0.0, ge=0, description="Smallest chosen-minus-rejected score that makes a pair."
    )
    min_scored: int = Field(
        2, ge=2, description="Fewest usable scored candidates a prompt needs to give a pair."
    )
    baseline_pool: Literal["scored", "trust_region"] = Field(
        "scored",
        description="s2l-baseline: where the rejected side may come from: every scored "
        "candidate (the baseline ignores the trust region) or only the trust region.",
    )


    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        return PAIR_STRATEGIES.check(value)


@dataclass(frozen=True)
class Pick:
    """The two rewards of a pair and the scores they were compared on."""

    chosen: Reward
    rejected: Reward
    chosen_score: float
    rejected_score: float
    score_field: str


def _total(reward: Reward) -> float:
    assert reward.total is not None  # selectable implies scored implies a total
    return reward.total


def _baseline(reward: Reward) -> float | None:
    value = reward.meta.get("baseline_score")
    return float(value) if isinstance(value, (int, float)) else None


def _empty_pool_reason(rewards: Sequence[Reward]) -> str:
    if not any(r.status == "scored" for r in rewards):
        return "no_scored"
    return "empty_trust_region"  # scored, but every scored one is excluded


def _judge_margin(pick: Pick, config: PairConfig) -> Pick | str:
    margin = pick.chosen_score - pick.rejected_score
    if margin == 0:
        return "tie"
    if margin < config.min_margin:
        return "below_margin"
    return pick


def best_worst(rewards: Sequence[Reward], config: PairConfig) -> Pick | str:
    """``best-worst`` (and ``s2l``: the trust region is what :attr:`Reward.selectable` says)."""
    pool = [r for r in rewards if r.selectable]
    if not pool:
        return _empty_pool_reason(rewards)
    if len(pool) < config.min_scored:
        return "too_few_scored"
    top, bottom = best(pool), worst(pool)  # the first of equal scores, in file order
    return _judge_margin(Pick(top, bottom, _total(top), _total(bottom), "total"), config)


def best_median(rewards: Sequence[Reward], config: PairConfig) -> Pick | str:
    """``best-median``: the best total against the lower median of the selectable candidates
    ranked by total (equal totals in file order); a chosen one that is also the median is a
    ``tie``."""
    pool = [r for r in rewards if r.selectable]
    if not pool:
        return _empty_pool_reason(rewards)
    if len(pool) < config.min_scored:
        return "too_few_scored"
    best = max(pool, key=_total)
    median = sorted(pool, key=_total)[(len(pool) - 1) // 2]
    return _judge_margin(Pick(best, median, _total(best), _total(median), "total"), config)


def s2l_baseline(rewards: Sequence[Reward], config: PairConfig) -> Pick | str:
    """``s2l-baseline``: the best S2L-RM total against the lowest r(q,y) baseline score."""
    chosen_pool = [r for r in rewards if r.selectable]
    if not chosen_pool:
        return _empty_pool_reason(rewards)
    inside = config.baseline_pool == "trust_region"
    pool = [
        r
        for r in rewards
        if _baseline(r) is not None and (r.selectable if inside else r.status == "scored")
    ]
    if not pool:
        return "no_baseline_score"
    if len(pool) < config.min_scored:
        return "too_few_scored"
    chosen = best(chosen_pool)
    chosen_base = _baseline(chosen)
    if chosen_base is None:
        return "no_baseline_score"
    # The lowest baseline score; on a tie with the chosen one, another candidate (a tie).
    rejected = min(pool, key=lambda r: (_baseline(r), r is chosen))
    if rejected is chosen:
        return "chosen_is_baseline_worst"
    rejected_base = _baseline(rejected)
    assert rejected_base is not None
    pick = Pick(chosen, rejected, chosen_base, rejected_base, "baseline_score")
    return _judge_margin(pick, config)


def select_pair(rewards: Sequence[Reward], config: PairConfig) -> Pick | str:
    """The pair of one prompt's rewards under ``config.strategy``, or why there is none."""
    strategy: Callable[[Sequence[Reward], PairConfig], Pick | str]
    strategy = PAIR_STRATEGIES.factory(config.strategy)
    picked: Pick | str = strategy(rewards, config)
    return picked


@dataclass
class PairsResult:
    """The pairs of a run, and per-reason counts of the prompts that gave none."""

    pairs: list[PreferencePair]
    summary: dict[str, Any]


def _check_method(rewards: Sequence[Reward], strategy: str) -> None:
    if strategy.startswith("s2l"):
        methods = sorted({r.method for r in rewards} - {"s2l"})
        if methods:
            raise ConfigError(
                f"strategy {strategy!r} needs S2L-RM rewards (method 's2l'); this run has "
                f"{', '.join(methods)}: use --strategy best-worst"
            )
    if (
        strategy == "s2l-baseline"
        and rewards
        and not any(_baseline(r) is not None for r in rewards)
    ):
        raise ConfigError(
            "strategy 's2l-baseline' needs the r(q,y) baseline score of each candidate "
            "(meta.baseline_score): score with the S2L-RM baseline switched on"
        )


def make_pairs(data: RunData, config: PairConfig) -> PairsResult:
    """Select at most one pair per prompt of a run and count why the others gave none."""
    _check_method(data.rewards, config.strategy)
    pairs: list[PreferencePair] = []
    reasons: Counter[str] = Counter()
    groups = data.by_example()
    for example_id, rewards in groups.items():
        pick = select_pair(rewards, config)
        if isinstance(pick, str):
            reasons[pick] += 1
            continue
        if example_id not in data.examples:
            reasons["missing_example"] += 1
            continue
        chosen, rejected = data.text(pick.chosen), data.text(pick.rejected)
        if chosen is None or rejected is None:
            reasons["missing_text"] += 1
            continue
        pairs.append(
            PreferencePair(
                example_id=example_id,
                strategy=config.strategy,
                chosen_id=pick.chosen.candidate_id,
                rejected_id=pick.rejected.candidate_id,
                chosen=chosen,
                rejected=rejected,
                chosen_score=pick.chosen_score,
                rejected_score=pick.rejected_score,
                meta={
                    "score_field": pick.score_field,
                    "method": pick.chosen.method,
                    "chosen_total": pick.chosen.total,
                    "rejected_total": pick.rejected.total,
                },
            )
        )
    margins = [p.margin for p in pairs]
    summary = {
        "strategy": config.strategy,
        "prompts": len(groups),
        "pairs": len(pairs),
        "no_pair": {reason: reasons[reason] for reason in REASONS if reasons[reason]},
        "min_margin": config.min_margin,
        "min_scored": config.min_scored,
        "mean_margin": sum(margins) / len(margins) if margins else None,
    }
    return PairsResult(pairs, summary)


__all__ = [
    "REASONS",
    "STRATEGIES",
    "PairConfig",
    "PairsResult",
    "Pick",
    "Strategy",
    "best_median",
    "best_worst",
    "make_pairs",
    "s2l_baseline",
    "select_pair",
]
