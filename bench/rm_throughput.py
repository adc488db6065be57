"""Throughput of the hf reward model backend: length-bucketed batches vs fixed-order batches.

Builds the tiny random reward model (``reward_models/tiny.py``) in a temporary directory, makes
mixed-length inputs (responses from a few words to a few hundred), and scores them with the same
batch size twice: sorted by token length and cut into batches (the default), and in input order
(``sort_by_length: false``). Prints real tokens per second (padding not counted) and the share
of computed positions that were padding. CPU figures of a 2-layer, 64-wide model mostly measure
per-position cost; a real 8B model on a GPU gains at least the padding share.

    .venv/bin/python bench/rm_throughput.py [--items 256] [--batch-size 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from longjudge.scorers.reward_models import RMItem
from longjudge.scorers.reward_models.hf import HFRewardModel
from longjudge.scorers.reward_models.tiny import build_tiny_reward_model
from longjudge.scorers.s2l.config import S2LConfig

WORDS = [
    "the",
    "harbour",
    "handles",
    "ships",
    "each",
    "year",
    "most",
    "of",
    "them",
    "fishing",
    "boats",
    "report",
    "committee",
    "met",
    "in",
    "march",
    "published",
    "two",
    "years",
    "later",
    "reference",
    "answer",
    "datasets",
    "built",
    "from",
    "scratch",
    "adapted",
]


def mixed_items(n: int, seed: int) -> list[RMItem]:
    """Queries of 5-15 words; responses of 3-400 words, log-uniform (many short, a few long)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        query = " ".join(rng.choices(WORDS, k=rng.randint(5, 15))) + "?"
        length = round(3 * (400 / 3) ** rng.random())
        response = " ".join(rng.choices(WORDS, k=length)) + "."
        reference = None if i % 2 else " ".join(rng.choices(WORDS, k=rng.randint(10, 40)))
        items.append(RMItem(query, reference, response))
    return items


def measure(
    path: Path, items: list[RMItem], batch_size: int, sort: bool, repeats: int
) -> dict[str, float]:
    config = S2LConfig(max_length=2048, batch_size=batch_size, sort_by_length=sort, device="cpu")
    model = HFRewardModel(str(path), config)
    model.score_sync(items[: batch_size * 2])  # warm-up
    rates, fractions = [], []
    for _ in range(repeats):
        model.stats = type(model.stats)()
        model.score_sync(items)
        rates.append(model.stats.tokens / model.stats.seconds)
        fractions.append(model.stats.padding_fraction)
    return {
        "tokens_per_s": statistics.median(rates),
        "padding": statistics.median(fractions),
        "tokens": float(model.stats.tokens),
        "batches": float(model.stats.batches),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    items = mixed_items(args.items, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_reward_model(tmp)
        rows = {
            "length-bucketed": measure(path, items, args.batch_size, True, args.repeats),
            "fixed order": measure(path, items, args.batch_size, False, args.repeats),
        }
    print(
        f"{args.items} mixed-length inputs, batch size {args.batch_size}, tiny model on CPU "
        f"({int(rows['fixed order']['tokens'])} real tokens, median of {args.repeats} runs)"
    )
    print(f"{'batching':<18}{'tokens/s':>12}{'padding':>10}")
    for name, row in rows.items():
        print(f"{name:<18}{row['tokens_per_s']:>12,.0f}{row['padding']:>10.1%}")
    speedup = rows["length-bucketed"]["tokens_per_s"] / rows["fixed order"]["tokens_per_s"]
    print(f"speed-up of length bucketing: {speedup:.2f}x")


if __name__ == "__main__":
    main()
