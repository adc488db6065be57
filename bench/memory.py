"""Peak memory of a scoring job against its size: flat when the input is streamed.

Each size runs in its own process (so one size's peak is not another's): it writes copies of
the bundled prompt (a 40,889-character article) with its 10 responses, starts the fake judge
server in a child process (no latency; its answers are the schema fillers), and runs what
``longjudge score`` runs (:func:`~longjudge.scoring.run_job`, local engine, BM25 retrieval, a
fresh SQLite cache, a run directory) on them. Peak RSS is the scoring process's
``ru_maxrss`` (the server is another process); the input's size on disk is printed beside it.

    .venv/bin/python bench/memory.py                        # 500, 2,000, 5,000 candidates
    .venv/bin/python bench/memory.py --sizes 500 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, write_copies

from longjudge.config import ScoreConfig, build_config
from longjudge.scoring import ScoreJob, run_job
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeProcess


def child(candidates: int, concurrency: int | None) -> dict[str, Any]:
    """One size, in this process: score it and report the peak RSS."""
    prompts = -(-candidates // 10)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        examples, responses = write_copies(tmp, prompts)
        size = examples.stat().st_size + responses.stat().st_size
        with FakeJudgeProcess(FakeJudgeConfig(latency=0.0)) as server:
            judge: dict[str, Any] = {"base_url": server.base_url}
            if concurrency is not None:
                judge["max_concurrency"] = concurrency
            layers = {
                "judge": judge,
                "cache": {"path": str(tmp / "cache.sqlite")},
                "run": {"progress": False},
                "longreward": {"retrieval": {"method": "bm25"}},
            }
            config = build_config(ScoreConfig, layers)
            job = ScoreJob(examples, responses, "openai/fake-judge", "longreward", config,
                           tmp / "run")
            started = time.monotonic()
            outcome = asyncio.run(run_job(job))
            seconds = time.monotonic() - started
    return {
        "candidates": outcome.result.scored + outcome.result.unscored,
        "scored": outcome.result.scored,
        "input_mb": size / 2**20,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "prompts_in_flight": outcome.result.peak_prompts_in_flight,
        "seconds": seconds,
    }


def run_size(candidates: int, concurrency: int | None) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO / "bench"), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    command = [sys.executable, __file__, "--child", str(candidates)]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000])
    parser.add_argument("--concurrency", type=int, default=None,
                        help="--concurrency of the job (default: the adaptive limit)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.concurrency)))
        return
    print(f"{'candidates':>10} {'scored':>7} {'input MB':>9} {'peak MB':>8} "
          f"{'peak/peak(first)':>16} {'prompts in flight':>17} {'seconds':>8}")
    first = None
    for size in args.sizes:
        row = run_size(size, args.concurrency)
        first = first or row["peak_mb"]
        print(f"{row['candidates']:>10,} {row['scored']:>7,} {row['input_mb']:>9.1f} "
              f"{row['peak_mb']:>8.1f} {row['peak_mb'] / first:>16.2f} "
              f"{row['prompts_in_flight']:>17} {row['seconds']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
