"""Retrieval at length: index build and per-statement query time at 8k, 32k and 128k tokens.

The long context is real text: the bundled LongReward example article followed by WiCE cited
pages, cut at the wanted number of tokens (the default regex tokenizer). Statements are WiCE
claims, each asked with a fixed question as the retrieval query does by default. Build = cut
into 128-token sentence-aligned windows + index them; query = one statement at a time, and
the same statements in one batch (``evidence_many``); single-query times are medians (the
machine is shared), BM25 builds the best of three. Prints figures and growth ratios.

    .venv/bin/python bench/retrieval_length.py [--methods bm25,dense] [--statements 50]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from longjudge.retrieval import EvidenceIndex, RetrievalConfig, build_retriever
from longjudge.text import RegexTokenizer, token_windows

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SIZES = (8_000, 32_000, 128_000)
QUESTION = "What does the document say about this?"


def long_text(tokens: int) -> str:
    line = (DATA / "longreward_example" / "sft.jsonl").read_text(encoding="utf-8").splitlines()[0]
    parts = [json.loads(line)["context"]]
    for row in (DATA / "wice_dev" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        parts.append(" ".join(json.loads(row)["evidence"]))
    text = "\n\n".join(parts)
    spans = RegexTokenizer().spans(text)
    if len(spans) <= tokens:
        raise SystemExit(f"only {len(spans)} tokens of text available")
    return text[: spans[tokens][0]]


def claims(n: int) -> list[str]:
    rows = (DATA / "wice_dev" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(r)["claim"] for r in rows[-n:]]


def measure(method: str, text: str, statements: list[str]) -> tuple[float, float, float, int]:
    """(build s, median ms per single query, ms per statement batched, windows)."""
    cfg = RetrievalConfig(method=method)
    retriever = build_retriever(cfg)
    builds = []
    for _ in range(3 if method == "bm25" else 1):  # best of 3 where it is cheap
        t0 = time.perf_counter()
        index = EvidenceIndex.build(text, cfg, retriever=retriever)
        builds.append(time.perf_counter() - t0)
    singles = []
    for statement in statements:
        t0 = time.perf_counter()
        index.evidence(statement, QUESTION)
        singles.append(time.perf_counter() - t0)
    fresh = EvidenceIndex(index.chunks, index.index, cfg)  # no memory of past queries
    t0 = time.perf_counter()
    fresh.evidence_many(statements, QUESTION)
    batched = time.perf_counter() - t0
    n = len(statements)
    return min(builds), 1000 * statistics.median(singles), 1000 * batched / n, len(index.chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="bm25,dense")
    parser.add_argument("--statements", type=int, default=50)
    args = parser.parse_args()
    statements = claims(args.statements)
    texts = {size: long_text(size) for size in SIZES}
    tok = RegexTokenizer()
    print(f"{len(statements)} statements; 128-token sentence-aligned windows; top 5")
    for size, text in texts.items():
        t0 = time.perf_counter()
        token_windows(text, 128, tok)
        print(
            f"windows only  {size // 1000:>4}k tokens ({len(text):>9,} chars): "
            f"{1000 * (time.perf_counter() - t0):7.1f} ms"
        )
    for method in args.methods.split(","):
        # imports, model loading and the first batches outside the timings
        warm = token_windows(texts[SIZES[0]], 128, tok)[:32]
        build_retriever(RetrievalConfig(method=method)).build(warm).search("warm", 1)
        results = {size: measure(method, text, statements) for size, text in texts.items()}
        for size, (build, one, batch, n_windows) in results.items():
            print(
                f"{method:6s} {size // 1000:>4}k tokens {n_windows:>5} windows: build "
                f"{build:8.3f} s  query {one:7.2f} ms/statement  batched {batch:7.2f} ms"
            )
        for small, large in itertools.pairwise(SIZES):
            b = results[large][0] / results[small][0]
            q = results[large][1] / results[small][1]
            print(
                f"{method:6s} growth {small // 1000}k -> {large // 1000}k (x{large // small}): "
                f"build x{b:.1f}, query x{q:.1f}"
            )


if __name__ == "__main__":
    main()
