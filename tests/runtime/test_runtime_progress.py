"""Progress off a terminal: long commands write a plain line every interval (10 s by default,
shortened here with LONGJUDGE_PROGRESS_INTERVAL), from a timer, not only a summary at the end.

The judges here are slow on purpose (each call sleeps), so that a run lasts several intervals;
nothing asserts how fast anything is."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.judges.base import JudgeRequest
from longjudge.judges.mock import register_script
from longjudge.runtime.progress import DEFAULT_LOG_INTERVAL, Progress, log_interval
from tests.conftest import EXAMPLES
from tests.lr_script import LRScript

SFT = EXAMPLES / "longreward" / "sft.jsonl"
RESPONSES = EXAMPLES / "longreward" / "sampled_responses.jsonl"
LR = LRScript()


def slow_judge(request: JudgeRequest) -> str:
    time.sleep(0.03)
    return LR(request)


def slow_policy(request: JudgeRequest) -> str:
    time.sleep(0.05)
    return "A sampled answer."


def slow_rater(request: JudgeRequest) -> str:
    time.sleep(0.05)
    return json.dumps({"analysis": "Close to the reference.", "rating": 7})


register_script("progress-lr", slow_judge)
register_script("progress-policy", slow_policy)
register_script("progress-rater", slow_rater)


@pytest.fixture(autouse=True)
def _short_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONGJUDGE_PROGRESS_INTERVAL", "0.02")


def progress_lines(output: str, label: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in re.findall(rf"^{re.escape(label)}: (\d+)/(\d+) ",
                                                     output, re.M)]


def test_interval_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert log_interval() == 0.02
    for bad in ("", "0", "-1", "soon"):
        monkeypatch.setenv("LONGJUDGE_PROGRESS_INTERVAL", bad)
        assert log_interval() == DEFAULT_LOG_INTERVAL == 10.0


def test_score_writes_progress_lines_off_a_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["score", str(SFT), "-r", str(RESPONSES), "--judge",
                                      "mock/progress-lr", "--no-cache", "--out",
                                      str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    lines = progress_lines(result.output, "scoring")
    assert len(lines) >= 3, result.output
    assert all(total == 10 for _, total in lines)
    assert [done for done, _ in lines] == sorted(done for done, _ in lines)
    assert lines[-1] == (10, 10)  # the closing line
    assert re.search(r"^scoring: \d+/10 candidates \(\d+%\), \d+s elapsed.*judge calls \d+, "
                     r"cached 0, tokens [\d,]+$", result.output, re.M)


def test_sample_writes_progress_lines_off_a_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sample", str(SFT), "--policy", "mock/progress-policy",
                                      "--n", "4", "--out", str(tmp_path / "cands.jsonl")])
    assert result.exit_code == 0, result.output
    lines = progress_lines(result.output, "sampling")
    assert len(lines) >= 3, result.output
    assert lines[-1] == (4, 4)


def test_eval_judge_writes_progress_lines_off_a_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "judge", str(SFT), "-r", str(RESPONSES),
                                      "--judge", "mock/progress-rater", "--no-cache", "--out",
                                      str(tmp_path / "gold")])
    assert result.exit_code == 0, result.output
    lines = progress_lines(result.output, "scoring")
    assert len(lines) >= 3 and lines[-1] == (10, 10), result.output


def test_a_short_run_writes_no_progress_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LONGJUDGE_PROGRESS_INTERVAL", "60")
    with Progress(3) as progress:
        assert progress.mode == "log"  # stderr is not a terminal here
        progress.advance(3)
    assert capsys.readouterr().err == ""
    with Progress(3, enabled=False) as progress:
        assert progress.mode == "off"


def test_sample_shows_a_bar_in_a_terminal(tmp_path: Path) -> None:
    """stderr on a pseudo-terminal: the rich bar, not plain lines."""
    import os
    import pty
    import subprocess
    import sys
    import threading

    from tests.conftest import REPO

    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "100", "TERM": "xterm"}
    chunks: list[bytes] = []

    def drain() -> None:  # read while the command runs: a full pty would block it
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower side is closed and drained
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.run(
        [sys.executable, "-m", "longjudge", "sample", str(SFT), "--policy", "mock/schema",
         "--n", "3", "--out", str(tmp_path / "cands.jsonl")],
        stdout=subprocess.PIPE, stderr=follower, env=env, timeout=120, check=False,
    )
    os.close(follower)
    reader.join(timeout=30)
    os.close(leader)
    err = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, err
    assert "sampling" in err and "3/3" in err and "━" in err  # the bar, drawn
    assert not re.search(r"^sampling: \d+/\d+ candidates", err, re.M)  # no plain lines
