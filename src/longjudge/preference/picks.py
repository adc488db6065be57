"""Picking candidates by their rewards: the best and the worst of a prompt, and the best of
every prompt of a run (``longjudge best-of-n``, a dataset of top responses).

Only :attr:`Reward.selectable` rewards are ever picked (scored, and for S2L-RM with the trust
region, inside it). The best is the highest ``total``, the worst the lowest; among equal totals
the first candidate in the run's order. The same rule marks ▲/▼ in the rewards table, makes
``best-worst`` pairs (:mod:`.pairs`) and writes the best-of-N dataset, so they always agree.

The best-of-N dataset has one row per prompt with a pick; a prompt with no selectable
candidate gives no row, and the summary says why (``no_scored`` or ``empty_trust_region``).
(Best-of-N *evaluation*, the gold score of each scorer's picks by N, is
:mod:`longjudge.evaluation.best_of_n`.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..types import Reward
from .run_inputs import RunData


def _total(reward: Reward) -> float:
    return reward.total if reward.total is not None else float("-inf")


def best(pool: Sequence[Reward]) -> Reward:
    """The highest total of a non-empty pool; the first of equal totals."""
    return max(pool, key=_total)


def worst(pool: Sequence[Reward]) -> Reward:
    """The lowest total of a non-empty pool; the first of equal totals."""
    return min(pool, key=_total)


def best_and_worst(rewards: Sequence[Reward]) -> tuple[Reward, Reward] | None:
    """The best and the worst selectable candidate of one prompt's rewards; None when fewer
    than two are selectable or their totals are all equal (nothing tells them apart)."""
    pool = [r for r in rewards if r.selectable and r.total is not None]
    if len(pool) < 2:
        return None
    top, bottom = best(pool), worst(pool)
    if top.total == bottom.total:
        return None
    return top, bottom


def find_reward(rewards: list[Reward], candidate: str | None, example: str | None) -> Reward:
    """The reward of ``candidate`` (of ``example`` when given); by default the top-scored
    candidate of the first prompt (ties: the first listed), scored before unscored whether
    selectable or not (``longjudge show``). InputError with the ids there are when nothing
    matches, or when a candidate id answers several prompts and no example is named."""
    if not rewards:
        raise InputError("the run has no rewards yet")
    matches = [
        r
        for r in rewards
        if (candidate is None or r.candidate_id == candidate)
        and (example is None or r.example_id == example)
    ]
    if not matches:
        ids = ", ".join(sorted({r.candidate_id for r in rewards})[:20])
        wanted = " ".join(
            f"{k} {v!r}" for k, v in (("candidate", candidate), ("example", example)) if v
        )
        raise InputError(f"no reward for {wanted} in this run; candidates: {ids}")
    examples = sorted({r.example_id for r in matches})
    if candidate is not None and len(examples) > 1:
        raise InputError(
            f"candidate {candidate!r} answers several prompts ({', '.join(examples)}): "
            "name one with --example"
        )
    group = [r for r in matches if r.example_id == matches[0].example_id]
    return max(group, key=lambda r: (r.total is not None, r.total or 0.0, -group.index(r)))


@dataclass
class BestCandidates:
    """One row per prompt that has a pick, and a summary."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]


def best_candidates(data: RunData) -> BestCandidates:
    """The best selectable candidate of every prompt of a run, with its text."""
    rows: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    groups = data.by_example()
    for example_id, rewards in groups.items():
        pool = [r for r in rewards if r.selectable]
        if not pool:
            scored = any(r.status == "scored" for r in rewards)
            reasons["empty_trust_region" if scored else "no_scored"] += 1
            continue
        pick = best(pool)
        text = data.text(pick)
        if text is None:
            reasons["missing_text"] += 1
            continue
        rows.append(
            {
                "example_id": example_id,
                "candidate_id": pick.candidate_id,
                "score": pick.total,
                "method": pick.method,
                "text": text,
                "candidates": len(rewards),
                "selectable": len(pool),
            }
        )
    summary = {
        "prompts": len(groups),
        "picked": len(rows),
        "no_pick": dict(sorted(reasons.items())),
    }
    return BestCandidates(rows, summary)


__all__ = [
    "BestCandidates",
    "best",
    "best_and_worst",
    "best_candidates",
    "find_reward",
    "worst",
]
