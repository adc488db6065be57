"""With a distinctive API key, nothing a scoring run leaves behind contains it: the run
directory, the cache, the server-side echo included (a careless server returns the key in its
401 message), stdout and stderr."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer

from .data import score_command, write_config, write_inputs

pytestmark = pytest.mark.reliability
SECRET = "sk-canary-run-dir-8c41f0a2e9"


@pytest.mark.timeout(120)
def test_the_key_is_nowhere_in_a_run(tmp_path: Path) -> None:
    ex, cand = write_inputs(tmp_path, examples=2, candidates=3)
    faults = FakeJudgeConfig(
        fault_rate=0.3,
        seed=3,
        retry_after=0.01,
        fault_mix={"auth": 1.0, "rate_limit": 1.0, "server_error": 1.0},
    )
    with FakeJudgeServer(faults) as server:
        config = write_config(tmp_path / "c.yaml", server.base_url, tmp_path / "c.sqlite")
        env = {**os.environ, "OPENAI_API_KEY": SECRET}
        done = subprocess.run(
            score_command(ex, cand, config, tmp_path / "run"),
            env=env,
            capture_output=True,
            text=True,
            timeout=100,
            check=False,
        )
        assert server.stats["faults"].get("auth", 0) > 0
    assert done.returncode in (0, 3), done.stderr[-2000:]
    rewards = (tmp_path / "run" / "rewards.jsonl").read_text()
    assert "HTTP 401" in rewards  # the echoing 401s really reached the run
    assert SECRET not in done.stdout and SECRET not in done.stderr
    for path in [*(tmp_path / "run").rglob("*"), *tmp_path.glob("c.sqlite*")]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


URL_SECRET = "canary-pass-5d7e21"


@pytest.mark.timeout(180)
def test_url_credentials_are_nowhere_in_a_run(tmp_path: Path) -> None:
    """``--base-url http://user:pass@host/v1``: the credentials connect, and are redacted in
    config.yaml, the summary, rewards, errors, the cache, stdout and stderr; also when the
    judge cannot be reached (the connection errors name the URL's host, never its password)."""
    ex, cand = write_inputs(tmp_path, examples=2, candidates=2)
    with FakeJudgeServer(FakeJudgeConfig()) as server:
        url = server.base_url.replace("http://", f"http://judge-user:{URL_SECRET}@")
        config = write_config(tmp_path / "c.yaml", url, tmp_path / "c.sqlite")
        up = subprocess.run(
            score_command(ex, cand, config, tmp_path / "run"),
            capture_output=True, text=True, timeout=150, check=False,
        )
        assert server.stats["by_status"].get("200", 0) > 0
    assert up.returncode == 0, up.stderr[-2000:]
    dead = write_config(tmp_path / "d.yaml", url, tmp_path / "d.sqlite")  # server now stopped
    down = subprocess.run(
        score_command(ex, cand, dead, tmp_path / "run-down"),
        capture_output=True, text=True, timeout=150, check=False,
    )
    assert down.returncode == 3, down.stderr[-2000:]
    assert "judge error" in (tmp_path / "run-down" / "rewards.jsonl").read_text()
    config_text = (tmp_path / "run" / "config.yaml").read_text()
    assert "judge-user" not in config_text and "http://***@127.0.0.1" in config_text
    for done in (up, down):
        assert URL_SECRET not in done.stdout and URL_SECRET not in done.stderr
    for path in [*tmp_path.glob("run*/**/*"), *tmp_path.glob("[cd].sqlite*")]:
        if path.is_file():
            assert URL_SECRET.encode() not in path.read_bytes(), path
