"""Cache and resume: copies of the bundled prompt (each with its 10 responses), fake judge server.

1. a fresh job: calls made and wall time;
2. the same job re-run into the same directory (resume: nothing to do) and into a new directory
   (every request from the cache): calls made must be 0, and the wall time;
3. a half-finished job (the first half of the responses scored, then the full input resumed into
   the same directory with the same cache): calls made only for the unfinished work.

    .venv/bin/python bench/cache_resume.py [--prompts 5] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from _common import server_script, write_copies

from longjudge.config import ScoreConfig, build_config
from longjudge.scoring import ScoreJob, run_job
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer


def job(
    tmp: Path, server: FakeJudgeServer, files: tuple[Path, Path], out: str
) -> tuple[int, float, int, int]:
    """(calls made, wall seconds, scored now, skipped as already finished)."""
    config = build_config(
        ScoreConfig,
        {
            "judge": {"base_url": server.base_url, "max_concurrency": 64},
            "cache": {"path": str(tmp / "cache.sqlite")},
            "run": {"progress": False, "max_examples_in_flight": 8},
        },
    )
    examples, responses = files
    before = len(server.requests)
    started = time.monotonic()
    spec = "openai/fake-judge"
    outcome = asyncio.run(
        run_job(ScoreJob(examples, responses, spec, "longreward", config, tmp / out))
    )
    seconds = time.monotonic() - started
    result = outcome.result
    return len(server.requests) - before, seconds, result.scored, result.skipped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=5, help="copies of the bundled prompt")
    parser.add_argument("--latency", type=float, default=0.05, help="fake judge latency, s")
    args = parser.parse_args()
    server_config = FakeJudgeConfig(latency=args.latency, capacity=64)
    with (
        tempfile.TemporaryDirectory() as name,
        FakeJudgeServer(server_config, script=server_script()) as server,
    ):
        tmp = Path(name)
        examples, responses = write_copies(tmp, args.prompts)
        lines = responses.read_text().splitlines(keepends=True)
        half = tmp / "half.jsonl"
        half.write_text("".join(lines[: len(lines) // 2]))
        full = (examples, responses)
        rows = [
            ("fresh job", *job(tmp, server, full, "a")),
            ("re-run, same directory", *job(tmp, server, full, "a")),
            ("re-run, new directory (cache)", *job(tmp, server, full, "b")),
        ]
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp / 'cache.sqlite'}{suffix}").unlink(missing_ok=True)
        rows.append(
            (
                f"half job ({len(lines) // 2} of {len(lines)}), new cache",
                *job(tmp, server, (examples, half), "c"),
            )
        )
        rows.append(("resume the full job", *job(tmp, server, full, "c")))
    print(
        f"{args.prompts} copies of the bundled prompt x 10 responses; fake judge latency "
        f"{args.latency} s; LongReward defaults (batched)"
    )
    print(f"{'run':34} {'judge calls':>11} {'wall s':>7} {'scored now':>10} {'skipped':>8}")
    for label, calls, seconds, scored, skipped in rows:
        print(f"{label:34} {calls:11d} {seconds:7.2f} {scored:10d} {skipped:8d}")
    fresh, rerun, recached, first, resumed = (row[1] for row in rows)
    print(
        f"\nre-runs made {rerun} and {recached} calls (must be 0); the half job made {first} and "
        f"its resume {resumed}: {first + resumed} in all against {fresh} for the fresh job "
        f"(only the unfinished work was asked)"
    )


if __name__ == "__main__":
    main()
