"""Retrieval on real text: BM25 / dense / hybrid behind one protocol, the per-context index."""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from longjudge.errors import ConfigError
from longjudge.retrieval import (
    BM25Retriever,
    DenseRetriever,
    EvidenceIndex,
    Hit,
    HybridRetriever,
    Index,
    RetrievalConfig,
    Retriever,
    build_retriever,
)
from longjudge.retrieval.base import ScoringIndex
from longjudge.retrieval.bm25 import bm25_terms, lucene_rows
from longjudge.retrieval.config import dense_available, resolve_method
from longjudge.retrieval.dense import load_model
from longjudge.retrieval.hybrid import HybridIndex, rrf
from longjudge.retrieval.select import (
    clauses,
    excerpts,
    mix_context,
    pick,
    share_budget,
    smooth,
)
from longjudge.text import token_windows
from longjudge.types import Chunk
from tests.conftest import SHARED_DATA

TOWNS = " ".join(
    f"Town {name} sits by the {river} river. Its harbour handles {n} ships every year."
    for name, river, n in [
        ("Alder", "Mole", 120), ("Birch", "Wey", 45), ("Cedar", "Arun", 300),
        ("Dunmore", "Severn", 12), ("Elm", "Tamar", 78), ("Fen", "Ouse", 9),
    ]
)
CHINESE = "".join(
    f"{city}位于{river}沿岸。{city}的港口每年接待{n}艘船。"
    for city, river, n in [("北海", "珠江", 120), ("南山", "长江", 45), ("西林", "黄河", 300)]
)


def windows(text: str, size: int = 16) -> list[Chunk]:
    return token_windows(text, size)


def test_bm25_terms_english_and_chinese() -> None:
    assert bm25_terms("The cities of the harbours were busy") == ["city", "harbour", "busy"]
    assert bm25_terms("北海港口") == ["北海", "海港", "港口"]
    assert bm25_terms("a 5 x") == ["5"]


def test_protocols() -> None:
    for retriever in (BM25Retriever(), DenseRetriever(), HybridRetriever()):
        assert isinstance(retriever, Retriever)
    assert isinstance(BM25Retriever().build(windows(TOWNS)), Index)


def which(chunks: Sequence[Chunk], hits: list[Hit], needle: str) -> bool:
    return bool(hits) and needle in chunks[hits[0].chunk_index].text


def test_bm25_finds_the_window_english_and_chinese() -> None:
    chunks = windows(TOWNS)
    index = BM25Retriever().build(chunks)
    assert which(chunks, index.search("Which river is Dunmore on?", 3), "Dunmore")
    assert index.search("zebra quantum", 3) == []  # no shared term: nothing, not noise
    zh = windows(CHINESE, 12)
    zh_index = BM25Retriever().build(zh)
    assert which(zh, zh_index.search("西林的港口", 2), "西林")


def test_search_many_equals_search_and_k_is_bounded() -> None:
    chunks = windows(TOWNS)
    index = BM25Retriever().build(chunks)
    queries = ["Elm harbour ships", "Cedar Arun", "Fen Ouse river"]
    assert index.search_many(queries, 2) == [index.search(q, 2) for q in queries]
    assert len(index.search("Town harbour river", 100)) == len(chunks)
    assert BM25Retriever().build([]).search("anything", 5) == []


def _bm25s_scores(corpus: list[list[str]], query: list[str]) -> np.ndarray:
    """What bm25s itself (the reference implementation, Lucene variant) gives ``query``."""
    import bm25s

    reference = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    reference.index(corpus, show_progress=False)
    ids = sorted({reference.vocab_dict[t] for t in query if t in reference.vocab_dict})
    size = len(corpus)
    return reference.get_scores_from_ids(ids) if ids else np.zeros(size, dtype=np.float32)


def test_bm25_scores_equal_those_of_bm25s() -> None:
    # the index is built by longjudge (one numpy pass) and a batch is scored at once; every
    # row must be what bm25s gives that query (English, Chinese, repeated terms, no shared
    # term, and random corpora with empty windows)
    for text, size, queries in [
        (TOWNS, 16, ["Elm harbour ships ships", "Cedar Arun", "zebra", "", "Town river harbour"]),
        (CHINESE, 12, ["西林的港口", "长江", "北海北海港口"]),
    ]:
        chunks = windows(text, size)
        index = BM25Retriever().build(chunks)
        batch = index.scores_many(queries)
        corpus = [bm25_terms(c.text) for c in chunks]
        for row, query in enumerate(queries):
            expected = _bm25s_scores(corpus, bm25_terms(query))
            np.testing.assert_allclose(batch[row], expected, rtol=1e-5, atol=1e-6)
        assert batch.shape == (len(queries), index.size) and batch.dtype == np.float32
    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in range(40)]
    for _ in range(30):
        corpus = [
            list(rng.choice(words, size=int(rng.integers(0, 30))))
            for _ in range(int(rng.integers(2, 25)))
        ]
        if not any(corpus):
            continue
        vocab, indptr, indices, data = lucene_rows(corpus, 1.5, 0.75)
        assert indptr[-1] == indices.size == data.size
        query = list(rng.choice(words, size=4))
        ours = np.zeros(len(corpus))
        for term in set(query) & set(vocab):
            row = slice(indptr[vocab[term]], indptr[vocab[term] + 1])
            ours[indices[row]] += data[row]
        np.testing.assert_allclose(ours, _bm25s_scores(corpus, query), rtol=1e-5, atol=1e-6)


def test_rrf_fuses_ranks() -> None:
    a = [Hit(0, 9.0), Hit(1, 5.0), Hit(2, 1.0)]
    b = [Hit(1, 0.9), Hit(2, 0.8)]
    fused = rrf([a, b], 3, 60)
    assert [h.chunk_index for h in fused] == [1, 2, 0]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[2].score == pytest.approx(1 / 61)
    assert [h.chunk_index for h in rrf([a, b], 1, 60)] == [1]


class CountingModel:
    """The real embedding model, with its encode calls counted."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[int] = []

    def encode(self, texts: list[str], **kw: Any) -> Any:
        self.calls.append(len(texts))
        return self.model.encode(texts, **kw)


def test_dense_model_is_shared_and_queries_are_batched() -> None:
    pytest.importorskip("sentence_transformers")
    assert load_model(None) is load_model(None)
    chunks = windows(TOWNS)
    index = DenseRetriever().build(chunks)
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-4)
    counting = CountingModel(index._model)
    index._model = counting
    queries = ["Which harbour handles three hundred ships?", "the Severn", "Fen"]
    batched = index.search_many(queries, 2)
    assert counting.calls == [3]  # one encoder call for the whole batch
    assert which(chunks, batched[0], "Cedar")
    single = [index.search(q, 2) for q in queries]
    assert [[h.chunk_index for h in hits] for hits in single] == [
        [h.chunk_index for h in hits] for hits in batched
    ]


def test_config_and_factory() -> None:
    default = RetrievalConfig()
    assert default.method == "auto" and default.budget_tokens == 640
    expected = "hybrid" if dense_available() else "bm25"
    assert resolve_method(default) == expected
    assert build_retriever(default).name == expected
    assert isinstance(build_retriever(RetrievalConfig(method="bm25")), BM25Retriever)
    assert isinstance(build_retriever(RetrievalConfig(method="dense")), DenseRetriever)
    hybrid = build_retriever(RetrievalConfig(method="hybrid", rrf_k=10))
    assert isinstance(hybrid, HybridRetriever) and hybrid.rrf_k == 10
    with pytest.raises(ValueError):
        RetrievalConfig.model_validate({"method": "bm25", "topk": 3})
    with pytest.raises(ConfigError):
        DenseRetriever("/nonexistent/model").build(windows(TOWNS))


def test_evidence_index_document_order_offsets_and_question() -> None:
    context = TOWNS
    cfg = RetrievalConfig(method="bm25", top_k=3, window_tokens=16, budget_tokens=640)
    index = EvidenceIndex.build(context, cfg)
    evidence = index.evidence("It handles 45 ships.", question="What about Town Birch?")
    assert 1 <= sum(e.windows for e in evidence) <= 3
    assert [e.start for e in evidence] == sorted(e.start for e in evidence)
    for ev in evidence:  # an excerpt is one window or neighbouring windows merged
        first, last = index.chunks[ev.chunk_index], index.chunks[ev.chunk_index + ev.windows - 1]
        assert (ev.start, ev.end) == (first.start, last.end)
        assert ev.n_tokens == sum(
            c.n_tokens for c in index.chunks[ev.chunk_index : ev.chunk_index + ev.windows]
        )
    assert any("Birch" in context[e.start : e.end] for e in evidence)
    assert index.query("S.", "Q?") == "Q?\nS."
    alone = EvidenceIndex.build(context, cfg.model_copy(update={"query_with_question": False}))
    assert alone.query("S.", "Q?") == "S."
    solo = EvidenceIndex.build(context, cfg.model_copy(update={"context_weight": 0.0}))
    batch = solo.evidence_many(["It handles 45 ships.", "Fen by the Ouse"], "What about Birch?")
    assert batch[0] == solo.evidence("It handles 45 ships.", "What about Birch?")
    # with the response's context, a statement's neighbours weigh in
    mixed = index.evidence_many(["It handles 45 ships.", "Fen by the Ouse"], "What about Birch?")
    assert mixed[0] != batch[0] or mixed[1] != solo.evidence("Fen by the Ouse", "What about Birch?")


class CountingRetriever:
    """A real BM25 retriever whose builds and searches are counted."""

    name = "bm25"

    def __init__(self) -> None:
        self.builds = 0
        self.searches = 0
        self.inner = BM25Retriever()

    def build(self, chunks: Sequence[Chunk]) -> Index:
        self.builds += 1
        inner = self.inner.build(chunks)
        outer = self

        class Counted:
            def search(self, query: str, k: int) -> list[Hit]:
                return self.search_many([query], k)[0]

            def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
                outer.searches += len(queries)
                return inner.search_many(queries, k)

        return Counted()


def test_index_is_built_once_and_repeated_statements_are_remembered() -> None:
    counting = CountingRetriever()
    index = EvidenceIndex.build(
        TOWNS, RetrievalConfig(window_tokens=16, context_weight=0), retriever=counting
    )
    for _ in range(3):  # three candidates stating the same things
        for statement in ("Alder handles 120 ships.", "Elm is on the Tamar."):
            index.evidence(statement, "Tell me about the towns.")
    assert counting.builds == 1
    assert counting.searches == 2


def test_longreward_builds_one_index_per_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    from longjudge.judges.mock import MockJudge
    from longjudge.runtime.client import JudgeClient
    from longjudge.scorers.longreward import LongReward, LongRewardConfig
    from longjudge.types import Candidate, Example
    from tests.conftest import FAST_RETRY
    from tests.lr_script import LRScript

    built: list[str] = []
    real_build = EvidenceIndex.build.__func__  # type: ignore[attr-defined]

    def counting_build(cls: type[EvidenceIndex], context: str, *a: Any, **kw: Any) -> Any:
        built.append(context)
        return real_build(cls, context, *a, **kw)

    monkeypatch.setattr(EvidenceIndex, "build", classmethod(counting_build))
    client = JudgeClient(MockJudge(LRScript()), retry=FAST_RETRY)
    config = LongRewardConfig(dimensions=["faithfulness"], retrieval={"method": "bm25"})  # type: ignore[arg-type]
    scorer = LongReward(client, config)
    example = Example(id="t", context=TOWNS, query="Which harbours are busy?")
    candidates = [
        Candidate(id=f"t-{i}", example_id="t", text=f"Town Cedar handles {i} ships FULL.")
        for i in range(4)
    ]
    rewards = scorer.score_sync(example, candidates)
    assert len(built) == 1
    assert all(r.status == "scored" for r in rewards)
    ev = rewards[0].dimensions["faithfulness"].details["statements"][0]["evidence"]
    assert ev and "Cedar" in "".join(TOWNS[e["start"] : e["end"]] for e in ev)


def test_budget_smoothing_context_and_exclusion() -> None:
    scores = np.array([[0.0, 5.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 4.0, 0.0]])
    mixed = mix_context(scores, 0.5)
    assert mixed[0].tolist() == [0.0, 5.0, 0.0, 2.0, 1.0]  # the next statement's windows
    smoothed = smooth(scores[:1], 0.5, 1)
    assert smoothed[0].tolist() == [2.5, 5.0, 2.5, 0.5, 1.0]
    tokens = np.array([10, 10, 10, 10, 10])
    assert pick(smoothed[0], tokens, 25, 10) == [1, 0]  # best first, until the budget
    assert pick(smoothed[0], tokens, 100, 2) == [1, 0]  # top_k caps
    assert pick(smoothed[0], tokens, 100, 10, {1}) == [0, 2, 4, 3]
    assert pick(scores[1], tokens, 100, 10, positive_only=True) == [3]
    assert pick(smoothed[0], tokens, 25, 10, first=4) == [4, 1]  # the statement's own best
    chunks = windows(TOWNS, 8)[:5]
    merged = excerpts(chunks, [3, 0, 1], smoothed[0])
    assert [(e.chunk_index, e.windows) for e in merged] == [(0, 2), (3, 1)]
    assert (merged[0].start, merged[0].end) == (chunks[0].start, chunks[1].end)
    assert merged[0].score == 5.0


def test_evidence_stays_within_the_budget_and_second_look_shows_new_windows() -> None:
    cfg = RetrievalConfig(method="bm25", window_tokens=8, budget_tokens=24, top_k=10)
    index = EvidenceIndex.build(TOWNS * 3, cfg)
    statements = ["Cedar handles 300 ships.", "It is on the Arun.", "Fen is small."]
    first = index.evidence_many(statements, "Tell me about Cedar.")
    shown = [sum(e.n_tokens for e in ev) for ev in first]
    assert all(n > 0 for n in shown) and sum(shown) <= 24 * len(statements)  # shared budget
    alone = EvidenceIndex.build(TOWNS * 3, cfg.model_copy(update={"share_budget": False}))
    for ev in alone.evidence_many(statements, "Tell me about Cedar."):
        assert 0 < sum(e.n_tokens for e in ev) <= 24
    more = index.evidence_many(statements, "Tell me about Cedar.", exclude=first, budget=16)
    for old, new in zip(first, more, strict=True):
        seen = {(e.start, e.end) for e in old}
        assert all((e.start, e.end) not in seen for e in new)
        assert all(not (o.start < n.end and n.start < o.end) for o in old for n in new)
        assert sum(e.n_tokens for e in new) <= 16
    # the question and the neighbouring statement lead "It is on the Arun." to Cedar
    assert any("Arun" in (TOWNS * 3)[e.start : e.end] for e in first[1])


def test_hybrid_zscore_fusion_standardises_each_part() -> None:
    pytest.importorskip("sentence_transformers")
    chunks = windows(TOWNS)
    hybrid = HybridRetriever(fusion="zscore").build(chunks)
    matrix = hybrid.scores_many(["Which harbour handles 300 ships?"])
    assert matrix.shape == (1, len(chunks))
    assert abs(float(matrix.mean())) < 1e-6  # a sum of two standardised rows
    assert which(chunks, hybrid.search("Which harbour handles 300 ships?", 1), "Cedar")


# --- WiCE: real claims, real cited pages --------------------------------------------------

WICE = SHARED_DATA / "wice_dev" / "dev.jsonl"


def wice_rows(limit: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in WICE.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if any(s for s in r["supporting_sentences"])][:limit]


def covered(span: tuple[int, int], chunks: list[Chunk], picked: set[int]) -> bool:
    """Whether every window overlapping ``span`` was retrieved."""
    starts = [c.start for c in chunks]
    first = bisect_right(starts, span[0]) - 1
    last = bisect_right(starts, span[1] - 1) - 1
    return all(j in picked for j in range(first, last + 1))


def page(row: dict[str, Any]) -> tuple[list[Chunk], list[tuple[int, int]]]:
    """The cited page's 128-token windows and each evidence sentence's span."""
    spans, pos = [], 0
    for sentence in row["evidence"]:
        spans.append((pos, pos + len(sentence)))
        pos += len(sentence) + 1
    return token_windows(" ".join(row["evidence"]), 128), spans


def found(row: dict[str, Any], chunks: list[Chunk], spans: list[tuple[int, int]],
          hits: list[Hit]) -> bool:
    """Whether one gold sentence set lies entirely inside the retrieved windows."""
    picked = {h.chunk_index for h in hits}
    return any(
        gold and all(covered(spans[i], chunks, picked) for i in gold)
        for gold in row["supporting_sentences"]
    )


def test_wice_bm25_finds_gold_evidence() -> None:
    rows = wice_rows(60)
    hits = 0
    for row in rows:
        chunks, spans = page(row)
        hits += found(row, chunks, spans, BM25Retriever().build(chunks).search(row["claim"], 5))
    print(f"WiCE bm25 recall@5 over {len(rows)} claims: {hits / len(rows):.1%}")
    assert hits / len(rows) >= 0.6


def test_wice_dense_and_hybrid_find_gold_evidence() -> None:
    pytest.importorskip("sentence_transformers")
    rows = wice_rows(12)
    dense_hits = hybrid_hits = 0
    for row in rows:
        chunks, spans = page(row)
        dense = DenseRetriever().build(chunks)
        hybrid = HybridIndex([BM25Retriever().build(chunks), dense], rrf_k=60)
        dense_hits += found(row, chunks, spans, dense.search(row["claim"], 5))
        hybrid_hits += found(row, chunks, spans, hybrid.search(row["claim"], 5))
    print(f"WiCE recall@5 over {len(rows)} claims: dense {dense_hits / len(rows):.1%}, "
          f"hybrid {hybrid_hits / len(rows):.1%}")
    assert dense_hits / len(rows) >= 0.5
    assert hybrid_hits / len(rows) >= 0.5


def _pick_full_scan(
    scores: np.ndarray, tokens: np.ndarray, budget: int, top_k: int, positive_only: bool
) -> list[int]:
    # The definition: walk every window best first, take each one that still fits.
    chosen: list[int] = []
    used = 0
    for i in np.lexsort((np.arange(scores.size), -scores)):
        score = float(scores[i])
        if not np.isfinite(score) or (positive_only and score <= 0):
            break
        if chosen and used + int(tokens[i]) > budget:
            continue
        chosen.append(int(i))
        used += int(tokens[i])
        if len(chosen) >= top_k or used >= budget:
            break
    return chosen


def test_pick_stops_early_only_when_nothing_else_could_fit() -> None:
    rng = np.random.default_rng(3)
    for _ in range(500):
        n = int(rng.integers(1, 40))
        scores = rng.normal(size=n)
        scores[rng.random(n) < 0.1] = -np.inf
        tokens = rng.integers(1, 90, size=n)
        budget, top_k = int(rng.integers(1, 400)), int(rng.integers(1, 12))
        for positive_only in (False, True):
            expected = _pick_full_scan(scores, tokens, budget, top_k, positive_only)
            got = pick(scores, tokens, budget, top_k, positive_only=positive_only)
            assert got == expected


def _pick_walk(
    scores: np.ndarray,
    tokens: np.ndarray,
    budget: int,
    top_k: int,
    banned: set[int],
    positive_only: bool,
    first: int | None,
) -> list[int]:
    """``pick`` as a plain walk over every window, best first (``first`` before the others)."""
    order = sorted(range(scores.size), key=lambda i: (-scores[i], i))
    if first is not None and np.isfinite(scores[first]) and (
        not positive_only or scores[first] > 0
    ):
        order = [first] + [i for i in order if i != first]
    chosen: list[int] = []
    used = 0
    smallest = int(tokens.min())
    for i in order:
        if not np.isfinite(scores[i]) or (positive_only and scores[i] <= 0):
            break
        if i in banned or (chosen and used + int(tokens[i]) > budget):
            continue
        chosen.append(i)
        used += int(tokens[i])
        if len(chosen) >= top_k or used >= budget or used + smallest > budget:
            break
    return chosen


def test_pick_equals_a_walk_over_every_window_with_first_and_banned_windows() -> None:
    rng = np.random.default_rng(11)
    for _ in range(800):
        n = int(rng.integers(1, 60))
        scores = rng.normal(size=n).round(1)  # ties too
        scores[rng.random(n) < 0.15] = -np.inf
        tokens = rng.integers(1, 90, size=n)
        budget, top_k = int(rng.integers(1, 700)), int(rng.integers(1, 25))
        banned = {int(b) for b in rng.integers(0, n, size=int(rng.integers(0, 4)))}
        first = int(rng.integers(0, n)) if rng.random() < 0.5 else None
        for positive_only in (False, True):
            expected = _pick_walk(scores, tokens, budget, top_k, banned, positive_only, first)
            got = pick(
                scores, tokens, budget, top_k, banned, positive_only=positive_only, first=first
            )
            assert got == expected


def test_share_budget_gives_vague_statements_more_and_keeps_the_mean() -> None:
    best = np.array([8.0, 2.0, 4.0, 4.0])
    shares = share_budget(best, 100)
    assert sum(shares) <= 400
    assert shares[1] > shares[2] == shares[3] > shares[0]  # the vaguest gets the most
    assert all(20 <= s <= 400 for s in shares)
    # bounds: a statement with no match gets at most 4x, a perfect one at least 0.2x
    bounded = share_budget(np.array([0.0, 50.0, 50.0, 50.0, 50.0]), 100)
    assert bounded[0] == 400 and min(bounded) >= 20 and sum(bounded) <= 500
    assert share_budget(np.array([3.0]), 100) == [100]  # one statement: the budget itself
    assert share_budget(np.array([]), 100) == []
    rng = np.random.default_rng(5)
    for _ in range(200):
        values = rng.gamma(2.0, 2.0, size=int(rng.integers(1, 30)))
        values[rng.random(values.size) < 0.1] = -np.inf
        budget = int(rng.integers(8, 2000))
        got = share_budget(values, budget)
        assert len(got) == values.size and sum(got) <= budget * values.size
        assert all(int(0.2 * budget) <= g <= 4 * budget for g in got)
        if values.size > 1:  # the whole budget is shared out (less the rounding down)
            assert sum(got) >= budget * values.size - values.size


class _FixedIndex(ScoringIndex):
    """Scores given up front, with an optional best cosine similarity per query."""

    def __init__(self, rows: dict[str, list[float]], similarity: dict[str, float] | None) -> None:
        self.rows = rows
        self.similarity = similarity

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        return np.array([self.rows[q] for q in queries], dtype=np.float64)

    def scores_and_similarity(
        self, queries: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if self.similarity is None:
            return self.scores_many(queries), None
        return self.scores_many(queries), np.array([self.similarity[q] for q in queries])


def test_a_close_match_is_not_smoothed_and_keeps_far_apart_windows() -> None:
    # A claim that restates two far-apart windows (0 and 6); window 2 sits between two good
    # ones and wins once scores are smoothed along the document.
    chunks = tuple(windows(TOWNS * 2, 8)[:8])
    row = [5.0, 0.0, 3.0, 0.0, 3.0, 0.0, 4.0, 0.0]
    cfg = RetrievalConfig(
        budget_tokens=2 * max(c.n_tokens for c in chunks), neighbour_weight=0.5,
        neighbour_radius=1, context_weight=0.0,
    )
    def picked(similarity: dict[str, float] | None, close: float | None) -> set[int]:
        config = cfg.model_copy(update={"close_match_similarity": close})
        index = EvidenceIndex(chunks, _FixedIndex({"claim": row}, similarity), config)
        found = index.evidence("claim")
        return {i for ev in found for i in range(ev.chunk_index, ev.chunk_index + ev.windows)}
    assert picked({"claim": 0.8}, 0.6) == {0, 6}  # close: the raw scores decide
    assert 6 not in picked({"claim": 0.4}, 0.6)  # vague: smoothed, the middle run wins
    assert 6 not in picked({"claim": 0.8}, None)  # gate off
    assert 6 not in picked(None, 0.6)  # no similarity known (bm25): always smoothed


def test_bm25_terms_split_words_and_cjk_as_one_lookahead_pattern_did() -> None:
    # the reference: the pattern that split CJK runs from other word runs in one pass
    import re

    from longjudge.retrieval.bm25 import STOPWORDS, _stem
    from longjudge.text.tokenizer import CJK_RANGES

    pattern = re.compile(rf"[{CJK_RANGES}]+|(?:(?![{CJK_RANGES}])[^\W_])+")
    cjk = re.compile(f"[{CJK_RANGES}]")

    def reference(text: str) -> list[str]:
        out: list[str] = []
        for run in pattern.findall(text.lower()):
            if cjk.match(run):
                out += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
            elif run not in STOPWORDS and (len(run) > 1 or run.isdigit()):
                out.append(_stem(run))
        return out

    alphabet = [*"abcS xyz_9.-,", "港", "口", "・", "⺀", "ア", "한", "é", "ß", " "]
    rng = np.random.default_rng(8)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 24))))
        assert bm25_terms(text) == reference(text), text
    assert bm25_terms("The ships of 港口北海 sail_on") == reference("The ships of 港口北海 sail_on")


def test_smoothing_passes_on_what_the_window_gives() -> None:
    scores = np.array([[1.0, 4.0, 1.0, 0.0]])
    lexical = np.array([[0.0, 2.0, 0.0, -np.inf]])
    # each window adds 0.5 times its neighbours' *passed* value, keeps its own score
    assert smooth(scores, 0.5, 1, lexical)[0].tolist() == [2.0, 4.0, 2.0, 0.0]
    assert smooth(scores, 0.5, 1)[0].tolist() == smooth(scores, 0.5, 1, scores)[0].tolist()
    assert smooth(scores, 0.0, 1, lexical) is scores  # off


def test_clauses_split_a_statement_that_joins_facts() -> None:
    claim = (
        "The council approved the new harbour bridge in 2012, which opened to heavy traffic "
        "in 2016 and carried 40,000 cars every day"
    )
    assert clauses(claim) == [
        "The council approved the new harbour bridge in 2012",
        "which opened to heavy traffic in 2016",
        "carried 40,000 cars every day",
    ]
    assert clauses("He is puzzled by this.") == ["He is puzzled by this."]  # too short to split
    # a short piece joins the next one; a short tail joins the last clause
    assert clauses("Tom, a baker, sold bread and cakes to the whole village of Elm") == [
        "Tom a baker sold bread", "cakes to the whole village of Elm"
    ]
    assert clauses("") == [""]


def test_pick_takes_several_firsts_in_order() -> None:
    scores = np.array([5.0, 4.0, 3.0, -np.inf, 1.0])
    tokens = np.array([10, 10, 10, 10, 10])
    assert pick(scores, tokens, 30, 10, first=[4, 2]) == [4, 2, 0]
    assert pick(scores, tokens, 30, 10, first=[3, 4, 4]) == [4, 0, 1]  # -inf is not eligible
    assert pick(scores, tokens, 30, 10, {4}, first=[4, 2]) == [2, 0, 1]  # banned stays out
    assert pick(scores, tokens, 30, 10, first=[]) == [0, 1, 2]


def test_each_clause_of_a_multi_fact_claim_gets_its_best_window() -> None:
    # The claim's own scores favour window 3 and the run around it; each of its two facts is
    # best matched far away (windows 0 and 7), which only the clause queries find.
    chunks = tuple(windows(TOWNS * 2, 8)[:8])
    claim = "Town Alder exported salted fish, while town Fen mined silver ore"
    first, second = clauses(claim)
    rows = {
        claim: [2.0, 0.0, 3.0, 5.0, 3.0, 0.0, 0.0, 1.0],
        first: [4.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        second: [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 4.0],
    }
    cfg = RetrievalConfig(
        budget_tokens=4 * max(c.n_tokens for c in chunks), context_weight=0.0,
        neighbour_weight=0.0,
    )

    def picked(clause_windows: int) -> set[int]:
        config = cfg.model_copy(update={"clause_windows": clause_windows})
        index = EvidenceIndex(chunks, _FixedIndex(rows, None), config)
        found = index.evidence(claim)
        return {i for ev in found for i in range(ev.chunk_index, ev.chunk_index + ev.windows)}

    assert picked(0) == {0, 2, 3, 4}  # the claim's ranking alone misses the second fact
    assert picked(4) == {0, 2, 3, 7}  # its own best, each clause's best, then the ranking
    assert picked(1) == {0, 2, 3, 4}  # only the first clause (its best is window 0)


class _PartIndex(ScoringIndex):
    def __init__(self, row: list[float]) -> None:
        self.row = row

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        return np.array([self.row for _ in queries], dtype=np.float64)


def test_hybrid_passes_on_its_bm25_part_to_the_neighbours() -> None:
    lexical = [0.0, 0.0, 6.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    dense = [0.0, 0.0, 0.0, 0.0, 0.0, 6.0, 0.0, 0.0]
    hybrid = HybridIndex(
        [_PartIndex(lexical), _PartIndex(dense)], 60.0, neighbour_weights=[1.5, 0.0]
    )
    fused, passed, _ = hybrid.scored_for_smoothing(["q"])
    zl = (np.array(lexical) - np.mean(lexical)) / np.std(lexical)
    zd = (np.array(dense) - np.mean(dense)) / np.std(dense)
    assert np.allclose(fused[0], zl + zd) and passed is not None
    assert np.allclose(passed[0], 1.5 * zl)
    assert HybridIndex([_PartIndex(lexical)], 60.0).scored_for_smoothing(["q"])[1] is None
    assert HybridIndex([_PartIndex(lexical)], 60.0, "rrf", None, [1.0]).scored_for_smoothing(
        ["q"]
    )[1] is None
    # in the evidence index, the windows next to the word match (1, 3) gain, not those next
    # to the dense peak (4, 6)
    chunks = tuple(windows(TOWNS * 2, 8)[:8])
    cfg = RetrievalConfig(context_weight=0.0, neighbour_radius=1, clause_windows=0)
    index = EvidenceIndex(chunks, hybrid, cfg)
    smoothed = index._final_scores(["q"], "")[1][0]
    assert np.allclose(smoothed[[1, 3]], fused[0][[1, 3]] + 0.5 * 1.5 * zl[2] + 0.5 * 1.5 * zl[0])
    assert np.allclose(smoothed[[4, 6]], fused[0][[4, 6]] + 1.5 * zl[0])
