"""The per-context evidence index: windows + retrieval index, built once, queried by all.

A LongReward prompt builds one :class:`EvidenceIndex` in its ``prepare`` step; every statement
of every candidate of that prompt then asks it for evidence. The index is read-only after
``build`` (safe to share across threads and tasks) and remembers the window scores of queries
it has already seen, since candidates of one prompt often repeat the same statement.

Picking a statement's evidence (:mod:`.select`): every window is scored for the statement (the
question first), the scores of the response's neighbouring statements are mixed in
(``context_weight``), the scores are smoothed along the document (``neighbour_weight``) unless
the statement closely restates one window (``close_match_similarity``; with hybrid retrieval a
window passes on to its neighbours mainly its BM25 score, ``neighbour_lexical``), the response's
budget is shared between its statements (``share_budget``), and the best windows are taken
until a statement's share is spent, the window the statement alone scores highest first
(smoothing must not push out a single exact match), then, with ``clause_windows`` on (off by
default), the best window of each clause of a statement that joins several facts; picked
windows that touch are shown as one excerpt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..text import Tokenizer, token_windows
from ..types import Chunk, Evidence
from .base import Hit, Index, Retriever
from .config import RetrievalConfig, build_retriever, resolve_method
from .select import clauses, excerpts, mix_context, pick, share_budget, smooth

_MEMO_FLOATS = 20_000_000
#: a clause needs at least this many BM25 terms to be a fact of its own (``clause_windows``)
MIN_CLAUSE_TERMS = 4


@dataclass(frozen=True)
class EvidenceIndex:
    """One context's evidence windows and their retrieval index."""

    chunks: tuple[Chunk, ...]
    index: Index
    config: RetrievalConfig
    method: str = ""
    build_seconds: float = 0.0
    _memo: dict[str, tuple[np.ndarray, np.ndarray | None, float]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        context: str,
        config: RetrievalConfig | None = None,
        tokenizer: Tokenizer | None = None,
        retriever: Retriever | None = None,
    ) -> EvidenceIndex:
        """Cut ``context`` into windows and index them (the expensive, once-per-context step)."""
        cfg = config or RetrievalConfig()
        started = time.perf_counter()
        chunks = tuple(
            token_windows(
                context, cfg.window_tokens, tokenizer, align_sentences=cfg.align_sentences
            )
        )
        chosen = retriever or build_retriever(cfg)
        index = chosen.build(chunks)
        method = getattr(chosen, "name", "") if retriever else resolve_method(cfg)
        return cls(chunks, index, cfg, str(method), time.perf_counter() - started)

    @property
    def tokens(self) -> np.ndarray:
        return np.array([c.n_tokens for c in self.chunks], dtype=np.int64)

    def query(self, statement: str, question: str = "") -> str:
        """The retrieval query for a statement (the question first when configured)."""
        if self.config.query_with_question and question.strip():
            return f"{question.strip()}\n{statement}"
        return statement

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        """A (queries x windows) score matrix; repeated queries are answered from memory."""
        return self.scored(queries)[0]

    def scored(self, queries: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The (queries x windows) score matrix and each query's best cosine similarity to a
        window (NaN when the index does not embed text); repeated queries come from memory.

        An index without ``scores_many`` (a custom retriever that only searches) scores its
        ``top_k`` hits and leaves every other window at -inf (never picked).
        """
        matrix, _, sims = self._scored(queries)
        return matrix, sims

    def _scored(
        self, queries: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """``scored`` plus what each window passes on to its neighbours when smoothing (None:
        its own score; hybrid passes on its weighted parts, ``neighbour_lexical``)."""
        n = len(self.chunks)
        with self._lock:
            known = {q: self._memo.get(q) for q in queries}
        missing = [q for q, row in known.items() if row is None]
        if missing:
            similarity: np.ndarray | None = None
            passed: np.ndarray | None = None
            for_smoothing = getattr(self.index, "scored_for_smoothing", None)
            with_similarity = getattr(self.index, "scores_and_similarity", None)
            scores_only = getattr(self.index, "scores_many", None)
            if for_smoothing is not None:
                matrix, passed, similarity = for_smoothing(missing)
                rows = np.asarray(matrix, dtype=np.float64)
            elif with_similarity is not None:
                matrix, similarity = with_similarity(missing)
                rows = np.asarray(matrix, dtype=np.float64)
            elif scores_only is not None:
                rows = np.asarray(scores_only(missing), dtype=np.float64)
            else:
                rows = np.full((len(missing), n), -np.inf)
                hits: list[list[Hit]] = self.index.search_many(missing, self.config.top_k)
                for r, found in enumerate(hits):
                    for hit in found:
                        rows[r, hit.chunk_index] = hit.score
            best = (
                np.asarray(similarity, dtype=np.float64)
                if similarity is not None
                else np.full(len(missing), np.nan)
            )
            given: list[np.ndarray | None] = (
                list(np.asarray(passed, dtype=np.float64)) if passed is not None
                else [None] * len(missing)
            )
            with self._lock:
                if 2 * (len(self._memo) + len(missing)) * max(n, 1) > _MEMO_FLOATS:
                    self._memo.clear()
                for query, row, sim, out in zip(missing, rows, best, given, strict=True):
                    known[query] = self._memo[query] = (row, out, float(sim))
        if not queries:
            return np.zeros((0, n)), None, np.zeros(0)
        entries = [known[q] for q in queries]
        matrix = np.vstack([e[0] for e in entries if e is not None]).reshape(len(queries), n)
        sims = np.array([e[2] for e in entries if e is not None], dtype=np.float64)
        outs = [e[1] for e in entries if e is not None]
        passed_matrix = (
            np.vstack([o for o in outs if o is not None]).reshape(len(queries), n)
            if all(o is not None for o in outs)
            else None
        )
        return matrix, passed_matrix, sims

    def _final_scores(
        self, statements: Sequence[str], question: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(the statement's own scores, the scores with context and smoothing).

        A statement that closely restates a window (``close_match_similarity``) keeps its
        context-mixed scores unsmoothed."""
        raw, passed, similarity = self._scored([self.query(s, question) for s in statements])
        cfg = self.config
        mixed = mix_context(raw, cfg.context_weight)
        given = mix_context(passed, cfg.context_weight) if passed is not None else None
        smoothed = smooth(mixed, cfg.neighbour_weight, cfg.neighbour_radius, given)
        if cfg.close_match_similarity is not None and smoothed is not mixed:
            close = np.nan_to_num(similarity, nan=-np.inf) >= cfg.close_match_similarity
            if close.any():
                smoothed = np.where(close[:, None], mixed, smoothed)
        return raw, smoothed

    def _clause_best(
        self, statements: Sequence[str], question: str, banned: Sequence[set[int]]
    ) -> list[list[int]]:
        """Per statement, the best window of each of its clauses (``clause_windows``; none
        for a statement that does not split), the clauses of all statements scored at once."""
        limit = self.config.clause_windows
        if limit <= 0:
            return [[] for _ in statements]
        split = [clauses(s, MIN_CLAUSE_TERMS)[:limit] for s in statements]
        split = [parts if len(parts) > 1 else [] for parts in split]
        queries = [self.query(c, question) for parts in split for c in parts]
        if not queries:
            return [[] for _ in statements]
        rows = iter(self._scored(queries)[0])
        out: list[list[int]] = []
        for parts, skip in zip(split, banned, strict=True):
            found = [_best(next(rows), skip) for _ in parts]
            out.append([i for i in found if i is not None])
        return out

    def _positive_only(self) -> bool:
        return bool(getattr(self.index, "positive_only", False))

    def budgets(self, own: np.ndarray) -> list[int]:
        """Each statement's token budget, from its own scores (``share_budget``)."""
        cfg = self.config
        if not cfg.share_budget or own.shape[1] == 0:
            return [cfg.budget_tokens] * own.shape[0]
        return share_budget(own.max(axis=1), cfg.budget_tokens)

    def evidence(self, statement: str, question: str = "") -> list[Evidence]:
        """The evidence of one statement on its own, in document order, with offsets."""
        return self.evidence_many([statement], question)[0]

    def evidence_many(
        self,
        statements: Sequence[str],
        question: str = "",
        *,
        exclude: Sequence[Sequence[Evidence]] | None = None,
        budget: int | None = None,
    ) -> list[list[Evidence]]:
        """Evidence for the statements of one response, in the response's order.

        ``exclude`` (one list per statement) leaves windows out that were already shown: the
        second look asks for the next-best windows this way, with its own ``budget``.
        """
        if not statements:
            return []
        own, scores = self._final_scores(statements, question)
        tokens = self.tokens
        budgets = self.budgets(own) if budget is None else [budget] * len(statements)
        banned = [
            _windows_of(exclude[row]) if exclude is not None else set()
            for row in range(len(statements))
        ]
        by_clause = self._clause_best(statements, question, banned)
        out: list[list[Evidence]] = []
        for row, statement_scores in enumerate(scores):
            best = _best(own[row], banned[row])
            picked = pick(
                statement_scores,
                tokens,
                budgets[row],
                self.config.top_k,
                banned[row],
                positive_only=self._positive_only(),
                first=([best] if best is not None else []) + by_clause[row],
            )
            out.append(excerpts(self.chunks, picked, statement_scores))
        return out


def _best(scores: np.ndarray, banned: set[int]) -> int | None:
    """The window the statement alone scores highest (not banned), if any scores."""
    allowed = np.where(np.isfinite(scores), scores, -np.inf)
    if banned:
        allowed = allowed.copy()
        allowed[list(banned)] = -np.inf
    if allowed.size == 0 or not np.isfinite(allowed.max()):
        return None
    return int(np.argmax(allowed))


def _windows_of(evidence: Sequence[Evidence]) -> set[int]:
    return {
        i for ev in evidence for i in range(ev.chunk_index, ev.chunk_index + max(1, ev.windows))
    }


__all__ = ["EvidenceIndex"]
