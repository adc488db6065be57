"""Kendall's tau between a scorer's ranking and a gold ranking, as a function of N.

For each prompt, the candidates both runs could rank (scored in both) form the pool. For each N
from 2 to the largest pool, random subsets of N candidates are drawn (every subset when there
are at most ``samples`` of them), and tau-b between the two rankings of the subset is averaged:
first over a prompt's subsets, then over prompts. A subset on which either ranking is constant
has no tau: it is counted in ``undefined`` and left out.

A ranking is by (selectable, total): a candidate excluded from selection (S2L's trust region)
ranks below every selectable one, which is how the scorer would pick. Subsets are drawn with a
generator seeded by (seed, prompt, N), so every scorer compared with the same gold on the same
pool is measured on the same subsets.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from math import comb

from pydantic import Field

from ..config import StrictModel
from ..types import Reward
from .agreement import Key, total_view
from .metrics import BootstrapConfig, bootstrap_mean_ci, kendall_tau_b, mean

#: Random subsets per prompt and N, everywhere by default (``eval ranking``, ``eval
#: best-of-n`` and the report), so that one run shows the same figures in all of them.
DEFAULT_SUBSET_SAMPLES = 100
#: Seed of the subset draws, everywhere by default.
DEFAULT_SUBSET_SEED = 0


class SubsetConfig(StrictModel):
    """How subsets of a prompt's candidates are drawn (the Kendall tau and Best-of-N curves of
    the CLI and of the report use the same defaults)."""

    samples: int = Field(
        DEFAULT_SUBSET_SAMPLES, ge=1, description="Subsets per prompt and N (all, when fewer)."
    )
    seed: int = Field(DEFAULT_SUBSET_SEED, description="Seed of the subset draws.")
    bootstrap: BootstrapConfig = Field(
        default_factory=BootstrapConfig, description="Confidence intervals (prompts resampled)."
    )

    def describe(self) -> str:
        """One sentence that states the setting, printed beside every curve."""
        boot = self.bootstrap
        ci = (
            f"{boot.confidence:.0%} CI from {boot.resamples} bootstrap resamples of prompts "
            f"(seed {boot.seed})"
            if boot.resamples
            else "no CI"
        )
        return (
            f"up to {self.samples} random subsets per prompt and N (all of them when there are "
            f"fewer), seed {self.seed}; {ci}"
        )


def draw_subsets(
    pool: Sequence[str], n: int, config: SubsetConfig, salt: str
) -> list[tuple[str, ...]]:
    """Up to ``config.samples`` subsets of size ``n`` of ``pool``: all of them when there are
    that few, else distinct random ones from a generator seeded by (seed, salt, n)."""
    if n > len(pool):
        return []
    if comb(len(pool), n) <= config.samples:
        return list(combinations(pool, n))
    rng = random.Random(f"{config.seed}:{salt}:{n}")
    seen: set[tuple[int, ...]] = set()
    out: list[tuple[str, ...]] = []
    while len(out) < config.samples:
        pick = tuple(sorted(rng.sample(range(len(pool)), n)))
        if pick not in seen:
            seen.add(pick)
            out.append(tuple(pool[i] for i in pick))
    return out


def dense_ranks(keys: Sequence[Key]) -> list[float]:
    """Rank of each key (1 = lowest; equal keys share a rank)."""
    order = {k: i for i, k in enumerate(sorted(set(keys)), start=1)}
    return [float(order[k]) for k in keys]


def keys_by_example(rewards: Sequence[Reward]) -> dict[str, dict[str, Key]]:
    """example id -> candidate id -> ranking key, for the rankable (scored) rewards."""
    out: dict[str, dict[str, Key]] = {}
    for reward in rewards:
        key = total_view(reward)
        if key is not None:
            out.setdefault(reward.example_id, {})[reward.candidate_id] = key
    return out


@dataclass(frozen=True)
class TauPoint:
    """Mean tau at one N."""

    n: int
    tau: float | None
    prompts: int
    subsets: int
    undefined: int
    ci: tuple[float, float] | None = None


@dataclass
class RankingCurve:
    """Tau against the gold ranking for N = 2 .. the largest pool."""

    scorer: str
    points: list[TauPoint] = field(default_factory=list)
    prompts: int = 0


def ranking_curve(
    rewards: Sequence[Reward],
    gold: Sequence[Reward],
    config: SubsetConfig | None = None,
    name: str = "scorer",
) -> RankingCurve:
    """Kendall's tau-b between ``rewards`` and ``gold`` rankings per prompt, by subset size."""
    config = config or SubsetConfig()
    mine, theirs = keys_by_example(rewards), keys_by_example(gold)
    pools = {eid: [c for c in mine[eid] if c in theirs[eid]] for eid in mine if eid in theirs}
    pools = {eid: pool for eid, pool in pools.items() if len(pool) >= 2}
    curve = RankingCurve(name, prompts=len(pools))
    largest = max((len(p) for p in pools.values()), default=0)
    for n in range(2, largest + 1):
        per_prompt: list[float] = []
        subsets = undefined = 0
        for eid, pool in pools.items():
            taus = []
            for subset in draw_subsets(pool, n, config, eid):
                subsets += 1
                x = dense_ranks([mine[eid][c] for c in subset])
                y = dense_ranks([theirs[eid][c] for c in subset])
                tau = kendall_tau_b(x, y)
                if tau is None:
                    undefined += 1
                else:
                    taus.append(tau)
            if taus:
                per_prompt.append(sum(taus) / len(taus))
        curve.points.append(
            TauPoint(
                n=n,
                tau=mean(per_prompt),
                prompts=len(per_prompt),
                subsets=subsets,
                undefined=undefined,
                ci=bootstrap_mean_ci(per_prompt, config.bootstrap),
            )
        )
    return curve


__all__ = [
    "DEFAULT_SUBSET_SAMPLES",
    "DEFAULT_SUBSET_SEED",
    "RankingCurve",
    "SubsetConfig",
    "TauPoint",
    "dense_ranks",
    "draw_subsets",
    "keys_by_example",
    "ranking_curve",
]
