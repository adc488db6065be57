"""A scoring run killed with SIGKILL at random points, then resumed, ends like an uninterrupted
one: same ids and scores, no duplicated or torn line, cached judge calls not repeated."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer

from .data import essence, read_rewards, run_cli, score_command, write_config, write_inputs

pytestmark = pytest.mark.reliability

KILLS = 3
CONCURRENCY = 4  # judge.max_concurrency in data.write_config: requests in flight at a kill


@pytest.mark.timeout(180)
def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    ex, cand = write_inputs(tmp_path, examples=8, candidates=5)
    # The server lives in this process, so it outlives every killed client.
    with FakeJudgeServer(FakeJudgeConfig(latency=0.15, capacity=8)) as server:
        base_cfg = write_config(tmp_path / "base.yaml", server.base_url, tmp_path / "base.sqlite")
        done = run_cli(score_command(ex, cand, base_cfg, tmp_path / "base"))
        assert done.returncode == 0, done.stderr[-2000:]
        baseline_calls = len(server.requests)

        cfg = write_config(tmp_path / "int.yaml", server.base_url, tmp_path / "int.sqlite")
        command = score_command(ex, cand, cfg, tmp_path / "int")
        rewards = tmp_path / "int" / "rewards.jsonl"
        # Kill points: after a seeded random share of the job's judge requests (not after a
        # time, which would depend on the machine's load).
        rng = random.Random(20261124)
        points = sorted(rng.uniform(0.1, 0.9) * baseline_calls for _ in range(KILLS))
        progress = []
        for point in points:
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while len(server.requests) - baseline_calls < point and proc.poll() is None:
                assert time.monotonic() < deadline, "the client made no progress"
                time.sleep(0.005)
            assert proc.poll() is None, "the client finished before its kill point"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            progress.append(len(read_rewards(rewards)) if rewards.exists() else 0)
        # What a kill in the middle of a write would leave: half a line, no newline.
        whole = rewards.read_bytes().splitlines(keepends=True)[-1]
        with rewards.open("ab") as handle:
            handle.write(whole[: len(whole) // 2])
        finished = run_cli(command)
        assert finished.returncode == 0, finished.stderr[-2000:]
        interrupted_calls = len(server.requests) - baseline_calls

    print(
        f"rewards written at each kill: {progress}; judge requests: {baseline_calls} "
        f"uninterrupted, {interrupted_calls} over the killed runs and the resume"
    )
    assert progress == sorted(progress) and 0 < progress[-1] < 40, progress
    base = read_rewards(tmp_path / "base" / "rewards.jsonl")
    resumed = read_rewards(rewards)  # every line parses: none torn
    keys = [(r.example_id, r.candidate_id) for r in resumed]
    assert len(keys) == len(set(keys)) == 40, "each candidate written exactly once"
    assert sorted(map(essence, resumed)) == sorted(map(essence, base))
    # Work cached before a kill is not asked again: only requests in flight at a kill repeat.
    assert baseline_calls <= interrupted_calls <= baseline_calls + KILLS * CONCURRENCY
