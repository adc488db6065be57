"""The LongReward scorer: four dimensions, combined into a weighted mean on 0-10.

Per prompt (``prepare``, once, shared by all candidates): the language, the evidence index over
the context's small windows, and the completeness key points over its large windows. Both are
started as tasks and ``prepare`` returns at once, so a newly admitted prompt sends its first
judge requests (key points, and its candidates' helpfulness, logicality and statements) without
waiting for the index: faithfulness awaits the index only after its statements come back, by
which time a worker thread has built it. Per candidate: the switched-on dimensions run
concurrently and are combined by :func:`combine`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from ...judges.base import Judge
from ...judges.registry import create_judge
from ...prompts.base import Language, detect_language
from ...retrieval import EvidenceIndex
from ...retrieval.base import Retriever
from ...retrieval.config import resolve_method
from ...runtime.client import JudgeClient
from ...runtime.usage import UsageTracker
from ...text import get_tokenizer, token_windows
from ...types import Candidate, DimensionScore, Example, Reward, Usage
from ..base import Scorer, hash_prompts
from .completeness import KeyPoints, extract_key_points, score_completeness
from .config import LongRewardConfig
from .direct import score_direct
from .faithfulness import FaithfulnessStats, score_faithfulness
from .steps import Prompts, StepContext

T = TypeVar("T")


@dataclass
class Prepared:
    """What one prompt shares across its candidates."""

    language: Language
    index: asyncio.Task[EvidenceIndex] | None
    key_points: asyncio.Task[KeyPoints] | None


def combine(
    dimensions: dict[str, DimensionScore], config: LongRewardConfig
) -> tuple[float | None, str | None]:
    """(total, reason): the weighted mean, or None and why the reward is unscored."""
    unscored = [d for d in dimensions.values() if d.status == "unscored"]
    scored = [d for d in dimensions.values() if d.status == "scored" and d.score is not None]
    if unscored and (not config.renormalize or not scored):
        return None, "; ".join(f"{d.name} unscored: {d.reason}" for d in unscored)
    weights: dict[str, float] = {str(k): v for k, v in config.weights.items()}
    weight = sum(weights[d.name] for d in scored)
    total = sum(weights[d.name] * (d.score or 0.0) for d in scored)  # score is set: scored
    return total / weight, None


class LongReward(Scorer):
    """LongReward (helpfulness, logicality, faithfulness, completeness) with an LLM judge."""

    method = "longreward"

    def __init__(
        self,
        judge: JudgeClient | Judge | str,
        config: LongRewardConfig | None = None,
        *,
        retriever: Retriever | None = None,
    ) -> None:
        """``judge``: a ready :class:`JudgeClient` (cache, retries, limits of your choice), a
        backend or a spec such as ``"local/gemma-3-270m"`` (wrapped in a client with default
        retries and no cache); ``retriever`` replaces the one ``config.retrieval`` describes."""
        if isinstance(judge, str):
            judge = create_judge(judge)
        client = judge if isinstance(judge, JudgeClient) else JudgeClient(judge)
        super().__init__(client)
        self.config = config or LongRewardConfig()
        self.retriever = retriever
        self.prompts = Prompts.build(self.config)
        self.tokenizer = get_tokenizer(self.config.tokenizer, judge=client.judge)
        self._faith_stats = FaithfulnessStats()

    def stats(self) -> dict[str, Any]:
        """Run counters: quote checks, support from another statement's excerpt, second
        looks, per-prompt index builds and statements beyond ``max_statements`` (not verified)
        with the responses that had any (see :class:`FaithfulnessStats`)."""
        return self._faith_stats.to_dict()

    def describe(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "longreward": self.config.model_dump(mode="json"),
            # what 'auto' means on this machine (hybrid only where the embed extra is
            # installed): part of the fingerprint, so results never mix the two
            "retrieval_method": (
                type(self.retriever).__name__
                if self.retriever is not None
                else resolve_method(self.config.retrieval)
            ),
        }

    def prompt_hashes(self) -> dict[str, str]:
        return hash_prompts([getattr(self.prompts, f.name) for f in fields(self.prompts)])

    def _context(self, language: Language) -> StepContext:
        return StepContext(self.client, self.prompts, self.config, language)

    def _language(self, example: Example) -> Language:
        if self.config.language != "auto":
            return self.config.language
        return detect_language(example.query, example.context)

    async def prepare(self, example: Example) -> Prepared:
        language = self._language(example)
        dims = self.config.dimensions
        index = None
        if "faithfulness" in dims:
            index = _quiet(asyncio.ensure_future(self._build_index(example)))
        key_points = None
        if "completeness" in dims:
            key_points = _quiet(asyncio.ensure_future(self._key_points(example, language)))
        return Prepared(language, index, key_points)

    async def _build_index(self, example: Example) -> EvidenceIndex:
        index = await asyncio.to_thread(
            EvidenceIndex.build,
            example.context,
            self.config.retrieval,
            self.tokenizer,
            self.retriever,
        )
        self._faith_stats.built(index.build_seconds)
        return index

    async def _key_points(self, example: Example, language: Language) -> KeyPoints:
        chunks = await asyncio.to_thread(
            token_windows, example.context, self.config.completeness_window_tokens, self.tokenizer
        )
        windows = [w.text for w in chunks]
        return await extract_key_points(self._context(language), example, windows)

    async def score_candidate(
        self, example: Example, candidate: Candidate, prepared: Any
    ) -> Reward:
        assert isinstance(prepared, Prepared)
        lang = prepared.language

        steps = UsageTracker()  # this candidate's own judge usage, per step

        async def run(name: str) -> DimensionScore:
            ctx = self._context(lang)
            try:
                if name == "faithfulness":
                    assert prepared.index is not None
                    return await score_faithfulness(
                        ctx, example, candidate, asyncio.shield(prepared.index)
                    )
                if name == "completeness":
                    assert prepared.key_points is not None
                    return await score_completeness(
                        ctx, example, candidate, await asyncio.shield(prepared.key_points)
                    )
                return await score_direct(ctx, name, example, candidate)
            finally:
                steps.merge(ctx.usage)

        results = await asyncio.gather(*(run(d) for d in self.config.dimensions))
        dimensions = {d.name: d for d in results}
        if "faithfulness" in dimensions:
            self._faith_stats.add(dimensions["faithfulness"].details)
        total, reason = combine(dimensions, self.config)
        usage = sum((d.usage for d in results), start=Usage())
        meta: dict[str, Any] = {
            "weights": {d: self.config.weights[d] for d in self.config.dimensions},
            "language": lang,
            # Per-prompt steps shared by all candidates (completeness.extract) are not here:
            # they are counted once, in the run's summary.
            "usage_steps": {k: v.model_dump() for k, v in sorted(steps.steps.items())},
        }
        dropped = [d.name for d in results if d.status == "unscored"]
        if total is not None and dropped:
            meta["renormalized_without"] = dropped
        return Reward(
            example_id=example.id,
            candidate_id=candidate.id,
            method=self.method,
            status="scored" if total is not None else "unscored",
            total=total,
            reason=reason,
            dimensions=dimensions,
            usage=usage,
            meta=meta,
        )


def _quiet(task: asyncio.Task[T]) -> asyncio.Task[T]:
    """``task``, marked as looked at when it ends: a per-prompt task's error reaches every
    candidate that awaits it, and one that no candidate awaited (all failed before) must not
    be logged later as an error nobody retrieved."""
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


__all__ = ["LongReward", "Prepared", "combine"]
