"""The reward model contract: one abstract async method that scores a batch of conversations.

An item is (query, reference or None, response). A backend returns one :class:`RMScore` per
item, in input order: a raw score (not bounded to 0-10), or no score and a short reason. How the
reference enters the conversation is :func:`user_turn`'s template, shared by every backend that
builds chat messages. :class:`RMBatcher` gathers the items that candidates submit one by one
into batches, so that all candidates of a prompt (and of the prompts in flight) are scored
together.
"""

from __future__ import annotations

import abc
import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

_FIELD = re.compile(r"\{(query|reference)\}")


@dataclass(frozen=True)
class RMItem:
    """One conversation to score; ``reference`` None means the r(q,y) input."""

    query: str
    reference: str | None
    response: str


@dataclass(frozen=True)
class RMScore:
    """The reward model's answer for one item."""

    score: float | None
    truncated: bool = False
    reason: str | None = None
    tokens: int | None = None
    #: Tokens removed from the reference and from the query to fit the model (hf; the
    #: response is never cut).
    cut_reference_tokens: int = 0
    cut_query_tokens: int = 0


@dataclass
class RMStats:
    """Counters of one backend (the run summary and the throughput benchmark read them)."""

    items: int = 0
    truncated: int = 0
    batches: int = 0
    tokens: int = 0
    padded_tokens: int = 0
    seconds: float = 0.0

    @property
    def padding_fraction(self) -> float:
        """Share of the positions computed that were padding."""
        total = self.tokens + self.padded_tokens
        return self.padded_tokens / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "truncated": self.truncated,
            "batches": self.batches,
            "tokens": self.tokens,
            "padded_tokens": self.padded_tokens,
            "padding_fraction": round(self.padding_fraction, 4),
            "seconds": round(self.seconds, 3),
        }


def user_turn(item: RMItem, template: str) -> str:
    """The user message: the query alone, or ``template`` with the query and the reference."""
    if item.reference is None:
        return item.query
    values = {"query": item.query, "reference": item.reference}
    return _FIELD.sub(lambda m: values[m.group(1)], template)


def build_messages(item: RMItem, template: str) -> list[dict[str, str]]:
    """The conversation a reward model scores: one user turn and the response."""
    return [
        {"role": "user", "content": user_turn(item, template)},
        {"role": "assistant", "content": item.response},
    ]


class RewardModel(abc.ABC):
    """A short-context reward model backend."""

    #: The registered backend name (``hf``, ``http``).
    backend: str = ""

    def __init__(self, target: str) -> None:
        self.target = target
        self.stats = RMStats()

    @property
    def spec(self) -> str:
        return f"{self.backend}/{self.target}"

    @abc.abstractmethod
    async def score(self, items: Sequence[RMItem]) -> list[RMScore]:
        """Score ``items``; one result per item, in input order.

        Failures that concern some items are results with a reason; an exception means a bug
        or a failure of the whole call (a :class:`~longjudge.errors.LongJudgeError`).
        """

    async def aclose(self) -> None:
        """Release models or connections. Idempotent."""


ScoreFn = Callable[[Sequence[RMItem]], Awaitable[list[RMScore]]]


class RMBatcher:
    """Collects items submitted one at a time and scores them in batches.

    :meth:`submit` registers the item at once and returns a future. The first submission
    starts a drain task that waits one event-loop turn (so that the candidates started together
    all submit), then scores everything pending, again and again until nothing is left.
    """

    def __init__(self, fn: ScoreFn, max_items: int = 512) -> None:
        self._fn = fn
        self._max = max_items
        self._pending: list[tuple[RMItem, asyncio.Future[RMScore]]] = []
        self._task: asyncio.Task[None] | None = None

    def submit(self, item: RMItem) -> asyncio.Future[RMScore]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[RMScore] = loop.create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        await asyncio.sleep(0)
        while self._pending:
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
            try:
                results = await self._fn([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            if len(results) != len(batch):
                error = RuntimeError(f"reward model gave {len(results)} scores for {len(batch)}")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)


__all__ = [
    "RMBatcher",
    "RMItem",
    "RMScore",
    "RMStats",
    "RewardModel",
    "build_messages",
    "user_turn",
]
