"""Faithfulness: decompose -> retrieve -> verify -> aggregate.

1. decompose: the judge splits the response into sentence-level factual statements and drops
   functional sentences;
2. retrieve: each statement (with the question) queries the prompt's shared evidence index,
   top-k windows in document order;
3. verify: the judge grades support as full / partial / none, either one call per statement
   (``paper``) or several statements per call with the union of their evidence shown once
   (``batched``, the default);
4. aggregate: score = 10 * mean(value), value 1 / 0.5 / 0.

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
from typing import Protocol

from ...errors import ParseError
from ...prompts.base import data_block
from ...types import SUPPORT_VALUE, Candidate, DimensionScore, Evidence, Example, Verdict
from .outputs import BatchSupportOut, batch_schema
from .steps import StepContext, StepFailed, answer_block, question_block

NAME = "faithfulness"


class EvidenceSource(Protocol):
    """The per-prompt evidence index (built once, shared by every candidate)."""

    def evidence_many(self, statements: Sequence[str], question: str) -> list[list[Evidence]]: ...


async def decompose(ctx: StepContext, example: Example, candidate: Candidate) -> list[str]:
    values = {
        "question": question_block(example.query),
        "answer": answer_block(candidate.text),
        "max_statements": str(ctx.config.max_statements),
    }
    out = await ctx.ask(f"{NAME}.decompose", ctx.prompts.statements, values)
    return [s.strip() for s in out.statements if s.strip()]


async def retrieve(
    index: EvidenceSource, statements: Sequence[str], question: str
) -> list[Verdict]:
    """Top-k evidence of every statement, in one batched query off the event loop (a dense
    retriever spends tens of milliseconds per query)."""
    found = await asyncio.to_thread(index.evidence_many, statements, question)
    return [Verdict(statement=s, evidence=ev) for s, ev in zip(statements, found, strict=True)]


def _excerpt(context: str, ev: Evidence, label: str) -> str:
    return f"[{label}] " + context[ev.start : ev.end].strip()


async def verify_one(ctx: StepContext, example: Example, verdict: Verdict) -> None:
    """Paper mode: one call for one statement and its own evidence."""
    excerpts = "\n\n".join(
        _excerpt(example.context, ev, f"E{i + 1}") for i, ev in enumerate(verdict.evidence)
    )
    values = {
        "question": question_block(example.query),
        "evidence": data_block("EXCERPTS", excerpts or "(no excerpt found)"),
        "statement": data_block("STATEMENT", verdict.statement),
    }
    try:
        out = await ctx.ask(f"{NAME}.verify", ctx.prompts.support, values)
    except StepFailed as exc:
        verdict.reason = exc.reason
        return
    verdict.support, verdict.analysis = out.support, out.analysis
    verdict.value = SUPPORT_VALUE[out.support]


async def verify_batch(ctx: StepContext, example: Example, batch: Sequence[Verdict]) -> None:
    """Batched mode: the union of the batch's evidence is shown once, in document order."""
    windows = sorted({(ev.start, ev.end) for v in batch for ev in v.evidence})
    label = {span: f"E{i + 1}" for i, span in enumerate(windows)}
    excerpts = "\n\n".join(
        f"[{label[span]}] " + example.context[span[0] : span[1]].strip() for span in windows
    )
    lines = []
    for i, verdict in enumerate(batch, start=1):
        refs = ", ".join(label[(ev.start, ev.end)] for ev in verdict.evidence) or "none"
        one_line = " ".join(verdict.statement.split())  # a statement never spans two items
        lines.append(f"{i}. {one_line} (excerpts: {refs})")
    ids = [str(i) for i in range(1, len(batch) + 1)]

    def complete(out: BatchSupportOut) -> None:
        if set(out.verdicts) != set(ids):
            got = sorted(out.verdicts, key=lambda k: (len(k), k))
            raise ParseError("verdict_ids_mismatch", f"expected {ids}, got {got}")

    values = {
        "question": question_block(example.query),
        "evidence": data_block("EXCERPTS", excerpts or "(no excerpt found)"),
        "statements": data_block("STATEMENTS", "\n".join(lines)),
        "ids": ", ".join(map(str, ids)),
    }
    try:
        out = await ctx.ask(
            f"{NAME}.verify",
            ctx.prompts.support_batch,
            values,
            validate=complete,
            schema=batch_schema(ids, ctx.config.statement_analysis_chars),
        )
    except StepFailed as exc:
        for verdict in batch:
            verdict.reason = exc.reason
        return
    for key, item in out.verdicts.items():
        verdict = batch[int(key) - 1]
        verdict.support, verdict.analysis = item.support, item.analysis
        verdict.value = SUPPORT_VALUE[item.support]


def aggregate(ctx: StepContext, verdicts: list[Verdict]) -> DimensionScore:
    details = {
        "mode": ctx.config.faithfulness_mode,
        "no_factual_statements": not verdicts,
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
    ctx: StepContext, example: Example, candidate: Candidate, index: EvidenceSource
) -> DimensionScore:
    """Score one candidate against the prompt's shared evidence index."""
    try:
        statements = await decompose(ctx, example, candidate)
    except StepFailed as exc:
        return DimensionScore.unscored(
            NAME, exc.reason, usage=ctx.usage.total(), prompt_hashes=ctx.hashes
        )
    cap = ctx.config.max_statements  # the judge was asked for at most this many
    dropped = max(0, len(statements) - cap)
    verdicts = await retrieve(index, statements[:cap], example.query)
    if ctx.config.faithfulness_mode == "paper":
        await asyncio.gather(*(verify_one(ctx, example, v) for v in verdicts))
    else:
        size = ctx.config.batch_size
        batches = [verdicts[i : i + size] for i in range(0, len(verdicts), size)]
        await asyncio.gather(*(verify_batch(ctx, example, b) for b in batches))
    score = aggregate(ctx, verdicts)
    score.details["statements_dropped"] = dropped
    return score


__all__ = ["EvidenceSource", "score_faithfulness"]
