"""The records that flow through longjudge.

``Example`` and ``Candidate`` come in; ``DimensionScore`` and ``Reward`` come out of scorers;
``PreferencePair`` comes out of pair selection. Every score is on 0-10 and every score that
could not be computed is ``unscored`` with a reason, never a silent 0.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Status = Literal["scored", "unscored"]
SupportLevel = Literal["full", "partial", "none"]

#: The value of each support level in the faithfulness mean (LongReward: 1 / 0.5 / 0).
SUPPORT_VALUE: dict[str, float] = {"full": 1.0, "partial": 0.5, "none": 0.0}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Example(_Record):
    """One long-context prompt: a context, a query and, optionally, a reference answer."""

    id: str = Field(min_length=1, description="Unique id of the prompt.")
    context: str = Field(description="The long document(s) the query is about.")
    query: str = Field(description="The user's question or instruction.")
    reference: str | None = Field(default=None, description="A reference answer, if known.")
    meta: dict[str, Any] = Field(default_factory=dict, description="Free metadata, kept as is.")

    @field_validator("context", "query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class Candidate(_Record):
    """One response to an example."""

    id: str = Field(min_length=1, description="Unique id of the candidate.")
    example_id: str = Field(min_length=1, description="Id of the example it answers.")
    text: str = Field(description="The response text.")
    meta: dict[str, Any] = Field(default_factory=dict, description="Sampling parameters etc.")


class Usage(_Record):
    """Judge usage: calls actually sent, tokens, and calls answered from the cache."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: int = 0

    def add(self, other: Usage) -> None:
        """Add ``other`` into this usage in place (counters are plain ints: added straight into
        the fields, without a validated assignment each; it runs several times per judge call)."""
        mine, theirs = self.__dict__, other.__dict__
        for name in _USAGE_FIELDS:
            mine[name] += theirs[name]

    def __add__(self, other: Usage) -> Usage:
        out = self.model_copy()
        out.add(other)
        return out


_USAGE_FIELDS = tuple(Usage.model_fields)


class Chunk(BaseModel):
    """A window of a text: ``text == source[start:end]``; windows of one text are contiguous."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int = Field(ge=0, description="Position of the window in its text (0-based).")
    start: int = Field(ge=0, description="Character offset of the window's first character.")
    end: int = Field(ge=0, description="Character offset just past the window's last character.")
    text: str = Field(description="The window's text.")
    n_tokens: int = Field(ge=0, description="Tokens in the window, by the tokenizer that cut it.")


class Evidence(_Record):
    """A retrieved excerpt of the context (one window, or neighbouring windows merged), with
    its character offsets into the context."""

    chunk_index: int = Field(description="Index of the excerpt's first window.")
    start: int
    end: int
    score: float = 0.0
    windows: int = Field(default=1, description="How many consecutive windows it spans.")
    n_tokens: int = Field(default=0, description="Its size in tokens (the windows' tokenizer).")


QuoteStatus = Literal["verified", "other_excerpt", "not_shown", "not_found", "missing"]


class Quote(_Record):
    """The judge's proof for a support verdict: a quote from an excerpt it was shown, checked
    against the context (whitespace and quotation marks normalised)."""

    text: str
    excerpt: str = Field(default="", description="The excerpt label the quote was found in "
                         "(or, if not found, the one the judge named).")
    status: QuoteStatus
    start: int | None = Field(default=None, description="Offsets into the context, if found.")
    end: int | None = None
    own: bool = Field(
        default=True,
        description="False when the excerpt was retrieved for another statement of the batch.",
    )


class Verdict(_Record):
    """The judge's verdict on one factual statement (faithfulness)."""

    statement: str
    support: SupportLevel | None = None
    value: float | None = Field(default=None, description="1 / 0.5 / 0, or None if unscored.")
    analysis: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    reason: str | None = Field(default=None, description="Why there is no verdict, if none.")
    quote: Quote | None = Field(
        default=None, description="The checked quote of a full or partial verdict."
    )
    second_look: bool = Field(
        default=False, description="Whether the verdict came from the second look."
    )


class DimensionScore(_Record):
    """One dimension of one reward: a 0-10 score, or unscored with a reason."""

    name: str
    status: Status
    score: float | None = None
    reason: str | None = None
    analysis: str = ""
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="Step outputs: statements and verdicts, key points, logical errors ...",
    )
    usage: Usage = Field(default_factory=Usage)
    prompt_hashes: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> DimensionScore:
        if self.status == "scored":
            if self.score is None or not 0.0 <= self.score <= 10.0:
                raise ValueError(f"scored dimension {self.name} needs a score in [0, 10]")
        elif self.score is not None or not self.reason:
            raise ValueError(f"unscored dimension {self.name} needs a reason and no score")
        return self

    @classmethod
    def scored(cls, name: str, score: float, **kw: Any) -> DimensionScore:
        return cls(name=name, status="scored", score=score, **kw)

    @classmethod
    def unscored(cls, name: str, reason: str, **kw: Any) -> DimensionScore:
        return cls(name=name, status="unscored", score=None, reason=reason, **kw)


class Fingerprint(_Record):
    """What produced a reward: short sha256 digests of each input that changes it.

    A run reuses a stored reward only when every part equals the candidate's current one.
    """

    example: str = Field(description="Digest of the example's context, query and reference.")
    candidate: str = Field(description="Digest of the candidate's text.")
    config: str = Field(description="Digest of the scorer settings that change its output.")
    judge: str = Field(description="Digest of the judge's identity and sampling parameters.")
    prompts: str = Field(description="Digest of the prompt templates and output schemas.")


class Reward(_Record):
    """The reward of one candidate: a total on 0-10 and its dimensions."""

    example_id: str
    candidate_id: str
    method: str
    status: Status
    total: float | None = None
    reason: str | None = None
    dimensions: dict[str, DimensionScore] = Field(default_factory=dict)
    excluded: str | None = Field(
        default=None,
        description="Why a scored candidate must never be chosen (e.g. outside the S2L trust "
        "region); None when it may be.",
    )
    usage: Usage = Field(default_factory=Usage)
    meta: dict[str, Any] = Field(default_factory=dict)
    fingerprint: Fingerprint | None = Field(
        default=None,
        description="What produced this reward (set by the runner; None in older files).",
    )

    @property
    def selectable(self) -> bool:
        """Scored and not excluded: the only rewards pair and best-of-N selection may use."""
        return self.status == "scored" and self.excluded is None

    @model_validator(mode="after")
    def _consistent(self) -> Reward:
        check_outcome(self.status, self.total, self.reason)
        return self


def check_outcome(status: Status, total: float | None, reason: str | None) -> None:
    """A scored reward has a total; an unscored one a reason and no total (ValueError)."""
    if status == "scored" and total is None:
        raise ValueError("a scored reward needs a total")
    if status == "unscored" and (total is not None or not reason):
        raise ValueError("an unscored reward needs a reason and no total")


class PreferencePair(_Record):
    """A chosen and a rejected response to the same example."""

    example_id: str
    strategy: str
    chosen_id: str
    rejected_id: str
    chosen: str
    rejected: str
    chosen_score: float
    rejected_score: float
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def margin(self) -> float:
        return self.chosen_score - self.rejected_score


__all__ = [
    "SUPPORT_VALUE",
    "Candidate",
    "Chunk",
    "DimensionScore",
    "Evidence",
    "Example",
    "Fingerprint",
    "PreferencePair",
    "Quote",
    "QuoteStatus",
    "Reward",
    "Status",
    "SupportLevel",
    "Usage",
    "Verdict",
    "check_outcome",
]
