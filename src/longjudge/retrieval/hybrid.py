"""Hybrid retrieval: reciprocal rank fusion (RRF) of BM25 and dense rankings.

A window's fused score is the sum over the two rankings of ``1 / (rrf_k + rank)`` (rank from
1); a window absent from a ranking adds nothing. Each ranking is read to a depth of
``max(50, 10 * k)`` windows.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..types import Chunk
from .base import Hit, Index
from .bm25 import BM25Retriever
from .dense import DenseRetriever


def rrf(rankings: Sequence[Sequence[Hit]], k: int, rrf_k: float) -> list[Hit]:
    """Fuse rankings by reciprocal rank; the best ``k`` hits, best first."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            fused[hit.chunk_index] = fused.get(hit.chunk_index, 0.0) + 1.0 / (rrf_k + rank)
    best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
    return [Hit(index, score) for index, score in best]


class HybridIndex:
    """A BM25 index and a dense index over the same windows, fused at query time."""

    def __init__(self, parts: Sequence[Index], rrf_k: float) -> None:
        self.parts = list(parts)
        self.rrf_k = rrf_k

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        depth = max(50, 10 * k)
        per_part = [part.search_many(queries, depth) for part in self.parts]
        return [rrf([hits[q] for hits in per_part], k, self.rrf_k) for q in range(len(queries))]

    def search(self, query: str, k: int) -> list[Hit]:
        return self.search_many([query], k)[0]


class HybridRetriever:
    """BM25 + dense, fused by reciprocal rank (``rrf_k`` 60 by default)."""

    name = "hybrid"

    def __init__(
        self,
        bm25: BM25Retriever | None = None,
        dense: DenseRetriever | None = None,
        rrf_k: float = 60.0,
    ) -> None:
        self.bm25 = bm25 or BM25Retriever()
        self.dense = dense or DenseRetriever()
        self.rrf_k = rrf_k

    def build(self, chunks: Sequence[Chunk]) -> HybridIndex:
        return HybridIndex([self.bm25.build(chunks), self.dense.build(chunks)], self.rrf_k)


__all__ = ["HybridIndex", "HybridRetriever", "rrf"]
