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
CONCURRENCY = 4


@pytest.mark.timeout(300)
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
        rng = random.Random(20261124)
        killed = 0
        for _ in range(KILLS):
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(1.5, 3.5))  # start-up ~1 s, the whole job ~8 s
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait()
        assert killed >= 1, "no run was interrupted: make the job longer"
        finished = run_cli(command)
        assert finished.returncode == 0, finished.stderr[-2000:]
        interrupted_calls = len(server.requests) - baseline_calls

    base = read_rewards(tmp_path / "base" / "rewards.jsonl")
    resumed = read_rewards(tmp_path / "int" / "rewards.jsonl")  # every line parses: none torn
    keys = [(r.example_id, r.candidate_id) for r in resumed]
    assert len(keys) == len(set(keys)) == 40, "each candidate written exactly once"
    assert sorted(map(essence, resumed)) == sorted(map(essence, base))
    # Work cached before a kill is not asked again: only requests in flight at a kill repeat.
    assert interrupted_calls <= baseline_calls + killed * CONCURRENCY
