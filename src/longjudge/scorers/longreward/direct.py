"""Helpfulness and logicality: the two dimensions scored directly from query + response.

Both are one judge call with analysis before the score (the logicality prompt also asks for the
list of logical errors first, kept in ``details["errors"]``); neither needs the context.
"""

from __future__ import annotations

from typing import Any

from ...types import Candidate, DimensionScore, Example
from .outputs import HelpfulnessOut, LogicalityOut
from .steps import StepContext, StepFailed, answer_block, question_block


async def score_direct(
    ctx: StepContext, name: str, example: Example, candidate: Candidate
) -> DimensionScore:
    """Score ``helpfulness`` or ``logicality`` of one candidate."""
    values = {"question": question_block(example.query), "answer": answer_block(candidate.text)}
    out: HelpfulnessOut | LogicalityOut
    try:
        if name == "helpfulness":
            out = await ctx.ask(f"{name}.score", ctx.prompts.helpfulness, values)
        else:
            out = await ctx.ask(f"{name}.score", ctx.prompts.logicality, values)
    except StepFailed as exc:
        return DimensionScore.unscored(
            name, exc.reason, usage=ctx.usage.total(), prompt_hashes=ctx.hashes
        )
    details: dict[str, Any] = {}
    if isinstance(out, LogicalityOut):
        details["errors"] = list(out.errors)
    return DimensionScore.scored(
        name,
        float(out.score),
        analysis=out.analysis,
        details=details,
        usage=ctx.usage.total(),
        prompt_hashes=ctx.hashes,
    )


__all__ = ["score_direct"]
