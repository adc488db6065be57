"""Shared inputs of the reward-server tests: short contexts, responses with scripted support."""

from __future__ import annotations

import json
from typing import Any

from longjudge.config import RetryConfig
from longjudge.judges.base import JudgeRequest
from longjudge.judges.mock import MockJudge
from longjudge.runtime.cache import JudgeCache
from longjudge.runtime.client import JudgeClient
from longjudge.scorers.longreward import LongReward, LongRewardConfig
from longjudge.types import Candidate, Example, Reward
from tests.lr_script import LRScript

TOKEN = "test-token-0123456789abcdef"
RETRY = RetryConfig(
    max_attempts=3, max_total_seconds=10, initial_backoff=0.01, max_backoff=0.05, jitter=0.01
)


def context(i: int) -> str:
    return " ".join(
        f"Report {i}, part {j}. The station in valley {j} recorded {i * j + 3} storms. "
        f"Its keeper was named Keeper{j}."
        for j in range(1, 12)
    )


PROMPTS = [
    (context(i), f"How many storms did the stations of report {i} record?") for i in range(6)
]
RESPONSES = [
    "Valley 1 recorded a few storms FULL. Valley 2 recorded more FULL.",
    "Valley 3 recorded storms PART. Valley 4 had a castle NONE.",
    "The stations saw storms NONE.",
    "Valley 5 recorded storms FULL. Keepers changed PART. Nothing else NONE.",
]
#: Every (prompt, response) pair: 24 items.
POOL: list[dict[str, Any]] = [
    {"context": c, "query": q, "response": r} for c, q in PROMPTS for r in RESPONSES
]


class VaryingScript(LRScript):
    """LRScript whose helpfulness depends on the judged text, so items differ in total."""

    def __call__(self, request: JudgeRequest) -> str:
        if request.schema_name == "lr_helpfulness":
            text = request.messages[-1]["content"]
            return json.dumps({"analysis": "fine", "score": sum(map(ord, text)) % 11})
        return super().__call__(request)


def make_scorer(cache: JudgeCache | None = None, delay: float = 0.0) -> LongReward:
    client = JudgeClient(MockJudge(VaryingScript(), delay=delay), retry=RETRY, cache=cache)
    return LongReward(client, LongRewardConfig(retrieval={"method": "bm25"}))  # type: ignore[arg-type]


def summary(reward: dict[str, Any] | Reward) -> tuple[Any, ...]:
    """What must match between served and direct rewards (ids and usage differ)."""
    data = reward.model_dump(mode="json") if isinstance(reward, Reward) else reward
    dims = {k: (v["status"], v["score"]) for k, v in data["dimensions"].items()}
    total = None if data["total"] is None else round(data["total"], 9)
    return data["status"], total, tuple(sorted(dims.items()))


def direct_rewards() -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """(context, query, response) -> summary, scored directly without a server or cache."""
    scorer = make_scorer()
    out: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for n, (ctx, query) in enumerate(PROMPTS):
        example = Example(id=f"p{n}", context=ctx, query=query)
        candidates = [
            Candidate(id=str(k), example_id=example.id, text=r) for k, r in enumerate(RESPONSES)
        ]
        for candidate, reward in zip(candidates, scorer.score_sync(example, candidates)):
            out[(ctx, query, candidate.text)] = summary(reward)
    return out
