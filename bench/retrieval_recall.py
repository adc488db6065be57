"""Evidence recall@k of BM25, dense and hybrid retrieval on WiCE dev (prints figures).

Each claim's cited web page (its list of evidence sentences, joined) is cut into 128-token
windows (sentence-aligned, the default tokenizer); the top 5 windows are retrieved for the
claim. A claim counts as found when, for at least one of its alternative gold evidence sets,
every gold sentence lies inside the retrieved windows; "sentences covered" is the share of
gold sentences (of each claim's best set) inside them. Claims without gold evidence are left
out.

    .venv/bin/python bench/retrieval_recall.py [--limit N] [--join newline|space] [--k 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from bisect import bisect_right
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from longjudge.retrieval import RetrievalConfig, build_retriever
from longjudge.text import token_windows
from longjudge.types import Chunk

WICE = Path(__file__).resolve().parents[2] / "shared" / "data" / "wice_dev" / "dev.jsonl"


def load(limit: int | None) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in WICE.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if any(s for s in r["supporting_sentences"])]
    return rows[:limit] if limit else rows


def layout(sentences: list[str], joiner: str) -> tuple[str, list[tuple[int, int]]]:
    """The joined page and each evidence sentence's character span in it."""
    spans, pos = [], 0
    for sentence in sentences:
        spans.append((pos, pos + len(sentence)))
        pos += len(sentence) + len(joiner)
    return joiner.join(sentences), spans


def covered(span: tuple[int, int], chunks: list[Chunk], picked: set[int]) -> bool:
    """Whether every window overlapping ``span`` was retrieved."""
    starts = [c.start for c in chunks]
    first = bisect_right(starts, span[0]) - 1
    last = bisect_right(starts, max(span[0], span[1] - 1)) - 1
    return all(i in picked for i in range(first, last + 1))


def score_claim(
    row: dict[str, Any], chunks: list[Chunk], spans: list[tuple[int, int]], picked: set[int]
) -> tuple[bool, int, int]:
    """(all gold found for some set, gold sentences covered, gold sentences) for the best set."""
    best = (False, -1.0, 0, 1)
    for gold in row["supporting_sentences"]:
        if not gold:
            continue
        hits = sum(covered(spans[i], chunks, picked) for i in gold)
        frac = hits / len(gold)
        if frac > best[1]:
            best = (hits == len(gold), frac, hits, len(gold))
    return best[0], best[2], best[3]


def run(method: str, rows: list[dict[str, Any]], joiner: str, k: int, window: int) -> None:
    cfg = RetrievalConfig(method=method, top_k=k, window_tokens=window)
    retriever = build_retriever(cfg)
    warm = [Chunk(index=0, start=0, end=4, text="warm", n_tokens=1)]
    retriever.build(warm).search("warm", 1)  # imports and model loading outside the timings
    found = sent_hit = sent_all = n_windows = 0
    t_build = t_query = 0.0
    for row in rows:
        text, spans = layout(row["evidence"], joiner)
        t0 = time.perf_counter()
        chunks = token_windows(text, window, None, align_sentences=cfg.align_sentences)
        index = retriever.build(chunks)
        t1 = time.perf_counter()
        hits = index.search(row["claim"], k)
        t_query += time.perf_counter() - t1
        t_build += t1 - t0
        ok, hit, total = score_claim(row, chunks, spans, {h.chunk_index for h in hits})
        found += ok
        sent_hit += hit
        sent_all += total
        n_windows += len(chunks)
    n = len(rows)
    print(
        f"{method:7s} claims found {found / n:6.1%}  sentences covered {sent_hit / sent_all:6.1%}"
        f"  build {1000 * t_build / n:7.1f} ms/page  query {1000 * t_query / n:6.1f} ms/claim"
        f"  ({n_windows / n:.1f} windows/page)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N claims only")
    parser.add_argument("--join", choices=["newline", "space"], default="space")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--methods", default="bm25,dense,hybrid")
    args = parser.parse_args()
    rows = load(args.limit)
    joiner = "\n" if args.join == "newline" else " "
    print(
        f"WiCE dev: {len(rows)} claims with gold evidence; {args.window}-token windows, "
        f"top {args.k}, sentences joined by {args.join}"
    )
    for method in args.methods.split(","):
        run(method, rows, joiner, args.k, args.window)


if __name__ == "__main__":
    main()
