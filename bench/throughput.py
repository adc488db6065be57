"""What users get from a judge server: achieved request rate against its capacity.

A fake OpenAI-compatible server (in its own process) serves at most C requests at once, each
held L seconds (more wait in its queue): it can answer at most C/L requests per second. It
answers as the scripted LongReward judge with 15 statements per response. The job is what
``longjudge score`` runs (:func:`~longjudge.scoring.run_job`: read the inputs, score, write
the run directory, a fresh SQLite cache) on copies of the bundled prompt with its 10 responses,
at **default settings**: only C and L vary, unless a row sets ``--concurrency``.

Achieved / capacity counts every judge call from the first request the server saw to the end
of the job (the last result written), start-up and tail included, against C/L. Client CPU per
call is the benchmark process's CPU time (reading, indexing, scoring, writing, HTTP) over the
judge calls made; ``loop ms`` is the part spent on the event loop's thread (the rest is worker
threads: evidence index builds and retrieval, fsync). The load average of the machine is printed
with every row: figures taken on a busy machine understate the client. ``--profile`` prints
where the CPU goes, by package and function, for the event loop and the worker threads apart.

    .venv/bin/python bench/throughput.py                    # the grid: C = 8, 32, 128; L = 0.2, 0.5
    .venv/bin/python bench/throughput.py --rows 32:0.2 32:0.2:32 --candidates 500
    .venv/bin/python bench/throughput.py --rows 32:0.2 --profile   # where the client CPU goes
    .venv/bin/python bench/throughput.py --rows 32:0.2 128:0.5 --ray-workers 2   # local vs ray

``--ray-workers N`` runs each row twice instead, through the local engine (one process) and
the ``ray`` engine with N workers (a local Ray instance the engine starts itself), and prints
for both the wall time of the whole job (``run_job`` called to returned: Ray's start-up, the
actors', reading and merging included), the rate over that, and the rate from the first
request the server saw to the end of the job (after start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import REPO, copies_job, write_copies

from longjudge.runtime.rundir import RunDir
from longjudge.scoring import run_job
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
            job = copies_job(tmp, examples, responses, server.base_url, retrieval=retrieval,
                             concurrency=flag)
            # CPU of this thread only (the event loop's): the worker threads (index builds,
            # retrieval, fsync) are profiled on their own by _ThreadProfiles
            profiler = cProfile.Profile(time.thread_time) if profile else None
            workers = _ThreadProfiles() if profile else None
            cpu, loop_cpu = time.process_time(), time.thread_time()
            if profiler:
                profiler.enable()
            with workers or contextlib.nullcontext():
                outcome = asyncio.run(run_job(job))
            if profiler:
                profiler.disable()
            end = time.time()
            cpu, loop_cpu = time.process_time() - cpu, time.thread_time() - loop_cpu
        load = os.getloadavg()[0]
        records = [json.loads(line) for line in log.read_text().splitlines()]
        (summary,) = RunDir(tmp / "run").read_summary()["invocations"]
    first = min(r["time"] for r in records)
    served = sum(r["status"] == 200 for r in records)
    span = end - first
    if profiler and workers:
        print_profile("event loop thread", pstats.Stats(profiler), served)
        if workers.profiles:
            print_profile("worker threads (asyncio.to_thread)", workers.stats(), served)
    return {
        "C": capacity, "L": latency, "flag": flag, "candidates": outcome.result.scored
        + outcome.result.unscored, "scored": outcome.result.scored, "calls": served,
        "span": span, "rate": served / span, "ratio": served / span / (capacity / latency),
        "cpu_ms": 1000 * cpu / max(served, 1), "load": load,
        "loop_ms": 1000 * loop_cpu / max(served, 1),
        "limit": summary.get("concurrency", {}).get("limit", 0),
        "prompts": summary.get("peak_prompts_in_flight", 0),
    }


def measure_engine(
    capacity: int,
    latency: float,
    candidates: int,
    workers: int | None,
    retrieval: str = "bm25",
) -> dict[str, Any]:
    """One job at default settings through the local engine (``workers`` None) or the ray
    engine with ``workers`` actors; the rates over the whole job and after start-up."""
    from longjudge.distributed.ray_engine import RayOptions, run_ray_job

    prompts = -(-candidates // 10)
    os.environ["PYTHONPATH"] = os.pathsep.join(  # the server and the Ray workers import these
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
            engine = "local" if workers is None else "ray"
            job = copies_job(tmp, examples, responses, server.base_url, retrieval=retrieval,
                             engine=engine)
            started = time.time()
            if workers is None:
                outcome = asyncio.run(run_job(job))
            else:
                outcome = run_ray_job(job, RayOptions(workers=workers))
            end = time.time()
        load = os.getloadavg()[0]
        records = [json.loads(line) for line in log.read_text().splitlines()]
        (summary,) = RunDir(tmp / "run").read_summary()["invocations"]
    first = min(r["time"] for r in records)
    served = sum(r["status"] == 200 for r in records)
    return {
        "engine": "local" if workers is None else f"ray x{workers}",
        "candidates": outcome.result.scored + outcome.result.unscored,
        "calls": served, "wall": end - started, "startup": first - started,
        "rate_wall": served / (end - started), "rate_after": served / (end - first),
        "cap": capacity / latency, "load": load,
        "prompts": summary.get("peak_prompts_in_flight", 0),
    }


def engines_table(rows: list[tuple[int, float, int | None]], candidates: int, workers: int,
                  retrieval: str) -> None:
    """Each row through one process and through Ray with ``workers`` actors."""
    print(f"{'C':>4} {'L s':>4} {'engine':>8} {'calls':>6} {'wall s':>7} {'start s':>7} "
          f"{'req/s wall':>10} {'/cap':>5} {'req/s after':>11} {'/cap':>5} {'prompts':>7} "
          f"{'load':>5}")
    for capacity, latency, _ in rows:
        for engine_workers in (None, workers):
            r = measure_engine(capacity, latency, candidates, engine_workers, retrieval)
            print(
                f"{capacity:4d} {latency:4.1f} {r['engine']:>8} {r['calls']:6d} "
                f"{r['wall']:7.1f} {r['startup']:7.1f} {r['rate_wall']:10.1f} "
                f"{r['rate_wall'] / r['cap']:5.2f} {r['rate_after']:11.1f} "
                f"{r['rate_after'] / r['cap']:5.2f} {r['prompts']:7d} {r['load']:5.1f}",
                flush=True,
            )


class _ThreadProfiles:
    """Profiles every ``asyncio.to_thread`` call (index builds, retrieval) with a thread CPU
    clock, while active: cProfile sees one thread only."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()
        self._original = asyncio.to_thread

    def __enter__(self) -> _ThreadProfiles:
        original, profiles, lock = self._original, self.profiles, self._lock

        async def to_thread(func: Any, /, *args: Any, **kwargs: Any) -> Any:
            def run() -> Any:
                profiler = cProfile.Profile(time.thread_time)
                profiler.enable()
                try:
                    return func(*args, **kwargs)
                finally:
                    profiler.disable()
                    with lock:
                        profiles.append(profiler)

            return await original(run)

        asyncio.to_thread = to_thread
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.to_thread = self._original

    def stats(self) -> pstats.Stats:
        stats = pstats.Stats(self.profiles[0])
        for profiler in self.profiles[1:]:
            stats.add(profiler)
        return stats


def print_profile(title: str, stats: pstats.Stats, calls: int) -> None:
    """CPU per judge call, by package and by function (idle time left out)."""
    by_package: dict[str, float] = defaultdict(float)
    total = 0.0
    for (path, _, func), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if func in ("select", "poll", "epoll.poll") or "selectors" in path:
            continue
        total += tottime
        by_package[_package(path, func)] += tottime
    print(f"\n{title}: CPU by package (ms per judge call; {calls} calls, profiler overhead in):")
    for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:14]:
        print(f"  {package:28} {1000 * seconds / calls:6.3f}  {seconds / max(total, 1e-9):5.1%}")
    print()
    stats.sort_stats("tottime").print_stats(18)


def _package(path: str, func: str = "") -> str:
    if path == "~":  # a C function or method: say which
        return f"C {func.strip('<>{}').removeprefix('built-in ')}"[:28]
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
    parser.add_argument("--ray-workers", type=int, default=None,
                        help="run each row through one process and through the ray engine "
                        "with this many workers (wall time and rates, start-up included)")
    args = parser.parse_args()
    if args.ray_workers:
        print(f"{args.candidates} candidates, 15 statements per response, LongReward "
              f"defaults, retrieval {args.retrieval}; one process vs --engine ray with "
              f"{args.ray_workers} workers; python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs")
        engines_table(args.rows, args.candidates, args.ray_workers, args.retrieval)
        return
    print(
        f"{args.candidates} candidates (copies of the bundled prompt, 10 responses each, 15 "
        "statements per response); LongReward defaults, retrieval "
        f"{args.retrieval}; fake server with capacity C and "
        f"latency L; python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(
        f"{'C':>4} {'L s':>4} {'--concurrency':>13} {'calls':>6} {'span s':>7} {'req/s':>7} "
        f"{'C/L':>6} {'achieved/cap':>12} {'CPU ms/call':>11} {'loop ms':>7} {'limit':>6} "
        f"{'prompts':>7} "
        f"{'load':>5}"
    )
    for capacity, latency, flag in args.rows:
        r = measure(capacity, latency, flag, args.candidates, args.profile, args.retrieval)
        print(
            f"{r['C']:4d} {r['L']:4.1f} {r['flag'] or '-'!s:>13} {r['calls']:6d} "
            f"{r['span']:7.1f} {r['rate']:7.1f} {capacity / latency:6.0f} {r['ratio']:12.2f} "
            f"{r['cpu_ms']:11.2f} {r['loop_ms']:7.2f} {r['limit']:6d} {r['prompts']:7d} "
            f"{r['load']:5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
