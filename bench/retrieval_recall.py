"""Evidence recall of every retrieval method on two sets, at a stated evidence budget.

- SQuALITY (LongEval annotations, ../shared/data/longeval_squality_dev): abstractive
  statements (sentences of human summaries of a 5k-6k-token story) with the story sentences
  annotators marked as their support. The statements of one summary are queried together, in
  order, as the statements of one response are (no question). Recall: the share of support
  sentences whose middle lies inside an excerpt shown for the statement.
- WiCE dev (../shared/data/wice_dev): a claim and its cited web page (sentences joined by
  spaces). Claim hit: one of the claim's gold evidence sets lies entirely inside the excerpts.
  Sentences covered: the share of gold sentences (of each claim's best set) inside them.

"tokens" is the mean number of evidence tokens shown per statement (regex tokenizer), however
the windows were cut. "+2nd look" adds the faithfulness second look under an oracle judge: a
statement with any support sentence missing is judged not fully supported and shown its
next-best windows (640 tokens); its tokens count in the mean.

    .venv/bin/python bench/retrieval_recall.py [--wice-limit N] [--methods a,b] [--no-dense]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from longjudge.retrieval import EvidenceIndex, RetrievalConfig
from longjudge.retrieval.config import dense_available
from longjudge.types import Evidence


def _data_dir() -> Path:
    """$LONGJUDGE_DATA, else the nearest ``shared/data`` above the repository."""
    if os.environ.get("LONGJUDGE_DATA"):
        return Path(os.environ["LONGJUDGE_DATA"])
    for parent in Path(__file__).resolve().parents[1:]:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return Path(__file__).resolve().parents[2] / "shared" / "data"


DATA = _data_dir()
SQUALITY = DATA / "longeval_squality_dev"
WICE = DATA / "wice_dev" / "dev.jsonl"

PAPER = {"window_tokens": 128, "budget_tokens": 640, "top_k": 5, "neighbour_weight": 0.0,
         "context_weight": 0.0, "close_match_similarity": None, "share_budget": False,
         "clause_windows": 0}
#: before lexical smoothing and clause windows: the fused score is smoothed
FUSED_SMOOTHED = {"neighbour_lexical": 1.0, "neighbour_dense": 1.0, "clause_windows": 0}
#: the second look's budget in the "+2nd look" columns (off by default in scoring)
SECOND_LOOK = 640
#: label -> settings; "default" is RetrievalConfig() as shipped.
METHODS: dict[str, dict[str, Any]] = {
    "bm25 128x5 (old default)": {**PAPER, "method": "bm25"},
    "dense 128x5": {**PAPER, "method": "dense"},
    "hybrid rrf 128x5": {**PAPER, "method": "hybrid", "fusion": "rrf"},
    "hybrid rrf 128x20 (4x budget)": {
        **PAPER, "method": "hybrid", "fusion": "rrf", "top_k": 20, "budget_tokens": 2560
    },
    "hybrid zscore 128x5": {**PAPER, "method": "hybrid"},
    "hybrid zscore 64-token windows": {
        **PAPER, "method": "hybrid", "window_tokens": 64, "top_k": 20
    },
    "  + smoothing along the document": {
        **PAPER, "method": "hybrid", "window_tokens": 64, "top_k": 20, "neighbour_weight": 0.5,
        "neighbour_lexical": 1.0, "neighbour_dense": 1.0,
    },
    "bm25 default pipeline (no embed extra)": {"method": "bm25"},
    "default, neighbour weight 0.25": {"neighbour_weight": 0.25},
    "earlier default (all smoothed, own budget)": {
        "close_match_similarity": None, "share_budget": False, **FUSED_SMOOTHED
    },
    "previous default (fused scores smoothed)": FUSED_SMOOTHED,
    "default, fused scores smoothed": {"neighbour_lexical": 1.0, "neighbour_dense": 1.0},
    "default, clause windows 4": {"clause_windows": 4},
    "default, every statement smoothed": {"close_match_similarity": None},
    "default, own budget per statement": {"share_budget": False},
    "default (auto)": {},
}


@dataclass
class Result:
    recall: float
    extra: float  # WiCE: sentences covered; SQuALITY: recall with the second look
    tokens: float
    tokens_second: float
    build_ms: float
    query_ms: float


def inside(evidence: list[Evidence], pos: int) -> bool:
    return any(ev.start <= pos < ev.end for ev in evidence)


def shown(evidence: list[Evidence]) -> int:
    return sum(ev.n_tokens for ev in evidence)


def squality(cfg: RetrievalConfig) -> Result:
    docs = {
        d["doc_id"]: d["text"]
        for d in map(json.loads, (SQUALITY / "documents.jsonl").read_text().splitlines())
    }
    units = [json.loads(x) for x in (SQUALITY / "units.jsonl").read_text().splitlines()]
    hit = hit2 = total = tokens = tokens2 = 0
    build = query = 0.0
    for doc_id in sorted({u["doc_id"] for u in units}):
        mine = [u for u in units if u["doc_id"] == doc_id]
        t0 = time.perf_counter()
        index = EvidenceIndex.build(docs[doc_id], cfg)
        t1 = time.perf_counter()
        found = index.evidence_many([u["statement"] for u in mine])
        query += time.perf_counter() - t1
        build += t1 - t0
        more = index.evidence_many(
            [u["statement"] for u in mine], exclude=found, budget=SECOND_LOOK
        )
        for unit, ev, ev2 in zip(mine, found, more, strict=True):
            mids = [(s["start"] + s["end"]) // 2 for s in unit["support"]]
            first = sum(inside(ev, m) for m in mids)
            hit += first
            total += len(mids)
            tokens += shown(ev)
            tokens2 += shown(ev)
            if first < len(mids):
                hit2 += sum(inside(ev + ev2, m) for m in mids)
                tokens2 += shown(ev2)
            else:
                hit2 += first
    n = len(units)
    return Result(
        hit / total, hit2 / total, tokens / n, tokens2 / n, 1000 * build, 1000 * query / n
    )


def wice(cfg: RetrievalConfig, limit: int | None) -> Result:
    rows = [json.loads(line) for line in WICE.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if any(s for s in r["supporting_sentences"])][:limit]
    found = covered = gold_all = tokens = 0
    build = query = 0.0
    for row in rows:
        spans, pos = [], 0
        for sentence in row["evidence"]:
            spans.append((pos, pos + len(sentence)))
            pos += len(sentence) + 1
        t0 = time.perf_counter()
        index = EvidenceIndex.build(" ".join(row["evidence"]), cfg)
        t1 = time.perf_counter()
        ev = index.evidence(row["claim"])
        query += time.perf_counter() - t1
        build += t1 - t0
        tokens += shown(ev)
        best = (False, -1.0, 0, 1)
        for gold in row["supporting_sentences"]:
            if gold:
                ok = [all_inside(ev, spans[i]) for i in gold]
                frac = sum(ok) / len(gold)
                if frac > best[1]:
                    best = (all(ok), frac, sum(ok), len(gold))
        found += best[0]
        covered += best[2]
        gold_all += best[3]
    n = len(rows)
    return Result(found / n, covered / gold_all, tokens / n, tokens / n, 1000 * build / n,
                  1000 * query / n)


def all_inside(evidence: list[Evidence], span: tuple[int, int]) -> bool:
    """Whether the sentence lies inside the excerpts (each of its characters in one)."""
    starts = sorted((ev.start, ev.end) for ev in evidence)
    pos = span[0]
    while pos < span[1]:
        i = bisect_right([s for s, _ in starts], pos) - 1
        if i < 0 or starts[i][1] <= pos:
            return False
        pos = starts[i][1]
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wice-limit", type=int, default=None, help="first N WiCE claims")
    parser.add_argument("--methods", default=None, help="comma-separated labels (substrings)")
    args = parser.parse_args()
    labels = list(METHODS)
    if args.methods:
        wanted = args.methods.split(",")
        labels = [m for m in labels if any(w in m for w in wanted)]
    if not dense_available():
        print("dense retrieval not installed: dense and hybrid rows skipped, auto = bm25")
        labels = [m for m in labels if "dense" not in m and "hybrid" not in m]
    default = RetrievalConfig()
    print(
        f"defaults: method {default.method}, {default.window_tokens}-token windows, budget "
        f"{default.budget_tokens} tokens, neighbour weight {default.neighbour_weight} "
        f"(radius {default.neighbour_radius}; none at similarity >= "
        f"{default.close_match_similarity}), context weight {default.context_weight}, "
        f"shared budget {default.share_budget}, second look {default.second_look_tokens} tokens"
    )
    print(
        f"{'method':44} | {'SQuALITY dev: recall':>20} {'tokens':>6} {'+2nd look':>9} "
        f"{'tokens':>6} {'index ms':>8} | {'WiCE dev: claim hit':>19} {'sent.':>6} "
        f"{'tokens':>6} {'index ms':>8} {'query ms':>8}"
    )
    for label in labels:
        cfg = RetrievalConfig(**METHODS[label])
        s = squality(cfg)
        w = wice(cfg, args.wice_limit)
        print(
            f"{label:44} | {s.recall:20.3f} {s.tokens:6.0f} {s.extra:9.3f} {s.tokens_second:6.0f}"
            f" {s.build_ms:8.0f} | {w.recall:19.3f} {w.extra:6.3f} {w.tokens:6.0f}"
            f" {w.build_ms:8.1f} {w.query_ms:8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
