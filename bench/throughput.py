"""Throughput against the judge's capacity.

A fake OpenAI-compatible server (in its own process) serves at most C requests at once, each
held L seconds: it can answer at most C/L requests per second. The real pipeline (openai backend,
LongReward in batched mode, cache off, ``judge.max_concurrency = C`` and
``run.max_examples_in_flight = C/4``) scores copies of the bundled example's prompt, 30
candidates each; the achieved request rate over the steady-state middle of the run (from the
server's request log) is printed against C/L, with the pipeline process's CPU use.

    .venv/bin/python bench/throughput.py [--latency 0.5] [--seconds 20] [--capacities 8 32 128]
    .venv/bin/python bench/throughput.py --profile   # cProfile of the pipeline, top functions
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import tempfile
import time
from pathlib import Path

from _common import bundled

from longjudge.config import JudgeConfig, RunConfig
from longjudge.judges.openai import OpenAIJudge
from longjudge.runtime.client import JudgeClient
from longjudge.runtime.runner import run_scoring
from longjudge.scorers.longreward import LongReward
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeProcess
from longjudge.types import Candidate, Example

CALLS_PER_RESPONSE = 5.2  # batched mode on this example (bench/judge_cost.py)
COPIES = 3  # each prompt carries its 10 responses 3 times: 30 candidates


def groups(prompts: int) -> list[tuple[Example, list[Candidate]]]:
    example, candidates = bundled()
    out = []
    for p in range(prompts):
        ex = example.model_copy(update={"id": f"{example.id}#{p}"})
        cands = [
            c.model_copy(update={"id": f"{c.id}#{p}.{k}", "example_id": ex.id})
            for k in range(COPIES)
            for c in candidates
        ]
        out.append((ex, cands))
    return out


def steady_rate(log: Path) -> tuple[float, int]:
    times = sorted(json.loads(line)["time"] for line in log.read_text().splitlines())
    start, end = times[0], times[-1]
    lo, hi = start + 0.25 * (end - start), start + 0.75 * (end - start)
    inside = [t for t in times if lo <= t < hi]
    return len(inside) / (hi - lo), len(times)


def measure(capacity: int, latency: float, seconds: float, profile: bool) -> dict[str, float]:
    prompts = max(1, round(seconds * capacity / latency / (CALLS_PER_RESPONSE * 10 * COPIES)))
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "requests.jsonl"
        config = FakeJudgeConfig(latency=latency, capacity=capacity, log_file=str(log))
        with FakeJudgeProcess(config) as server:
            judge = OpenAIJudge(
                "fake-judge", JudgeConfig(base_url=server.base_url, max_concurrency=capacity)
            )
            client = JudgeClient(judge, max_concurrency=capacity)
            scorer = LongReward(client)
            run = RunConfig(max_examples_in_flight=max(2, capacity // 4), progress=False)
            work = groups(prompts)
            profiler = cProfile.Profile() if profile else None

            async def go() -> None:
                await run_scoring(scorer, work, None, run)
                await client.aclose()

            started, cpu = time.monotonic(), time.process_time()
            if profiler:
                profiler.enable()
            asyncio.run(go())
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
            wall = time.monotonic() - started
            cpu = time.process_time() - cpu
        rate, total = steady_rate(log)
    maximum = capacity / latency
    return {
        "C": capacity,
        "prompts": prompts,
        "requests": total,
        "wall_s": wall,
        "steady_rps": rate,
        "max_rps": maximum,
        "ratio": rate / maximum,
        "client_cpu": cpu / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--capacities", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(
        f"latency L = {args.latency} s; steady state = middle half of each run; client CPU = "
        "the pipeline process's CPU time over the wall time (100% = one core, its limit)"
    )
    print(
        f"{'C':>5} {'prompts':>8} {'requests':>9} {'wall s':>7} {'req/s':>8} "
        f"{'C/L':>7} {'achieved/max':>13} {'client CPU':>11}"
    )
    for capacity in args.capacities:
        r = measure(capacity, args.latency, args.seconds, args.profile)
        print(
            f"{r['C']:5.0f} {r['prompts']:8.0f} {r['requests']:9.0f} {r['wall_s']:7.1f} "
            f"{r['steady_rps']:8.1f} {r['max_rps']:7.1f} {r['ratio']:13.2f} {r['client_cpu']:11.0%}"
        )


if __name__ == "__main__":
    main()
