"""BM25 over windows, with a tokenization that works for English and Chinese.

Terms are lowercase words (a light plural strip, a small English stopword list of our own) and
CJK character bigrams (a lone CJK character is its own term), so that Chinese needs no word
segmenter. Only windows that share at least one term with the query are returned.

The scoring is Lucene's BM25 exactly as bm25s computes it (its ``lucene`` method; the tests
compare every score with bm25s's own). The index is built here, in one vectorised pass over
the context's terms: bm25s builds it one window at a time in Python (a ``Counter`` and a few
numpy calls per window), which cost 12 ms of the 23 ms per-prompt evidence index of a
150-window context on the development machine, against about 1 ms for this pass; an index is
built once per prompt, so at scale that was a tenth of the client's CPU per judge call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..text import CJK_RANGES
from ..types import Chunk
from .base import ScoringIndex
from .config import RetrievalConfig

STOPWORDS = frozenset(
    {
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    }
)
#: A run of word characters (``_`` aside) and CJK characters; a run that holds CJK characters
#: is split further, once per distinct run (:func:`_run_terms`). Splitting them apart in this
#: pattern (a look-ahead at every character) made it half as fast again on English text.
_RUN = re.compile(rf"(?:[^\W_]+|[{CJK_RANGES}]+)+")
#: The pieces of a run: CJK runs and runs of other word characters.
_PIECE = re.compile(rf"[{CJK_RANGES}]+|[^\W_{CJK_RANGES}]+")


def _stem(word: str) -> str:
    """A light plural strip: ``cities`` -> ``city``, ``ships`` -> ``ship`` (not ``glass``)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def bm25_terms(text: str) -> list[str]:
    """The BM25 terms of ``text``: stemmed non-stopwords and CJK bigrams."""
    runs = _RUN.findall(text.lower())
    known = _RUNS
    try:
        return [term for run in runs for term in known[run]]
    except KeyError:  # a word not seen before (or the memo was just cleared by another thread)
        return [term for run in runs for term in _run_terms(run)]


# Each distinct word's terms, worked out once: a plain dict read is the hot path (every window
# of every context and every statement), cheaper than an lru_cache call per word.
_RUNS: dict[str, tuple[str, ...]] = {}
_RUNS_MAX = 1 << 17


_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")


def _run_terms(run: str) -> tuple[str, ...]:
    """One word or CJK run's terms, remembered in ``_RUNS`` (bounded: cleared when full)."""
    found = _RUNS.get(run)
    if found is not None:
        return found
    pieces = _PIECE.findall(run) if _CJK_CHAR.search(run) else [run]
    found = tuple(term for piece in pieces for term in _piece_terms(piece))
    if len(_RUNS) >= _RUNS_MAX:
        _RUNS.clear()
    _RUNS[run] = found
    return found


def _piece_terms(run: str) -> tuple[str, ...]:
    """The terms of a run that is all CJK (character bigrams) or holds none (one word)."""
    if _CJK_CHAR.match(run):
        return (run,) if len(run) == 1 else tuple(run[i : i + 2] for i in range(len(run) - 1))
    if run not in STOPWORDS and (len(run) > 1 or run.isdigit()):
        return (_stem(run),)
    return ()


def lucene_rows(
    corpus: Sequence[Sequence[str]], k1: float, b: float
) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """Lucene BM25 of every (term, window) pair of ``corpus`` (each window's terms), as
    compressed term rows: ``(vocab, indptr, indices, data)``; row ``t`` of term id ``t`` holds
    the windows ``indices[indptr[t]:indptr[t + 1]]`` (ascending) and their scores ``data``
    (float32). idf = ln(1 + (N - df + 0.5) / (df + 0.5)); tf part = tf / (tf + k1 (1 - b + b
    len / mean len)), the variant bm25s calls ``lucene``."""
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(term, len(vocab)) for window in corpus for term in window]
    n = len(corpus)
    lengths = np.fromiter((len(window) for window in corpus), dtype=np.int64, count=n)
    window_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    pairs, tf = np.unique(np.asarray(ids, dtype=np.int64) * n + window_of, return_counts=True)
    term, indices = np.divmod(pairs, n)  # sorted by term, then by window
    df = np.bincount(term, minlength=len(vocab))
    idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    tf32 = tf.astype(np.float32)
    norm = k1 * ((1 - b) + b * lengths[indices] / lengths.mean())
    data = (idf[term] * (tf32 / (norm + tf32))).astype(np.float32)
    indptr = np.concatenate(([0], np.cumsum(df)))
    return vocab, indptr, indices, data


class BM25Index(ScoringIndex):
    """A BM25 index over one context's windows (:func:`lucene_rows`)."""

    positive_only = True

    def __init__(self, chunks: Sequence[Chunk], k1: float, b: float) -> None:
        self.size = len(chunks)
        corpus = [bm25_terms(chunk.text) for chunk in chunks]
        self._vocab: dict[str, int] = {}
        self._rows: dict[str, np.ndarray] = {}
        if self.size and any(corpus):
            self._vocab, indptr, indices, data = lucene_rows(corpus, k1, b)
            self._rows = {"indptr": indptr, "indices": indices, "data": data}

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        """Every window's score for every query, the whole batch in one ``bincount``: the term
        rows of all (query, term) pairs of a batch (a response's statements) summed at once
        (about twice as fast as one query at a time)."""
        out_shape = (len(queries), self.size)
        if not self._rows or not queries:
            return np.zeros(out_shape, dtype=np.float32)
        vocab = self._vocab
        rows: list[int] = []
        terms: list[int] = []
        for row, query in enumerate(queries):
            ids = {vocab[t] for t in bm25_terms(query) if t in vocab}
            rows += [row] * len(ids)
            terms += ids
        kept = self._rows
        indptr = kept["indptr"]
        picked = np.asarray(terms, dtype=np.int64)
        starts, lengths = indptr[picked], indptr[picked + 1] - indptr[picked]
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(out_shape, dtype=np.float32)
        # positions of every posting of every picked term, as one array (concatenated ranges)
        first = np.cumsum(lengths) - lengths
        positions = np.repeat(starts - first, lengths) + np.arange(total)
        cells = np.repeat(np.asarray(rows, dtype=np.int64), lengths) * self.size
        cells += kept["indices"][positions]
        weights = kept["data"][positions]
        sums = np.bincount(cells, weights=weights, minlength=out_shape[0] * self.size)
        return sums.reshape(out_shape).astype(np.float32)


class BM25Retriever:
    """Lexical retrieval (the default): BM25 with parameters ``k1`` and ``b``."""

    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b

    def build(self, chunks: Sequence[Chunk]) -> BM25Index:
        return BM25Index(chunks, self.k1, self.b)


def make_retriever(config: RetrievalConfig) -> BM25Retriever:
    """The ``bm25`` retriever's factory (components.RETRIEVERS)."""
    return BM25Retriever()


__all__ = ["STOPWORDS", "BM25Index", "BM25Retriever", "bm25_terms", "make_retriever"]
