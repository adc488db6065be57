"""Cache and resume on the bundled example (1 prompt, 10 responses), fake judge server.

1. a fresh job: calls made and wall time;
2. the same job re-run into the same directory (resume: nothing to do) and into a new directory
   (every request from the cache): calls made must be 0, and the wall time;
3. a half-finished job (the first 5 responses scored, then the full input resumed into the same
   directory with the same cache): calls made only for the unfinished work.

    .venv/bin/python bench/cache_resume.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from _common import EXAMPLES, RESPONSES, server_script

from longjudge.config import ScoreConfig, build_config
from longjudge.runtime.job import ScoreJob, run_job
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer


def job(tmp: Path, server: FakeJudgeServer, responses: Path, out: str) -> tuple[int, float, int]:
    config = build_config(
        ScoreConfig,
        {
            "judge": {"base_url": server.base_url, "max_concurrency": 16},
            "cache": {"path": str(tmp / "cache.sqlite")},
            "run": {"progress": False},
        },
    )
    before = len(server.requests)
    started = time.monotonic()
    outcome = asyncio.run(
        run_job(ScoreJob(EXAMPLES, responses, "openai/fake-judge", "longreward", config, tmp / out))
    )
    return len(server.requests) - before, time.monotonic() - started, outcome.result.scored


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as name,
        FakeJudgeServer(
            FakeJudgeConfig(latency=0.05, capacity=16), script=server_script()
        ) as server,
    ):
        tmp = Path(name)
        half = tmp / "half.jsonl"
        half.write_text("".join(RESPONSES.read_text().splitlines(keepends=True)[:5]))
        rows = [
            ("fresh job", *job(tmp, server, RESPONSES, "a")),
            ("re-run, same directory", *job(tmp, server, RESPONSES, "a")),
            ("re-run, new directory (cache)", *job(tmp, server, RESPONSES, "b")),
        ]
        (tmp / "cache.sqlite").unlink()
        for suffix in ("-wal", "-shm"):
            Path(f"{tmp / 'cache.sqlite'}{suffix}").unlink(missing_ok=True)
        rows.append(("half job (5 of 10), new cache", *job(tmp, server, half, "c")))
        rows.append(("resume the full job", *job(tmp, server, RESPONSES, "c")))
    print(f"{'run':32} {'judge calls':>11} {'wall s':>7} {'scored now':>10}")
    for label, calls, seconds, scored in rows:
        print(f"{label:32} {calls:11d} {seconds:7.2f} {scored:10d}")
    fresh, half_calls, resumed = rows[0][1], rows[3][1], rows[4][1]
    print(
        f"\nre-runs made {rows[1][1]} and {rows[2][1]} calls (must be 0); the resumed half job "
        f"made {resumed} calls for the other 5 responses (fresh job: {fresh} for all 10, "
        f"first half: {half_calls}, including the shared per-prompt work)"
    )


if __name__ == "__main__":
    main()
