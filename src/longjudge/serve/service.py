"""The scoring behind the reward server: items in, rewards out, in order, with counters.

Items that share a (context, question, reference) become one :class:`~longjudge.types.Example`
with several candidates, so the per-prompt work (evidence index, completeness key points) is
done once per request; the judge cache shares judge calls across requests and processes.

Every item is checked first with the rules of ``longjudge score``'s readers
(:func:`longjudge.io.validation.item_problems`: blank or invisible-only texts, NUL characters,
the ``limits`` of the config): a bad item is an item error with its index and reason, and the
other items of the batch are scored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..config import RecordLimits
from ..io.validation import item_problems
from ..runtime.client import JudgeClient
from ..scorers.base import Scorer
from ..types import Candidate, Example, Reward
from .requests import RewardItem

log = logging.getLogger("longjudge.serve")


@dataclass
class Counters:
    """Server counters exported at ``/metrics``."""

    requests: dict[tuple[str, int], int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    request_seconds: float = 0.0
    in_flight: int = 0
    invalid_items: int = 0

    def count_request(self, endpoint: str, status: int, seconds: float) -> None:
        key = (endpoint, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        self.request_seconds += seconds

    def count_items(self, rewards: Sequence[Reward]) -> None:
        for reward in rewards:
            self.items[reward.status] = self.items.get(reward.status, 0) + 1


class RewardService:
    """Scores batches of items with one scorer (and its judge client)."""

    def __init__(self, scorer: Scorer, limits: RecordLimits | None = None) -> None:
        self.scorer = scorer
        self.limits = limits or RecordLimits()
        self.counters = Counters()
        self._requests = 0

    def check(
        self, items: Sequence[RewardItem | None], reasons: Sequence[str]
    ) -> tuple[list[RewardItem | None], list[str], list[dict[str, object]]]:
        """Items with the bad ones replaced by None, their reasons, and one ``{"index",
        "reason"}`` per item that will not be scored (bad or not unpacked)."""
        kept: list[RewardItem | None] = []
        why: list[str] = []
        errors: list[dict[str, object]] = []
        for index, (item, reason) in enumerate(zip(items, reasons)):
            if item is not None:
                problems = item_problems(item.context, item.query, item.response, self.limits)
                if problems:
                    item, reason = None, "invalid_item: " + "; ".join(problems)
            if item is None:
                errors.append({"index": index, "reason": reason})
            kept.append(item)
            why.append(reason)
        self.counters.invalid_items += len(errors)
        return kept, why, errors

    @property
    def client(self) -> JudgeClient:
        return self.scorer.client

    @property
    def method(self) -> str:
        return self.scorer.method

    def unscored(self, index: int, reason: str) -> Reward:
        """The reward of an item that could not even be read into an example."""
        return Reward(
            example_id="-",
            candidate_id=str(index),
            method=self.method,
            status="unscored",
            reason=reason,
        )

    async def score(
        self, items: Sequence[RewardItem | None], reasons: Sequence[str]
    ) -> list[Reward]:
        """One reward per item, in order; ``None`` items are unscored with ``reasons[i]``."""
        self._requests += 1
        tag = f"r{self._requests}"
        groups: dict[tuple[str, str, str | None], list[int]] = {}
        for index, item in enumerate(items):
            if item is not None:
                groups.setdefault((item.context, item.query, item.reference), []).append(index)
        out: dict[int, Reward] = {
            i: self.unscored(i, reasons[i]) for i, item in enumerate(items) if item is None
        }
        started = time.monotonic()

        async def one(number: int, key: tuple[str, str, str | None], indices: list[int]) -> None:
            try:
                example = Example(
                    id=f"{tag}-p{number}", context=key[0], query=key[1], reference=key[2]
                )
                candidates = [
                    Candidate(id=str(i), example_id=example.id, text=_text(items[i]))
                    for i in indices
                ]
                rewards = await self.scorer.score(example, candidates)
            except Exception as exc:  # one bad prompt must not fail the batch
                log.exception("scoring failed for %s-p%d", tag, number)
                rewards = [self.unscored(i, f"internal: {type(exc).__name__}") for i in indices]
            for index, reward in zip(indices, rewards):
                out[index] = reward

        await asyncio.gather(*(one(n, k, v) for n, (k, v) in enumerate(groups.items())))
        rewards = [out[i] for i in range(len(items))]
        self.counters.count_items(rewards)
        log.debug("scored %d items in %.3f s", len(items), time.monotonic() - started)
        return rewards


def _text(item: RewardItem | None) -> str:
    assert item is not None
    return item.response


__all__ = ["Counters", "RewardService"]
