"""Peak memory of ``longjudge score`` against the job's size: flat when the input is streamed.

Each size runs in its own process (so one size's peak is not another's): it writes copies of
the bundled prompt (a 40,889-character article) with its 10 responses, starts the fake judge
server in a child process (no latency; its answers are the schema fillers), and runs what
``longjudge score`` runs: :func:`~longjudge.scoring.run_job` (local engine, BM25 retrieval, a
fresh SQLite cache, a run directory), then the command's own printing of the results
(``cli.score._print_results``: past a screenful, the summary counted from rewards.jsonl),
its output thrown away. Peak RSS is the scoring process's ``ru_maxrss`` (the server is another
process), read after the job and again after the printing; the input's size on disk is
printed beside it. ``--print eager`` prints the same summary from every reward read back into
memory (``RunDir.rewards()``, what the command did before), for comparison.

    .venv/bin/python bench/memory.py                        # 500, 2,000, 5,000 candidates
    .venv/bin/python bench/memory.py --sizes 500 20000
    .venv/bin/python bench/memory.py --sizes 500 5000 --print eager
    .venv/bin/python bench/memory.py --sizes 500 5000 --ray-workers 2   # the Ray driver's peak
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

from _common import REPO, copies_job, write_copies

from longjudge.scoring import run_job
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeProcess


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_results(out: Path, outcome: Any, mode: str) -> float:
    """What ``longjudge score`` prints after the job, into /dev/null; returns its seconds."""
    from rich.console import Console

    from longjudge.cli import score as cli_score
    from longjudge.cli.tables import rewards_summary
    from longjudge.preference.tally import RewardTally
    from longjudge.runtime.rundir import RunDir

    started = time.monotonic()
    with open(os.devnull, "w") as sink:
        quiet = Console(file=sink, width=100)
        saved = cli_score.out, cli_score.console
        cli_score.out = cli_score.console = quiet
        try:
            if mode == "eager":  # the summary from every reward in memory (before)
                quiet.print(rewards_summary(RewardTally.of(RunDir(out).rewards()), out))
            else:
                cli_score._print_results(RunDir(out), outcome, out)
        finally:
            cli_score.out, cli_score.console = saved
    return time.monotonic() - started


def child(
    candidates: int, concurrency: int | None, mode: str, ray_workers: int | None
) -> dict[str, Any]:
    """One size, in this process: score it, print its results, report the peak RSS."""
    prompts = -(-candidates // 10)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        examples, responses = write_copies(tmp, prompts)
        size = examples.stat().st_size + responses.stat().st_size
        with FakeJudgeProcess(FakeJudgeConfig(latency=0.0)) as server:
            engine = "local" if ray_workers is None else "ray"
            job = copies_job(tmp, examples, responses, server.base_url,
                             concurrency=concurrency, engine=engine)
            started = time.monotonic()
            if ray_workers is None:
                outcome = asyncio.run(run_job(job))
            else:  # the driver's peak (the actors are other processes)
                from longjudge.distributed.ray_engine import RayOptions, run_ray_job

                outcome = run_ray_job(job, RayOptions(workers=ray_workers))
            seconds = time.monotonic() - started
            job_peak = _peak_mb()
            print_seconds = 0.0
            if mode != "none":
                print_seconds = print_results(tmp / "run", outcome, mode)
    return {
        "candidates": outcome.result.scored + outcome.result.unscored,
        "scored": outcome.result.scored,
        "input_mb": size / 2**20,
        "job_peak_mb": job_peak,
        "peak_mb": _peak_mb(),
        "print_seconds": print_seconds,
        "prompts_in_flight": outcome.result.peak_prompts_in_flight,
        "seconds": seconds,
    }


def run_size(
    candidates: int, concurrency: int | None, mode: str, ray_workers: int | None
) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(REPO / "bench"), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    command = [sys.executable, __file__, "--child", str(candidates), "--print", mode]
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    if ray_workers is not None:
        command += ["--ray-workers", str(ray_workers)]
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000])
    parser.add_argument("--concurrency", type=int, default=None,
                        help="--concurrency of the job (default: the adaptive limit)")
    parser.add_argument("--print", dest="mode", choices=["stream", "eager", "none"],
                        default="stream",
                        help="the results summary as the command prints it (stream: counted "
                        "from rewards.jsonl line by line), from every reward read back "
                        "(eager, the earlier way), or not at all")
    parser.add_argument("--ray-workers", type=int, default=None,
                        help="score with --engine ray and this many workers: the peak is the "
                        "driver's")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.concurrency, args.mode, args.ray_workers)))
        return
    engine = "local" if args.ray_workers is None else f"ray, {args.ray_workers} workers"
    print(f"engine: {engine}; printing the results: {args.mode}")
    print(f"{'candidates':>10} {'scored':>7} {'input MB':>9} {'job peak':>8} {'peak MB':>8} "
          f"{'peak/peak(first)':>16} {'prompts in flight':>17} {'seconds':>8} {'print s':>7}")
    first = None
    for size in args.sizes:
        row = run_size(size, args.concurrency, args.mode, args.ray_workers)
        first = first or row["peak_mb"]
        print(f"{row['candidates']:>10,} {row['scored']:>7,} {row['input_mb']:>9.1f} "
              f"{row['job_peak_mb']:>8.1f} {row['peak_mb']:>8.1f} "
              f"{row['peak_mb'] / first:>16.2f} {row['prompts_in_flight']:>17} "
              f"{row['seconds']:>8.1f} {row['print_seconds']:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
