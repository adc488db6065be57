"""Best-of-N: the top selectable candidate of each prompt, under any scorer.

The pick is the highest ``total`` among :attr:`Reward.selectable` rewards (for S2L-RM with the
trust region, only candidates inside it); equal totals go to the first candidate in the run's
order. A prompt with no selectable candidate gives no row, and the summary says why
(``no_scored`` or ``empty_trust_region``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from .run_inputs import RunData


@dataclass
class BestOfNResult:
    """One row per prompt that has a pick, and a summary."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]


def best_of_n(data: RunData) -> BestOfNResult:
    """The best selectable candidate of every prompt of a run."""
    rows: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    groups = data.by_example()
    for example_id, rewards in groups.items():
        pool = [r for r in rewards if r.selectable]
        if not pool:
            scored = any(r.status == "scored" for r in rewards)
            reasons["empty_trust_region" if scored else "no_scored"] += 1
            continue
        best = max(pool, key=lambda r: r.total if r.total is not None else float("-inf"))
        text = data.text(best)
        if text is None:
            reasons["missing_text"] += 1
            continue
        rows.append(
            {
                "example_id": example_id,
                "candidate_id": best.candidate_id,
                "score": best.total,
                "method": best.method,
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
    return BestOfNResult(rows, summary)


__all__ = ["BestOfNResult", "best_of_n"]
