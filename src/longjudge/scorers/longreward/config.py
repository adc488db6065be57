"""LongReward settings. Each field documents itself; ``longreward:`` in the YAML config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ...config import StrictModel
from ...retrieval.config import RetrievalConfig

Dimension = Literal["helpfulness", "logicality", "faithfulness", "completeness"]
DIMENSIONS: tuple[Dimension, ...] = ("helpfulness", "logicality", "faithfulness", "completeness")


class LongRewardConfig(StrictModel):
    """How the four dimensions are computed and combined."""

    dimensions: list[Dimension] = Field(
        default_factory=lambda: list(DIMENSIONS),
        description="Dimensions to compute; leave some out for ablations.",
    )
    weights: dict[Dimension, float] = Field(
        default_factory=lambda: {d: 1.0 for d in DIMENSIONS},
        description="Weight of each dimension in the mean (equal by default, as in the paper).",
    )
    renormalize: bool = Field(
        False,
        description="When a dimension is unscored, average the scored ones instead of leaving "
        "the reward unscored.",
    )
    language: Literal["auto", "en", "zh"] = Field(
        "auto", description="Prompt language; 'auto' picks by the query and context."
    )
    faithfulness_mode: Literal["batched", "paper"] = Field(
        "batched",
        description="'paper': one judge call per statement, as published; 'batched': several "
        "statements and the union of their evidence per call.",
    )
    batch_size: int = Field(20, ge=1, description="Statements per call in batched mode.")
    max_statements: int = Field(
        40, ge=1, le=60, description="Most factual statements taken from one response."
    )
    no_statement_score: float = Field(
        10.0,
        ge=0,
        le=10,
        description="Faithfulness of a response with no factual statements (recorded as such): "
        "nothing in it is unsupported.",
    )
    completeness_window_tokens: int = Field(
        4096, ge=64, description="Window size for completeness key-point extraction."
    )
    retrieval: RetrievalConfig = Field(
        default_factory=RetrievalConfig, description="Evidence retrieval for faithfulness."
    )
    tokenizer: str | None = Field(
        None,
        description="Tokenizer for windows: a local tokenizer.json or directory; default the "
        "local judge's own vocabulary, else the built-in regex tokenizer.",
    )
    analysis_chars: int = Field(
        1500, ge=40, description="Longest analysis a judge may write per verdict (schema bound)."
    )
    statement_analysis_chars: int = Field(
        300, ge=20, description="Longest analysis per statement verdict (schema bound)."
    )
    quote_chars: int = Field(
        300,
        ge=20,
        description="Longest quote a support verdict may give as its proof (schema bound).",
    )
    unverified_support: Literal["zero", "half"] = Field(
        "zero",
        description="Value of a full or partial verdict whose quote is not found in the "
        "excerpts shown: 'zero' (no support) or 'half' of its value.",
    )
    max_tokens: int = Field(1536, ge=16, description="Completion budget of one judge call.")

    @model_validator(mode="after")
    def _check(self) -> LongRewardConfig:
        if not self.dimensions:
            raise ValueError("at least one dimension must be on")
        if len(set(self.dimensions)) != len(self.dimensions):
            raise ValueError("dimensions must not repeat")
        for dim in self.dimensions:
            if self.weights.get(dim, 0.0) <= 0:
                raise ValueError(f"dimension {dim} is on but its weight is not positive")
        return self


__all__ = ["DIMENSIONS", "Dimension", "LongRewardConfig"]
