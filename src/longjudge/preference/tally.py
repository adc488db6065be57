"""A run directory's rewards counted in a streaming pass: what ``longjudge score`` prints past a
screenful, in memory that does not grow with the job.

:class:`RewardTally` keeps counters only: per dimension (and the total) a histogram of the
scores at the printed precision (two decimals, so the quantiles it gives are exactly those of
the sorted scores, printed), their count, sum and unscored count; unscored candidates by
reason; and per prompt three numbers (selectable candidates, lowest and highest total), which
is all the best/worst rule of :func:`~longjudge.preference.picks.best_and_worst` needs to say
whether a prompt has a distinct best and worst. A histogram holds at most one entry per score
value at two decimals (1,001 on the 0-10 scale), whatever the job's size.

:func:`read_tally` reads rewards.jsonl through the one line reader
(:func:`~longjudge.runtime.stored.read_rewards`) with the file's semantics (the last line per
candidate wins). Finding the latest line of each candidate without holding the ids:
:func:`latest_lines` keeps an 8-byte hash per line (a numpy array), and the exact ids only of
the few candidates whose hash occurs more than once (a resumed or rescored run).
:func:`rows_or_tally` is what ``longjudge score`` prints from: the rows when they fit a
screen, else the tally.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..runtime.rundir import REWARDS, RunDir
from ..runtime.stored import Key, read_rewards
from ..types import Reward


def _hash(example_id: str, candidate_id: str) -> int:
    digest = hashlib.blake2b(
        f"{example_id}\x00{candidate_id}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "little", signed=True)


@dataclass
class LatestLines:
    """Which reward lines of a file are their candidate's latest (:func:`latest_lines`)."""

    #: candidates in the file (distinct ids)
    candidates: int
    #: valid reward lines read (a line appended after this pass is not counted)
    lines: int = 0
    #: hashes that occur on more than one line
    repeated: frozenset[int] = frozenset()
    #: for a candidate whose hash is repeated: the position (among valid lines) of its last line
    last: dict[Key, int] = field(default_factory=dict)

    def is_latest(self, position: int, reward: Reward) -> bool:
        if not self.repeated:
            return True
        h = _hash(reward.example_id, reward.candidate_id)
        if h not in self.repeated:
            return True
        return self.last.get((reward.example_id, reward.candidate_id)) == position


def latest_lines(path: Path) -> LatestLines:
    """One pass (two when some candidate has several lines) over a rewards.jsonl file: how
    many candidates it holds and which of its lines count. 8 bytes per line, plus the ids of
    the candidates written more than once."""
    import numpy as np

    hashes = array("q")
    for reward in read_rewards(path):
        hashes.append(_hash(reward.example_id, reward.candidate_id))
    lines = len(hashes)
    if not lines:
        return LatestLines(0)
    values, counts = np.unique(np.frombuffer(hashes, dtype=np.int64), return_counts=True)
    del hashes
    if int(counts.max()) == 1:
        return LatestLines(len(values), lines)
    repeated = frozenset(int(v) for v in values[counts > 1])
    last: dict[Key, int] = {}
    for position, reward in zip(range(lines), read_rewards(path)):
        if _hash(reward.example_id, reward.candidate_id) in repeated:
            last[(reward.example_id, reward.candidate_id)] = position
    # distinct candidates: every hash once, plus the candidates that share a repeated hash
    distinct = len(values) - len(repeated) + len(last)
    return LatestLines(distinct, lines, repeated, last)


@dataclass
class Scores:
    """One dimension's (or the total's) scores, as a histogram at two decimals."""

    histogram: Counter[float] = field(default_factory=Counter)
    count: int = 0
    total: float = 0.0
    unscored: int = 0

    def add(self, value: float) -> None:
        self.histogram[float(f"{value:.2f}")] += 1
        self.count += 1
        self.total += value

    def quantile(self, q: float) -> float | None:
        """The score at rank ``int(q * n)`` of the sorted scores (the last for q = 1), at two
        decimals; None when there is none."""
        if not self.count:
            return None
        rank = min(self.count - 1, int(q * self.count))
        seen = 0
        for value in sorted(self.histogram):
            seen += self.histogram[value]
            if seen > rank:
                return value
        raise AssertionError("unreachable: the histogram holds count scores")

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass
class RewardTally:
    """Counters of a run's latest rewards (module docstring)."""

    candidates: int = 0
    #: dimension names in the order first met
    dimensions: dict[str, Scores] = field(default_factory=dict)
    totals: Scores = field(default_factory=Scores)
    #: unscored candidates by the first part of their reason (before ':')
    reasons: Counter[str] = field(default_factory=Counter)
    #: per prompt: [selectable candidates with a total, lowest total, highest total]
    prompts: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def of(cls, rewards: Iterable[Reward]) -> RewardTally:
        """The tally of rewards already picked (one per candidate)."""
        tally = cls()
        for reward in rewards:
            tally.add(reward)
        return tally

    def add(self, reward: Reward) -> None:
        """Count one candidate's latest reward."""
        self.candidates += 1
        for name, dim in reward.dimensions.items():
            scores = self.dimensions.setdefault(name, Scores())
            if dim.status == "scored" and dim.score is not None:
                scores.add(dim.score)
            elif dim.status != "scored":
                scores.unscored += 1
        if reward.status == "scored":
            if reward.total is not None:
                self.totals.add(reward.total)
        else:
            self.totals.unscored += 1
            self.reasons[(reward.reason or "unknown").split(":")[0]] += 1
        prompt = self.prompts.setdefault(reward.example_id, [0, float("inf"), float("-inf")])
        if reward.selectable and reward.total is not None:
            prompt[0] += 1
            prompt[1] = min(prompt[1], reward.total)
            prompt[2] = max(prompt[2], reward.total)

    @property
    def distinct_best_worst(self) -> int:
        """Prompts whose best and worst selectable candidates differ (the rule of
        :func:`~longjudge.preference.picks.best_and_worst`: two or more, unequal totals)."""
        return sum(1 for n, low, high in self.prompts.values() if n >= 2 and low != high)


def read_tally(path: Path, latest: LatestLines | None = None) -> RewardTally:
    """The tally of a rewards.jsonl file's latest reward per candidate, read line by line
    (``latest``: :func:`latest_lines` of the file, when the caller has it)."""
    latest = latest if latest is not None else latest_lines(path)
    tally = RewardTally()
    for position, reward in zip(range(latest.lines), read_rewards(path)):
        if latest.is_latest(position, reward):
            tally.add(reward)
    return tally


def rows_or_tally(rundir: RunDir, limit: int) -> list[Reward] | RewardTally:
    """A run directory's latest reward per candidate when it holds at most ``limit``
    candidates (a table's worth), else their :class:`RewardTally`, never all the rewards."""
    rundir.flush()
    path = rundir.path / REWARDS
    latest = latest_lines(path)  # 8 bytes a line: how many candidates, which lines count
    if latest.candidates <= limit:
        return rundir.rewards()
    return read_tally(path, latest)


__all__ = [
    "LatestLines",
    "RewardTally",
    "Scores",
    "latest_lines",
    "read_tally",
    "rows_or_tally",
]
