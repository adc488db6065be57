"""One writer per run directory: a second ``longjudge score`` into it is refused with exit 2
and the holder's pid; a lock left by a SIGKILLed job does not block the next one."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer

from .data import latest, read_rewards, run_cli, said, score_command, write_config, write_inputs
from .scripted import TextScript, scripted

pytestmark = pytest.mark.reliability

SECTIONS = {"longreward": {"dimensions": ["helpfulness"]}}


def _wait_for_requests(server: FakeJudgeServer, proc: subprocess.Popen[bytes], n: int) -> None:
    deadline = time.monotonic() + 60
    while len(server.requests) < n and proc.poll() is None:
        assert time.monotonic() < deadline, "the first job made no judge request"
        time.sleep(0.01)
    assert proc.poll() is None, "the first job finished before the second started"


@pytest.mark.timeout(120)
def test_second_writer_is_refused_and_a_killed_holder_does_not_block(tmp_path: Path) -> None:
    ex, cand = write_inputs(tmp_path, examples=3, candidates=4, sentences=3)
    # Slow (one request at a time, 12 x 0.5 s) so that the first job is still scoring when
    # the second one starts.
    slow = FakeJudgeConfig(latency=0.5, capacity=1)
    with FakeJudgeServer(slow, script=scripted(TextScript())) as server:
        cfg = write_config(tmp_path / "c.yaml", server.base_url, tmp_path / "c.sqlite", **SECTIONS)
        out = tmp_path / "run"
        command = score_command(ex, cand, cfg, out)
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for_requests(server, first, 1)
        second = run_cli(command)
        assert second.returncode == 2, second.stderr[-2000:]
        assert "being written by another job" in said(second)
        assert f"pid {first.pid} on " in said(second), second.stderr
        _, err = first.communicate(timeout=90)
        assert first.returncode == 0, err[-2000:]
        lines = read_rewards(out / "rewards.jsonl")
        assert len(lines) == len(latest(out / "rewards.jsonl")) == 12  # each written once
        calls = len(server.requests)
        chats = [r for r in server.requests if r["path"].endswith("/chat/completions")]
        assert len(chats) == 12  # one helpfulness call per candidate: none made twice

        # A holder killed with SIGKILL leaves the lock file behind, not the lock.
        server.app.config.latency = 0.05
        killed_out = tmp_path / "killed"
        url = server.base_url
        fresh = write_config(tmp_path / "k.yaml", url, tmp_path / "k.sqlite", **SECTIONS)
        command = score_command(ex, cand, fresh, killed_out)
        victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_requests(server, victim, calls + 1)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert (killed_out / ".lock").read_text().startswith(f"pid {victim.pid} on ")
        partial = killed_out / "rewards.jsonl"
        kept = len(read_rewards(partial)) if partial.exists() else 0
        resumed = run_cli(command)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert len(latest(killed_out / "rewards.jsonl")) == 12
    print(
        f"second writer refused (exit 2) while the first held the lock; first wrote 12 of 12; "
        f"holder SIGKILLed after {kept} rewards, next job took the lock and finished 12 of 12"
    )
