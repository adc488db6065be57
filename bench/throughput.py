"""What users get from a judge server: achieved request rate against its capacity.

A fake OpenAI-compatible server (in its own process) serves at most C requests at once, each
held L seconds (more wait in its queue): it can answer at most C/L requests per second. It
answers as the scripted LongReward judge with 15 statements per response. The job is what
``longjudge score`` runs (:func:`~longjudge.runtime.job.run_job`: read the inputs, score, write
the run directory, a fresh SQLite cache) on copies of the bundled prompt with its 10 responses,
at **default settings**: only C and L vary, unless a row sets ``--concurrency``.

Achieved / capacity counts every judge call from the first request the server saw to the end
of the job (the last result written), start-up and tail included, against C/L. Client CPU per
call is the benchmark process's CPU time (reading, indexing, scoring, writing, HTTP) over the
judge calls made. The load average of the machine is printed with every row: figures taken on
a busy machine understate the client.

    .venv/bin/python bench/throughput.py                    # the grid: C = 8, 32, 128; L = 0.2, 0.5
    .venv/bin/python bench/throughput.py --rows 32:0.2 32:0.2:32 --candidates 500
    .venv/bin/python bench/throughput.py --rows 32:0.2 --profile   # where the client CPU goes
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import REPO, write_copies

from longjudge.config import ScoreConfig, build_config
from longjudge.runtime.job import ScoreJob, run_job
from longjudge.runtime.rundir import RunDir
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeProcess

#: (C, L, --concurrency or None for the defaults)
GRID = [
    (8, 0.2, None), (8, 0.5, None),
    (32, 0.2, None), (32, 0.2, 32), (32, 0.5, None),
    (128, 0.2, None), (128, 0.5, None), (128, 0.5, 128),
]


def parse_row(text: str) -> tuple[int, float, int | None]:
    parts = text.split(":")
    flag = int(parts[2]) if len(parts) > 2 else None
    return int(parts[0]), float(parts[1]), flag


def measure(
    capacity: int,
    latency: float,
    flag: int | None,
    candidates: int,
    profile: bool,
    retrieval: str = "bm25",
) -> dict[str, Any]:
    prompts = -(-candidates // 10)
    # The server process imports the statement-rich script from bench/_common.py.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "bench"), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
    )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        examples, responses = write_copies(tmp, prompts)
        log = tmp / "requests.jsonl"
        server_config = FakeJudgeConfig(
            latency=latency, capacity=capacity, log_file=str(log),
            script="_common:statement_rich_script",
        )
        with FakeJudgeProcess(server_config) as server:
            judge: dict[str, Any] = {"base_url": server.base_url}
            if flag is not None:
                judge["max_concurrency"] = flag  # --concurrency
            layers = {
                "judge": judge,
                "cache": {"path": str(tmp / "cache.sqlite")},
                "run": {"progress": False},
                "longreward": {"retrieval": {"method": retrieval}},
            }
            config = build_config(ScoreConfig, layers)
            job = ScoreJob(examples, responses, "openai/fake-judge", "longreward", config,
                           tmp / "run")
            profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not wall
            cpu = time.process_time()
            if profiler:
                profiler.enable()
            outcome = asyncio.run(run_job(job))
            if profiler:
                profiler.disable()
            end = time.time()
            cpu = time.process_time() - cpu
        load = os.getloadavg()[0]
        records = [json.loads(line) for line in log.read_text().splitlines()]
        (summary,) = RunDir(tmp / "run").read_summary()["invocations"]
    first = min(r["time"] for r in records)
    served = sum(r["status"] == 200 for r in records)
    span = end - first
    if profiler:
        print_profile(profiler, served)
    return {
        "C": capacity, "L": latency, "flag": flag, "candidates": outcome.result.scored
        + outcome.result.unscored, "scored": outcome.result.scored, "calls": served,
        "span": span, "rate": served / span, "ratio": served / span / (capacity / latency),
        "cpu_ms": 1000 * cpu / max(served, 1), "load": load,
        "limit": summary.get("concurrency", {}).get("limit", 0),
        "prompts": summary.get("peak_prompts_in_flight", 0),
    }


def print_profile(profiler: cProfile.Profile, calls: int) -> None:
    """Client CPU per judge call, by package and by function (idle time left out)."""
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = defaultdict(float)
    total = 0.0
    for (path, _, func), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if func in ("select", "poll", "epoll.poll") or "selectors" in path:
            continue
        total += tottime
        by_package[_package(path)] += tottime
    print(f"\nclient CPU by package (ms per judge call; {calls} calls, profiler overhead in):")
    for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:14]:
        print(f"  {package:28} {1000 * seconds / calls:6.3f}  {seconds / total:5.1%}")
    print()
    stats.sort_stats("tottime").print_stats(18)


def _package(path: str) -> str:
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0].removesuffix(".py")
    if "/longjudge/" in path:
        return "longjudge." + path.split("/longjudge/")[1].split("/")[0].removesuffix(".py")
    if path.startswith("<") or "/python3" in path or "lib/python" in path:
        return "python stdlib/builtins"
    return Path(path).name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", nargs="+", type=parse_row, default=GRID,
                        help="C:L or C:L:N (N = --concurrency); default: the grid")
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--retrieval", default="bm25", choices=["bm25", "auto", "dense", "hybrid"],
        help="evidence retrieval (default bm25: the client's own cost; 'auto' is hybrid "
        "where the embed extra is installed, and embedding the windows and statements then "
        "costs far more CPU than the judge calls)",
    )
    args = parser.parse_args()
    print(
        f"{args.candidates} candidates (copies of the bundled prompt, 10 responses each, 15 "
        "statements per response); LongReward defaults, retrieval "
        f"{args.retrieval}; fake server with capacity C and "
        f"latency L; python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'C':>4} {'L s':>4} {'--concurrency':>13} {'calls':>6} {'span s':>7} {'req/s':>7} "
        f"{'C/L':>6} {'achieved/cap':>12} {'CPU ms/call':>11} {'limit':>6} {'prompts':>7} "
        f"{'load':>5}"
    )
    for capacity, latency, flag in args.rows:
        r = measure(capacity, latency, flag, args.candidates, args.profile, args.retrieval)
        print(
            f"{r['C']:4d} {r['L']:4.1f} {r['flag'] or '-'!s:>13} {r['calls']:6d} "
            f"{r['span']:7.1f} {r['rate']:7.1f} {capacity / latency:6.0f} {r['ratio']:12.2f} "
            f"{r['cpu_ms']:11.2f} {r['limit']:6d} {r['prompts']:7d} {r['load']:5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
