"""Faithfulness: decompose -> retrieve -> verify -> aggregate.

1. decompose: the judge splits the response into sentence-level factual statements and drops
   functional sentences;
2. retrieve: each statement (with the question) queries the prompt's shared evidence index,
   top-k windows in document order;
3. verify (:mod:`.support`): the judge grades support as full / partial / none and proves a
   support verdict with a quote that is checked against the excerpts (:mod:`.quotes`), either
   one call per statement (``paper``) or several statements per call with the union of their
   evidence shown once (``batched``, the default);
4. second look: statements not found fully supported are shown their next-best excerpts in
   one more batched call (``retrieval.second_look_tokens``; 0 turns it off);
5. aggregate: score = 10 * mean(value), value 1 / 0.5 / 0 (a support verdict whose quote is not
   in the excerpts counts 0, or half with ``unverified_support: half``).

A response with no factual statements is recorded as such (``no_factual_statements``) and gets
``no_statement_score`` (10 by default: it asserts nothing unsupported). If any statement ends
without a verdict the dimension is unscored, with the reason. Statements the judge lists beyond
``max_statements`` are not verified: the score is the mean over the first ``max_statements``
(a documented cap, as the prompt asks the judge for at most that many), and the number dropped
is recorded as ``details.statements_dropped`` and summed in the run summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from ...types import Candidate, DimensionScore, Evidence, Example, Verdict
from .steps import StepContext, StepFailed, answer_block, question_block
from .support import quote_counts, verify_batch, verify_one

NAME = "faithfulness"


class EvidenceSource(Protocol):
    """The per-prompt evidence index (built once, shared by every candidate)."""

    def evidence_many(
        self,
        statements: Sequence[str],
        question: str = "",
        *,
        exclude: Sequence[Sequence[Evidence]] | None = None,
        budget: int | None = None,
    ) -> list[list[Evidence]]: ...


class FaithfulnessStats:
    """Counters over a run's faithfulness results, for the run summary: verdicts by quote
    status, verified support that came from another statement's excerpt of the batch, the
    second look (statements, calls, improved) and the per-prompt index builds."""

    def __init__(self) -> None:
        self.quotes: dict[str, int] = {}
        self.second: dict[str, int] = {}
        self.builds: list[float] = []  # build seconds of each per-prompt index
        self.dropped = self.over_cap = 0  # statements beyond max_statements, responses with any

    def add(self, details: dict[str, Any]) -> None:
        for key, n in (details.get("quotes") or {}).items():
            self.quotes[key] = self.quotes.get(key, 0) + int(n)
        for key, n in (details.get("second_look") or {}).items():
            self.second[key] = self.second.get(key, 0) + int(n)
        dropped = int(details.get("statements_dropped") or 0)
        self.dropped += dropped
        self.over_cap += dropped > 0

    def built(self, seconds: float) -> None:
        self.builds.append(seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "faithfulness_quotes": dict(self.quotes),
            "faithfulness_second_look": dict(self.second),
            "evidence_index_builds": len(self.builds),
            "evidence_index_seconds": round(sum(self.builds), 3),
            "statements_dropped": self.dropped,
            "responses_over_statement_cap": self.over_cap,
        }


def describe_index(index: EvidenceSource) -> dict[str, object]:
    """What the per-prompt index was (its method, windows and build time), for the record."""
    chunks = getattr(index, "chunks", ())
    return {
        "method": getattr(index, "method", ""),
        "windows": len(chunks),
        "build_seconds": round(float(getattr(index, "build_seconds", 0.0)), 4),
    }


async def decompose(ctx: StepContext, example: Example, candidate: Candidate) -> list[str]:
    values = {
        "question": question_block(example.query),
        "answer": answer_block(candidate.text),
        "max_statements": str(ctx.config.max_statements),
    }
    # urgent: the verification calls wait on the statements
    out = await ctx.ask(f"{NAME}.decompose", ctx.prompts.statements, values, urgent=True)
    return [s.strip() for s in out.statements if s.strip()]


async def retrieve(
    index: EvidenceSource, statements: Sequence[str], question: str
) -> list[Verdict]:
    """Top-k evidence of every statement, in one batched query off the event loop (a dense
    retriever spends tens of milliseconds per query)."""
    found = await asyncio.to_thread(index.evidence_many, statements, question)
    return [Verdict(statement=s, evidence=ev) for s, ev in zip(statements, found, strict=True)]


async def second_look(
    ctx: StepContext, example: Example, index: EvidenceSource, verdicts: list[Verdict]
) -> dict[str, int]:
    """Statements not found fully supported get their next-best excerpts (not shown before)
    in one more round of calls; a better verdict replaces the first one. A failed second
    look leaves the first verdicts as they were (it is a second chance, not a requirement).
    """
    budget = ctx.config.retrieval.second_look_tokens
    weak = [i for i, v in enumerate(verdicts) if v.value is not None and v.value < 1.0]
    stats = {"statements": len(weak), "calls": 0, "improved": 0, "failed": 0}
    if not budget or not weak:
        return stats
    more = await asyncio.to_thread(
        index.evidence_many,
        [v.statement for v in verdicts],
        example.query,
        exclude=[v.evidence for v in verdicts],
        budget=budget,
    )
    again = [
        Verdict(statement=verdicts[i].statement, evidence=more[i], second_look=True)
        for i in weak
        if more[i]
    ]
    if not again:
        return stats
    if ctx.config.faithfulness_mode == "paper":
        await asyncio.gather(*(verify_one(ctx, example, v) for v in again))
        stats["calls"] = len(again)
    else:
        size = ctx.config.batch_size
        batches = [again[i : i + size] for i in range(0, len(again), size)]
        await asyncio.gather(*(verify_batch(ctx, example, b, "second_look") for b in batches))
        stats["calls"] = len(batches)
    by_statement = iter(again)
    for i in weak:
        if not more[i]:
            continue
        second = next(by_statement)
        first = verdicts[i]
        if second.value is None:
            stats["failed"] += 1
        elif first.value is not None and second.value > first.value:
            second.evidence = sorted(first.evidence + second.evidence, key=lambda e: e.start)
            verdicts[i] = second
            stats["improved"] += 1
    return stats


def aggregate(
    ctx: StepContext, verdicts: list[Verdict], extra: dict[str, object] | None = None
) -> DimensionScore:
    details = {
        "mode": ctx.config.faithfulness_mode,
        "no_factual_statements": not verdicts,
        "quotes": quote_counts(verdicts),
        **(extra or {}),
        "statements": [v.model_dump() for v in verdicts],
    }
    common = {"details": details, "usage": ctx.usage.total(), "prompt_hashes": ctx.hashes}
    if not verdicts:
        return DimensionScore.scored(NAME, ctx.config.no_statement_score, **common)
    missing = [v for v in verdicts if v.value is None]
    if missing:
        reason = f"{len(missing)} of {len(verdicts)} statements unverified: {missing[0].reason}"
        return DimensionScore.unscored(NAME, reason, **common)
    values = [v.value for v in verdicts if v.value is not None]
    return DimensionScore.scored(NAME, 10.0 * sum(values) / len(values), **common)


async def score_faithfulness(
    ctx: StepContext,
    example: Example,
    candidate: Candidate,
    index: EvidenceSource | asyncio.Future[EvidenceSource],
) -> DimensionScore:
    """Score one candidate against the prompt's shared evidence index. The index may still be
    building (a future): it is awaited once the statements are back."""
    try:
        statements = await decompose(ctx, example, candidate)
    except StepFailed as exc:
        return DimensionScore.unscored(
            NAME, exc.reason, usage=ctx.usage.total(), prompt_hashes=ctx.hashes
        )
    if isinstance(index, asyncio.Future):
        index = await index
    cap = ctx.config.max_statements  # the judge was asked for at most this many
    dropped = max(0, len(statements) - cap)
    verdicts = await retrieve(index, statements[:cap], example.query)
    if ctx.config.faithfulness_mode == "paper":
        await asyncio.gather(*(verify_one(ctx, example, v) for v in verdicts))
    else:
        size = ctx.config.batch_size
        batches = [verdicts[i : i + size] for i in range(0, len(verdicts), size)]
        await asyncio.gather(*(verify_batch(ctx, example, b) for b in batches))
    extra: dict[str, object] = {"retrieval": describe_index(index), "statements_dropped": dropped}
    if all(v.value is not None for v in verdicts):
        extra["second_look"] = await second_look(ctx, example, index, verdicts)
    return aggregate(ctx, verdicts, extra)


__all__ = [
    "EvidenceSource",
    "FaithfulnessStats",
    "describe_index",
    "score_faithfulness",
    "second_look",
]
