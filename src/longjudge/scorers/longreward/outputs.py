"""The output model of every LongReward judge step. Their JSON schemas go to the backends.

Scores are an ``enum`` of 0..10 rather than an integer range: grammar-constrained decoding
(llama.cpp) enforces an enum but not ``minimum``/``maximum``. Validation runs again after
decoding, whatever the backend claims to have enforced.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Score = Literal[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
Support = Literal["full", "partial", "none"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class HelpfulnessOut(_Out):
    analysis: str = Field(description="Why the response does or does not serve the question.")
    score: Score


class LogicalityOut(_Out):
    errors: list[str] = Field(
        max_length=12, description="Each logical error found, quoted or described; [] if none."
    )
    analysis: str
    score: Score


class StatementsOut(_Out):
    statements: list[str] = Field(
        max_length=60, description="The factual statements of the response, one per entry."
    )


class SupportOut(_Out):
    """One support verdict with its proof: the excerpt it rests on and a verbatim quote.

    ``excerpt`` and ``quote`` are empty for ``none``. The schema sent with each request
    (:func:`support_schema`) limits ``excerpt`` to the labels shown in that call.
    """

    analysis: str
    excerpt: str = ""
    quote: str = ""
    support: Support


class BatchSupportOut(_Out):
    """Verdicts keyed by statement number ("1", "2", ...).

    The schema sent with each request is built for that batch (:func:`batch_schema`): it names
    exactly the batch's numbers as required keys, so a grammar-constrained or schema-following
    judge cannot skip or invent a statement.
    """

    verdicts: dict[str, SupportOut]


def support_schema(
    labels: list[str], analysis_chars: int, quote_chars: int
) -> dict[str, Any]:
    """The JSON schema of one verdict: ``excerpt`` is one of ``labels`` or empty, the quote
    bounded to ``quote_chars`` (a generation bound for grammar-constrained backends)."""
    return {
        "type": "object",
        "properties": {
            "analysis": {"type": "string", "maxLength": analysis_chars},
            "excerpt": {"type": "string", "enum": [*labels, ""]},
            "quote": {"type": "string", "maxLength": quote_chars},
            "support": {"type": "string", "enum": ["full", "partial", "none"]},
        },
        "required": ["analysis", "excerpt", "quote", "support"],
        "title": "SupportOut",
    }


def batch_schema(
    ids: list[str], analysis_chars: int, labels: list[str] | None = None, quote_chars: int = 300
) -> dict[str, object]:
    """The JSON schema of a batch verdict for statements ``ids`` (excerpts ``labels``)."""
    one = support_schema(labels or [], analysis_chars, quote_chars)
    return {
        "type": "object",
        "properties": {
            "verdicts": {
                "type": "object",
                "properties": {i: one for i in ids},
                "required": ids,
                "additionalProperties": False,
            }
        },
        "required": ["verdicts"],
        "title": "BatchSupportOut",
    }


class KeyPointsOut(_Out):
    key_points: list[str] = Field(
        max_length=24, description="Points of this part of the document that the question needs."
    )


class CoverageOut(_Out):
    analysis: str
    covered: list[int] = Field(
        default_factory=list, description="Numbers of the key points the answer covers."
    )
    score: Score


@cache
def _coverage_base() -> dict[str, Any]:
    return CoverageOut.model_json_schema()


def coverage_schema(points: int, analysis_chars: int) -> dict[str, object]:
    """The JSON schema of a coverage grade over ``points`` numbered key points: ``covered``
    may only hold the numbers 1..points (an enum, which grammars enforce)."""
    schema = copy.deepcopy(_coverage_base())  # pydantic builds a schema in milliseconds
    schema["properties"]["analysis"]["maxLength"] = analysis_chars
    covered = schema["properties"]["covered"]
    covered.pop("default", None)
    covered["items"] = {"enum": list(range(1, points + 1)), "type": "integer"}
    covered["maxItems"] = points
    covered["minItems"] = 0
    schema["required"] = ["analysis", "covered", "score"]
    return schema


__all__ = [
    "BatchSupportOut",
    "CoverageOut",
    "HelpfulnessOut",
    "KeyPointsOut",
    "LogicalityOut",
    "StatementsOut",
    "SupportOut",
    "batch_schema",
    "coverage_schema",
    "support_schema",
]
