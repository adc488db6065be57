"""Where a reward function's items are scored: in this process, or by a ``longjudge serve``.

Both take items in order and give one :class:`~longjudge.types.Reward` per item, in order.
Items that share (context, query, reference) are one prompt: in process, its per-prompt work
(:meth:`~longjudge.scorers.base.Scorer.prepare`: evidence index, completeness key points) is
done once and shared by its completions, and kept for the next calls while the prompt is among
the ``prepared_cache_size`` most recent; through a server, a prompt's items travel in one
request, which the server scores as one example in the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import traceback
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import RetryConfig, ScoreConfig
from ..errors import ConfigError, JudgeError, TransientJudgeError
from ..runtime.pipeline import pipelined
from ..types import Candidate, Example, Reward, Usage

log = logging.getLogger("longjudge.rl")

PromptKey = tuple[str, str, str | None]


@dataclass(frozen=True)
class RewardInput:
    """One completion to score, with its prompt's context, question and reference."""

    context: str
    query: str
    response: str
    reference: str | None = None

    @property
    def prompt_key(self) -> PromptKey:
        return (self.context, self.query, self.reference)


@dataclass
class ScoringStats:
    """Counters over the life of a reward function."""

    calls: int = 0
    completions: int = 0
    groups: int = 0
    #: Scorer.prepare runs (in process); a prompt found in the prepared cache is not counted.
    prepared: int = 0
    prepared_reused: int = 0
    unscored: int = 0
    unscored_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "completions": self.completions,
            "groups": self.groups,
            "prepared": self.prepared,
            "prepared_reused": self.prepared_reused,
            "unscored": self.unscored,
            "unscored_reasons": dict(sorted(self.unscored_reasons.items())),
        }


class Scoring(Protocol):
    """What :class:`~longjudge.rl.LongJudgeReward` scores through."""

    method: str
    stats: ScoringStats

    async def score(self, items: Sequence[RewardInput]) -> list[Reward]: ...

    def usage(self) -> Usage: ...

    async def aclose(self) -> None: ...


def group_by_prompt(items: Sequence[RewardInput]) -> dict[PromptKey, list[int]]:
    """Item positions by prompt, in order of first appearance."""
    groups: dict[PromptKey, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(item.prompt_key, []).append(index)
    return groups


def unscored(method: str, example_id: str, index: int, reason: str) -> Reward:
    return Reward(
        example_id=example_id,
        candidate_id=str(index),
        method=method,
        status="unscored",
        reason=reason,
    )


class LocalScoring:
    """The scorer of ``longjudge score`` in this process: judge + cache + client + scorer are
    owned by one :class:`~longjudge.scoring.ScoringContext`, as for the CLI, the server and
    Ray, and closed with it by :meth:`aclose`."""

    def __init__(self, method: str, judge: str, config: ScoreConfig, cache_size: int) -> None:
        from ..scoring.context import ScoringContext

        self.method = method
        self.config = config
        self.context = ScoringContext(judge, method, config)
        self.client = self.context.client
        self.scorer = self.context.scorer
        self.cache_size = cache_size
        self.stats = ScoringStats()
        self._prepared: OrderedDict[PromptKey, Any] = OrderedDict()
        self._calls = 0

    def usage(self) -> Usage:
        return self.client.usage.total()

    async def _prepare(self, key: PromptKey, example: Example) -> Any:
        if key in self._prepared:
            self._prepared.move_to_end(key)
            self.stats.prepared_reused += 1
            return self._prepared[key]
        prepared = await self.scorer.prepare(example)
        self.stats.prepared += 1
        if self.cache_size:
            self._prepared[key] = prepared
            while len(self._prepared) > self.cache_size:
                self._prepared.popitem(last=False)
        return prepared

    async def score(self, items: Sequence[RewardInput]) -> list[Reward]:
        self._calls += 1
        tag = f"rl{self._calls}"
        out: list[Reward | None] = [None] * len(items)

        async def one(entry: tuple[int, tuple[PromptKey, list[int]]]) -> None:
            number, (key, indices) = entry
            example = Example(id=f"{tag}-p{number}", context=key[0], query=key[1], reference=key[2])
            candidates = [
                Candidate(id=str(i), example_id=example.id, text=items[i].response) for i in indices
            ]
            try:
                prepared = await self._prepare(key, example)
                rewards = await asyncio.gather(
                    *(self.scorer.score_candidate(example, c, prepared) for c in candidates)
                )
                if any(r.status != "scored" for r in rewards):
                    # the per-prompt work may be what failed (a judge outage during key
                    # point extraction): prepare it again next time; what succeeded is in
                    # the judge cache, so that costs only the failed calls
                    self._prepared.pop(key, None)
            except Exception as exc:  # one failing prompt must not fail the batch
                self._prepared.pop(key, None)  # never reuse what may be broken
                log.error("scoring failed for %s:\n%s", example.id, traceback.format_exc())
                reason = f"internal: {type(exc).__name__}: {exc}"[:300]
                rewards = [unscored(self.method, example.id, i, reason) for i in indices]
            for index, reward in zip(indices, rewards):
                out[index] = reward

        groups = group_by_prompt(items)
        self.stats.groups += len(groups)
        # Prompts start as the judge has room, as in `longjudge score` (runtime.pipeline).
        hard_cap = self.config.run.max_examples_in_flight
        await pipelined(enumerate(groups.items()), one, self.client.limiter, hard_cap)
        return [r for r in out if r is not None]

    async def aclose(self) -> None:
        self._prepared.clear()
        await self.context.aclose()


class RemoteScoring:
    """``POST {server}/v1/rewards`` of a running ``longjudge serve``: the server's judge,
    cache and method score; the retry policy of ``retry`` covers 429, 5xx and lost
    connections. A request that still fails leaves its items unscored with the reason."""

    def __init__(
        self,
        method: str,
        server: str,
        token_env: str,
        retry: RetryConfig,
        *,
        timeout: float = 600.0,
        batch_items: int = 256,
    ) -> None:
        self.method = method
        self.url = server.rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"server must be an http(s) URL, not {server!r}")
        self.retry = retry
        self.timeout = timeout
        self.batch_items = batch_items
        self.token_env = token_env
        self.stats = ScoringStats()
        self._usage = Usage()
        self._client: Any = None
        self._checked = False

    def usage(self) -> Usage:
        return self._usage

    def _http(self) -> Any:
        import httpx

        if self._client is None:
            headers = {"Content-Type": "application/json"}
            token = os.environ.get(self.token_env, "").strip()
            if token:
                headers["Authorization"] = f"Bearer {token}"
            self._client = httpx.AsyncClient(
                base_url=self.url, headers=headers, timeout=self.timeout
            )
        return self._client

    async def _check_method(self) -> None:
        """The server must score with the method this reward function was made for."""
        if self._checked:
            return
        data = await self._post_json("GET", "/health", None)
        served = data.get("method") if isinstance(data, dict) else None
        if served != self.method:
            raise ConfigError(
                f"the reward server at {self.url} scores with {served!r}, this reward function "
                f"was made for {self.method!r}"
            )
        self._checked = True

    async def _post_json(self, verb: str, path: str, body: Any) -> Any:
        from ..runtime.retry import call_with_retry
        from ..scorers.reward_models.http import classify_http_error, status_error

        client = self._http()

        async def attempt() -> Any:
            try:
                response = await client.request(verb, path, json=body)
            except Exception as exc:
                classified = classify_http_error(exc)
                if classified is None:
                    raise  # a bug, not a server failure: never retried
                raise classified from exc
            error = status_error(response)
            if error is not None:
                raise error
            try:
                return response.json()
            except ValueError as exc:
                raise TransientJudgeError("the reward server sent a body that is not JSON") from exc

        def on_retry(_: BaseException) -> None:
            self._usage = self._usage + Usage(retries=1)

        return await call_with_retry(attempt, self.retry, on_retry)

    def _batches(self, items: Sequence[RewardInput]) -> list[list[int]]:
        batches: list[list[int]] = [[]]
        for indices in group_by_prompt(items).values():
            for start in range(0, len(indices), self.batch_items):
                part = indices[start : start + self.batch_items]
                if len(batches[-1]) + len(part) > self.batch_items:
                    batches.append([])
                batches[-1].extend(part)
        return [b for b in batches if b]

    async def _one_request(self, items: Sequence[RewardInput], batch: list[int]) -> list[Reward]:
        body = {
            "items": [
                {
                    "context": items[i].context,
                    "query": items[i].query,
                    "response": items[i].response,
                    "reference": items[i].reference,
                }
                for i in batch
            ]
        }
        try:
            data = await self._post_json("POST", "/v1/rewards", body)
            rewards = [Reward.model_validate(r) for r in data["rewards"]]
            if len(rewards) != len(batch):
                raise ValueError(f"{len(rewards)} rewards for {len(batch)} items")
        except JudgeError as exc:
            reason = f"server: {exc}"[:300]
            return [unscored(self.method, "-", i, reason) for i in batch]
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"server: unusable answer: {type(exc).__name__}: {exc}"[:300]
            return [unscored(self.method, "-", i, reason) for i in batch]
        for reward in rewards:
            self._usage = self._usage + reward.usage
        return rewards

    async def score(self, items: Sequence[RewardInput]) -> list[Reward]:
        try:
            await self._check_method()
        except JudgeError as exc:  # unreachable after retries: unscored, the trainer goes on
            reason = f"server: {exc}"[:300]
            return [unscored(self.method, "-", i, reason) for i in range(len(items))]
        out: list[Reward | None] = [None] * len(items)
        batches = self._batches(items)
        self.stats.groups += len(group_by_prompt(items))
        answers = await asyncio.gather(*(self._one_request(items, b) for b in batches))
        for batch, rewards in zip(batches, answers):
            for index, reward in zip(batch, rewards):
                out[index] = reward
        return [r for r in out if r is not None]

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


__all__ = [
    "LocalScoring",
    "RemoteScoring",
    "RewardInput",
    "Scoring",
    "ScoringStats",
    "group_by_prompt",
]
