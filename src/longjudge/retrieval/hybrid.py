"""Hybrid retrieval: BM25 and dense scores fused, by standardised score or by rank.

``zscore`` (the default): each part's scores for a query are standardised over the context's
windows (mean 0, standard deviation 1) and added, the dense part scaled by ``dense_weight``.
Unlike rank fusion this keeps how far ahead a window is, which matters when the scores are
smoothed along the document and budgeted afterwards.

With zscore fusion, what a window passes on to its neighbours when the scores are smoothed
along the document can weigh the parts differently (``neighbour_lexical``,
``neighbour_dense``; :meth:`HybridIndex.scored_for_smoothing`).

``rrf``: reciprocal rank fusion, a window's score is the sum over the two rankings of
``1 / (rrf_k + rank)`` (rank from 1), each ranking read to a depth of ``max(50, 10 * k)``
windows; a window absent from a ranking adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..types import Chunk
from .base import Hit, ScoringIndex, top_hits
from .bm25 import BM25Retriever
from .config import RetrievalConfig
from .dense import DenseRetriever


def rrf(rankings: Sequence[Sequence[Hit]], k: int, rrf_k: float) -> list[Hit]:
    """Fuse rankings by reciprocal rank; the best ``k`` hits, best first."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            fused[hit.chunk_index] = fused.get(hit.chunk_index, 0.0) + 1.0 / (rrf_k + rank)
    best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
    return [Hit(index, score) for index, score in best]


def standardise(matrix: np.ndarray) -> np.ndarray:
    """Each row scaled to mean 0 and standard deviation 1 (a constant row becomes 0)."""
    if matrix.size == 0:
        return matrix
    mean = matrix.mean(axis=1, keepdims=True)
    std = matrix.std(axis=1, keepdims=True)
    out: np.ndarray = (matrix - mean) / np.where(std > 0, std, 1.0)
    return out


class HybridIndex(ScoringIndex):
    """A BM25 index and a dense index over the same windows, fused at query time."""

    def __init__(
        self,
        parts: Sequence[ScoringIndex],
        rrf_k: float,
        fusion: str = "zscore",
        weights: Sequence[float] | None = None,
        neighbour_weights: Sequence[float] | None = None,
    ) -> None:
        self.parts = list(parts)
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.weights = list(weights) if weights is not None else [1.0] * len(self.parts)
        #: per part, its weight in what a window passes on to its neighbours (None: the
        #: fused score is passed on)
        self.neighbour_weights = list(neighbour_weights) if neighbour_weights is not None else None

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        return self.scores_and_similarity(queries)[0]

    def scores_and_similarity(self, queries: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """The fused scores, and the best cosine similarity of the part that has one."""
        fused, _, similarity = self._fused(queries, k=0)
        return fused, similarity

    def scored_for_smoothing(
        self, queries: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(fused scores, what each window passes on to its neighbours when smoothing,
        best cosine similarity). The second is the parts' standardised scores weighted by
        ``neighbour_weights`` (zscore fusion with those weights given), else None (the
        fused scores themselves are smoothed)."""
        return self._fused(queries, k=0)

    def _fused(
        self, queries: Sequence[str], k: int
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        matrices: list[np.ndarray] = []
        similarity: np.ndarray | None = None
        for part in self.parts:
            matrix, best = part.scores_and_similarity(queries)
            matrices.append(np.asarray(matrix, dtype=np.float64))
            similarity = best if similarity is None else similarity
        if self.fusion == "zscore":
            shape = (len(queries), matrices[0].shape[1] if matrices else 0)
            total = np.zeros(shape)
            passed = np.zeros(shape) if self.neighbour_weights is not None else None
            for i, (matrix, weight) in enumerate(zip(matrices, self.weights, strict=True)):
                z = standardise(matrix)
                total += weight * z
                if passed is not None and self.neighbour_weights is not None:
                    passed += self.neighbour_weights[i] * z
            return total, passed, similarity
        return self._rrf_scores(matrices, k), None, similarity

    def _rrf_scores(self, matrices: Sequence[np.ndarray], k: int) -> np.ndarray:
        rows = matrices[0].shape[0] if matrices else 0
        size = matrices[0].shape[1] if matrices else 0
        depth = max(50, 10 * k)
        out = np.zeros((rows, size), dtype=np.float64)
        for part, matrix in zip(self.parts, matrices, strict=True):
            for row in range(rows):
                ranking = top_hits(matrix[row], depth, positive_only=part.positive_only)
                for rank, hit in enumerate(ranking, start=1):
                    out[row, hit.chunk_index] += 1.0 / (self.rrf_k + rank)
        return out

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        matrix = self._fused(queries, k)[0]
        return [top_hits(row, k, positive_only=self.fusion == "rrf") for row in matrix]


class HybridRetriever:
    """BM25 + dense, fused by standardised scores (default) or reciprocal rank."""

    name = "hybrid"

    def __init__(
        self,
        bm25: BM25Retriever | None = None,
        dense: DenseRetriever | None = None,
        rrf_k: float = 60.0,
        fusion: str = "zscore",
        dense_weight: float = 1.0,
        neighbour_weights: tuple[float, float] | None = None,
    ) -> None:
        self.bm25 = bm25 or BM25Retriever()
        self.dense = dense or DenseRetriever()
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.neighbour_weights = neighbour_weights

    def build(self, chunks: Sequence[Chunk]) -> HybridIndex:
        return HybridIndex(
            [self.bm25.build(chunks), self.dense.build(chunks)],
            self.rrf_k,
            self.fusion,
            [1.0, self.dense_weight],
            self.neighbour_weights,
        )


def make_retriever(config: RetrievalConfig) -> HybridRetriever:
    """The ``hybrid`` retriever's factory (components.RETRIEVERS)."""
    return HybridRetriever(
        BM25Retriever(),
        DenseRetriever(config.dense_model),
        rrf_k=config.rrf_k,
        fusion=config.fusion,
        dense_weight=config.dense_weight,
        neighbour_weights=(config.neighbour_lexical, config.neighbour_dense),
    )


__all__ = ["HybridIndex", "HybridRetriever", "make_retriever", "rrf", "standardise"]
