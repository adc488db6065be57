"""Judge calls per completion when LongJudgeReward rewards online RL, on the bundled example
(1 prompt, a 40,889-character article, its 10 sampled responses as a group), against the fake
OpenAI-compatible server with the scripted judge (real HTTP).

Compares how a trainer hands completions over: a whole group in one call (TRL's GRPOTrainer,
verl's batch reward manager), or one completion per call (verl's default naive manager) with
and without LongJudgeReward's cache of per-prompt work, with the judge cache off (every call
counted) and on (a second epoch over the same completions).

    .venv/bin/python bench/rl_reward_cost.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from _common import bundled, server_script

from longjudge.rl import LongJudgeReward
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer


def config(server: FakeJudgeServer, cache: Path | None) -> dict[str, Any]:
    return {
        "judge": {"base_url": server.base_url, "structured_output": "json_schema"},
        "cache": {"enabled": cache is not None, "path": str(cache) if cache else None},
        "run": {"progress": False},
    }


def run(server: FakeJudgeServer, *, per_sample: bool, prepared: int, cache: Path | None,
        epochs: int = 1) -> tuple[float, float, int, float, int]:
    """(calls per completion in the last epoch, cache hits per completion, prepare runs,
    seconds, unscored)."""
    example, candidates = bundled()
    texts = [c.text for c in candidates]
    n = len(texts)
    reward = LongJudgeReward(judge="openai/fake-judge", config=config(server, cache),
                             prepared_cache_size=prepared)
    started = time.monotonic()
    try:
        for _ in range(epochs):
            before = reward.scoring.usage()
            if per_sample:
                values = [reward(completions=[t], context=[example.context],
                                 query=[example.query])[0] for t in texts]
            else:
                values = reward(completions=texts, context=[example.context] * n,
                                query=[example.query] * n)
            used = reward.scoring.usage()
        seconds = time.monotonic() - started
        return ((used.calls - before.calls) / n, (used.cache_hits - before.cache_hits) / n,
                reward.stats.prepared, seconds, sum(v is None for v in values))
    finally:
        reward.close()


def main() -> None:
    with FakeJudgeServer(FakeJudgeConfig(), script=server_script()) as server, \
            tempfile.TemporaryDirectory() as tmp:
        run(server, per_sample=False, prepared=0, cache=None)  # warm-up
        rows = [
            ("group in one call (TRL, verl batch)", False, 32, None, 1),
            ("one per call, prepared cache 32 (verl naive)", True, 32, None, 1),
            ("one per call, prepared cache 0", True, 0, None, 1),
            ("group, judge cache on, 2nd epoch", False, 32, Path(tmp) / "judge.sqlite", 2),
        ]
        print("LongJudgeReward, bundled example: 10 completions of one prompt, LongReward "
              "batched, all four dimensions")
        print(f"{'how completions arrive':46} {'calls/compl.':>12} {'cache hits':>10} "
              f"{'prepares':>8} {'seconds':>8} {'unscored':>8}")
        for label, per_sample, prepared, cache, epochs in rows:
            calls, hits, prepares, seconds, bad = run(
                server, per_sample=per_sample, prepared=prepared, cache=cache, epochs=epochs)
            print(f"{label:46} {calls:12.1f} {hits:10.1f} {prepares:8d} {seconds:8.1f} "
                  f"{bad:8d}")


if __name__ == "__main__":
    main()
