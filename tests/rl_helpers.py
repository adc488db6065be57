"""Shared inputs of the RL reward tests: prompts with short contexts, a fake judge over HTTP."""

from __future__ import annotations

from collections import Counter
from typing import Any

from longjudge.testing.fake_judge import FakeJudgeServer

FAST_RETRY = {
    "max_attempts": 3, "max_total_seconds": 10, "initial_backoff": 0.01, "max_backoff": 0.05,
    "jitter": 0.01,
}


def context(i: int) -> str:
    return " ".join(
        f"Ledger {i}, entry {j}. The mill at bend {j} ground {i * j + 2} sacks. "
        f"Its miller was called Miller{j}."
        for j in range(1, 8)
    )


def question(i: int) -> str:
    return f"How many sacks did the mills of ledger {i} grind?"


def score_config(server: FakeJudgeServer, *, cache: bool = False) -> dict[str, Any]:
    """The ``longjudge score`` config for the fake judge (cache off: every request is seen)."""
    return {
        "judge": {"base_url": server.base_url, "structured_output": "json_schema"},
        "cache": {"enabled": cache},
        "retry": FAST_RETRY,
        "run": {"progress": False},
    }


def schema_counts(server: FakeJudgeServer, since: int = 0) -> Counter[str]:
    """Judge requests by prompt (schema name) from the ``since``-th request on; needs
    ``record_bodies``."""
    counts: Counter[str] = Counter()
    for record in server.requests[since:]:
        fmt = record.get("body", {}).get("response_format") or {}
        counts[(fmt.get("json_schema") or {}).get("name", "?")] += 1
    return counts
