"""The retrieval contract: a retriever builds an index over windows; an index answers queries.

A :class:`Retriever` is configuration only (cheap, shareable); :meth:`Retriever.build` does the
per-context work once and returns an :class:`Index`, which is read-only and safe to query from
several threads. ``search_many`` is the batched form (dense retrieval encodes all queries in one
batch); ``search`` is one query.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from ..types import Chunk


class Hit(NamedTuple):
    """One retrieved window: its index in the chunk list and its score (higher is better)."""

    chunk_index: int
    score: float


@runtime_checkable
class Index(Protocol):
    """A searchable index over one context's windows."""

    def search(self, query: str, k: int) -> list[Hit]:
        """The best ``k`` windows for ``query``, best first."""
        ...

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        """``search`` for several queries at once (one list of hits per query, in order)."""
        ...


@runtime_checkable
class Retriever(Protocol):
    """Builds an :class:`Index` over the windows of one context."""

    @property
    def name(self) -> str:
        """Short name of the method: bm25, dense, hybrid."""
        ...

    def build(self, chunks: Sequence[Chunk]) -> Index:
        """Index ``chunks`` (done once per context)."""
        ...


def top_hits(scores: np.ndarray, k: int, *, positive_only: bool = False) -> list[Hit]:
    """The ``k`` best entries of ``scores`` as hits, best first (ties: earlier window first)."""
    if k <= 0 or scores.size == 0:
        return []
    k = min(k, scores.size)
    if k < scores.size:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(scores.size)
    order = part[np.lexsort((part, -scores[part]))]
    return [Hit(int(i), float(scores[i])) for i in order if not positive_only or scores[i] > 0]


class ScoringIndex(abc.ABC):
    """Base for indexes that score every window for a query (BM25, dense)."""

    @abc.abstractmethod
    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        """A (queries x windows) matrix of scores."""

    #: Whether only windows with a positive score count as hits (lexical overlap needed).
    positive_only = False

    def scores_and_similarity(self, queries: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """``scores_many`` and, for indexes that embed text, each query's best cosine
        similarity to a window (how closely the query restates one window); None otherwise."""
        return self.scores_many(queries), None

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        matrix = self.scores_many(queries)
        return [top_hits(row, k, positive_only=self.positive_only) for row in matrix]

    def search(self, query: str, k: int) -> list[Hit]:
        return self.search_many([query], k)[0]


__all__ = ["Hit", "Index", "Retriever", "ScoringIndex", "top_hits"]
