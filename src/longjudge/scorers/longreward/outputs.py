"""The output model of every LongReward judge step. Their JSON schemas go to the backends.

Scores are an ``enum`` of 0..10 rather than an integer range: grammar-constrained decoding
(llama.cpp) enforces an enum but not ``minimum``/``maximum``. Validation runs again after
decoding, whatever the backend claims to have enforced.
"""

from __future__ import annotations

import functools
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
    analysis: str
    support: Support


class BatchSupportOut(_Out):
    """Verdicts keyed by statement number ("1", "2", ...).

    The schema sent with each request is built for that batch (:func:`batch_schema`): it names
    exactly the batch's numbers as required keys, so a grammar-constrained or schema-following
    judge cannot skip or invent a statement.
    """

    verdicts: dict[str, SupportOut]


@functools.lru_cache(maxsize=8)
def _support_schema(analysis_chars: int) -> dict[str, Any]:
    # Built once per bound: pydantic's schema generation costs more than a judge call's
    # client work. Shared by every batch schema, so never mutated.
    one = SupportOut.model_json_schema()
    one["properties"]["analysis"]["maxLength"] = analysis_chars
    return one


def batch_schema(ids: list[str], analysis_chars: int) -> dict[str, object]:
    """The JSON schema of a batch verdict for statements ``ids``."""
    one = _support_schema(analysis_chars)
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
    score: Score


__all__ = [
    "BatchSupportOut",
    "CoverageOut",
    "HelpfulnessOut",
    "KeyPointsOut",
    "LogicalityOut",
    "StatementsOut",
    "SupportOut",
    "batch_schema",
]
