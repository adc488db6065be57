"""Completeness: key points per 4,096-token window (once per prompt), then coverage per response.

``extract_key_points`` runs once per (context, query) and is shared by every candidate: the
scorer starts it in ``prepare`` and each candidate awaits the same result. Coverage graded
against part of the key points would be a different score passed off as a full one, so when the
extraction of any window fails the dimension is unscored, with the reason and the failed windows
in its details (the same rule as faithfulness: partial inputs are never a score). Failed outputs
are never cached, so a rerun with ``retry_unscored`` asks the failed windows again and takes the
others from the cache. No key point found at all is unscored too (coverage of nothing cannot
be graded).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ...errors import ParseError
from ...prompts.base import data_block
from ...types import Candidate, DimensionScore, Example
from .outputs import CoverageOut, coverage_schema
from .steps import StepContext, StepFailed, answer_block, question_block

NAME = "completeness"
MAX_POINTS_PER_WINDOW = 12


@dataclass
class KeyPoints:
    """The key points of one prompt, gathered window by window."""

    points: list[str] = field(default_factory=list)
    windows: int = 0
    failed: list[str] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)


async def extract_key_points(ctx: StepContext, example: Example, windows: list[str]) -> KeyPoints:
    """Ask the judge for the query-relevant points of every window, concurrently."""

    async def one(index: int, text: str) -> list[str]:
        values = {
            "part": str(index + 1),
            "parts": str(len(windows)),
            "max_points": str(MAX_POINTS_PER_WINDOW),
            "question": question_block(example.query),
            "document_part": data_block("DOCUMENT PART", text),
        }
        # urgent: every candidate's coverage call waits on the key points
        out = await ctx.ask(f"{NAME}.extract", ctx.prompts.key_points, values, urgent=True)
        return [p.strip() for p in out.key_points if p.strip()]

    results = await asyncio.gather(
        *(one(i, w) for i, w in enumerate(windows)), return_exceptions=True
    )
    found = KeyPoints(windows=len(windows), hashes=dict(ctx.hashes))
    seen: set[str] = set()
    for result in results:
        if isinstance(result, StepFailed):
            found.failed.append(result.reason)
        elif isinstance(result, BaseException):
            raise result
        else:
            for point in result:
                if point.lower() not in seen:
                    seen.add(point.lower())
                    found.points.append(point)
    return found


async def score_completeness(
    ctx: StepContext, example: Example, candidate: Candidate, key_points: KeyPoints
) -> DimensionScore:
    """Grade how much of the shared key points the response covers."""
    details = {
        "key_points": key_points.points,
        "windows": key_points.windows,
        "failed_windows": key_points.failed,
    }
    ctx.hashes.update(key_points.hashes)
    if key_points.failed:
        failed, windows = len(key_points.failed), key_points.windows
        reason = f"{key_points.failed[0]} (key points missing from {failed} of {windows} windows)"
        return DimensionScore.unscored(NAME, reason, details=details, prompt_hashes=ctx.hashes)
    if not key_points.points:
        return DimensionScore.unscored(
            NAME,
            "no_key_points: the judge found nothing in the context that the question needs",
            details=details,
            prompt_hashes=ctx.hashes,
        )
    listing = "\n".join(f"{i + 1}. {p}" for i, p in enumerate(key_points.points))
    values = {
        "question": question_block(example.query),
        "key_points": data_block("KEY POINTS", listing),
        "answer": answer_block(candidate.text),
    }
    count = len(key_points.points)

    def in_range(out: CoverageOut) -> None:
        wrong = sorted({n for n in out.covered if not 1 <= n <= count})
        if wrong:
            raise ParseError("covered_out_of_range", f"key points are 1-{count}, got {wrong}")

    try:
        out = await ctx.ask(
            f"{NAME}.coverage",
            ctx.prompts.coverage,
            values,
            validate=in_range,
            schema=coverage_schema(count, ctx.config.analysis_chars),
        )
    except StepFailed as exc:
        return DimensionScore.unscored(
            NAME, exc.reason, details=details, usage=ctx.usage.total(), prompt_hashes=ctx.hashes
        )
    # The numbers (1-based) of the key points the judge says the answer covers.
    details["covered"] = sorted(set(out.covered))
    return DimensionScore.scored(
        NAME,
        float(out.score),
        analysis=out.analysis,
        details=details,
        usage=ctx.usage.total(),
        prompt_hashes=ctx.hashes,
    )


__all__ = ["KeyPoints", "extract_key_points", "score_completeness"]
