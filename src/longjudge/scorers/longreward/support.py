"""Faithfulness verification: support verdicts with their proof, one by one or in batches.

Every excerpt shown in a call gets a label (``E1``, ``E2``, ... in document order); each
statement is listed with the labels of its own excerpts. A ``full`` or ``partial`` verdict
must name an excerpt and quote it; :func:`.quotes.check_quote` finds the quote in the excerpts
of that call and records its offsets. A verdict whose quote is not there is kept, marked, and
valued by ``unverified_support`` (0 by default, or half its value).

In a batch, a statement may be supported by an excerpt retrieved for another statement of the
same batch: such verdicts still count (the excerpt was shown) but are marked ``own=False``
and counted in the dimension's details.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import ParseError
from ...prompts.base import data_block
from ...types import SUPPORT_VALUE, Example, Verdict
from .outputs import BatchSupportOut, SupportOut, batch_schema, support_schema
from .quotes import VERIFIED, check_quote
from .steps import StepContext, StepFailed, question_block

NAME = "faithfulness"
Span = tuple[int, int]


def _shown(example: Example, verdicts: Sequence[Verdict]) -> dict[str, Span]:
    """Label -> context span of the union of the verdicts' excerpts, in document order."""
    spans = sorted({(ev.start, ev.end) for v in verdicts for ev in v.evidence})
    return {f"E{i + 1}": span for i, span in enumerate(spans)}


def _excerpt_block(example: Example, shown: dict[str, Span]) -> str:
    text = "\n\n".join(
        f"[{label}] " + example.context[start:end].strip() for label, (start, end) in shown.items()
    )
    return data_block("EXCERPTS", text or "(no excerpt found)")


def _own(verdict: Verdict, shown: dict[str, Span]) -> list[str]:
    mine = {(ev.start, ev.end) for ev in verdict.evidence}
    return [label for label, span in shown.items() if span in mine]


def apply(
    ctx: StepContext,
    example: Example,
    verdict: Verdict,
    out: SupportOut,
    shown: dict[str, Span],
) -> None:
    """Record one verdict; a support verdict's quote is checked and decides its value."""
    verdict.support, verdict.analysis = out.support, out.analysis
    value = SUPPORT_VALUE[out.support]
    verdict.quote = None
    if out.support != "none":
        quote = check_quote(out.quote, out.excerpt, shown, example.context, _own(verdict, shown))
        verdict.quote = quote
        if quote.status not in VERIFIED:
            value *= 0.5 if ctx.config.unverified_support == "half" else 0.0
    verdict.value = value


async def verify_one(ctx: StepContext, example: Example, verdict: Verdict) -> None:
    """Paper mode: one call for one statement and its own excerpts."""
    shown = _shown(example, [verdict])
    values = {
        "question": question_block(example.query),
        "evidence": _excerpt_block(example, shown),
        "statement": data_block("STATEMENT", verdict.statement),
    }
    schema = support_schema(
        list(shown), ctx.config.statement_analysis_chars, ctx.config.quote_chars
    )
    try:
        out = await ctx.ask(f"{NAME}.verify", ctx.prompts.support, values, schema=schema)
    except StepFailed as exc:
        verdict.reason = exc.reason
        return
    apply(ctx, example, verdict, out, shown)


async def verify_batch(
    ctx: StepContext, example: Example, batch: Sequence[Verdict], step: str = "verify"
) -> None:
    """Batched mode: the union of the batch's excerpts is shown once, in document order, and
    each statement is listed with the labels of its own excerpts."""
    shown = _shown(example, batch)
    lines = []
    for i, verdict in enumerate(batch, start=1):
        refs = ", ".join(_own(verdict, shown)) or "none"
        one_line = " ".join(verdict.statement.split())  # a statement never spans two items
        lines.append(f"{i}. {one_line} (excerpts: {refs})")
    ids = [str(i) for i in range(1, len(batch) + 1)]

    def complete(out: BatchSupportOut) -> None:
        if set(out.verdicts) != set(ids):
            got = sorted(out.verdicts, key=lambda k: (len(k), k))
            raise ParseError("verdict_ids_mismatch", f"expected {ids}, got {got}")

    values = {
        "question": question_block(example.query),
        "evidence": _excerpt_block(example, shown),
        "statements": data_block("STATEMENTS", "\n".join(lines)),
        "ids": ", ".join(map(str, ids)),
    }
    schema = batch_schema(
        ids, ctx.config.statement_analysis_chars, list(shown), ctx.config.quote_chars
    )
    try:
        out = await ctx.ask(
            f"{NAME}.{step}",
            ctx.prompts.support_batch,
            values,
            validate=complete,
            schema=schema,
        )
    except StepFailed as exc:
        for verdict in batch:
            verdict.reason = exc.reason
        return
    for key, item in out.verdicts.items():
        apply(ctx, example, batch[int(key) - 1], item, shown)


def quote_counts(verdicts: Sequence[Verdict]) -> dict[str, int]:
    """Support verdicts by quote status, and verified support from another statement's
    excerpt (``other_statement``)."""
    counts: dict[str, int] = {}
    for v in verdicts:
        if v.quote is not None:
            counts[v.quote.status] = counts.get(v.quote.status, 0) + 1
            if v.quote.status in VERIFIED and not v.quote.own:
                counts["other_statement"] = counts.get("other_statement", 0) + 1
    return counts


__all__ = ["apply", "quote_counts", "verify_batch", "verify_one"]
