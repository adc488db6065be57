"""``longjudge serve --method longbench-chat`` over real HTTP (the reward server on loopback, the
fake judge behind it on loopback): the registered LongBench-Chat scorer served like the others,
the same ratings as in process, an item without a reference unscored with the reason, and the
scoring context closed by the server's lifespan."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from longjudge.config import ScoreConfig, build_config
from longjudge.scoring import ScoringContext
from longjudge.serve.config import ServeConfig
from longjudge.serve.server import ServerSettings, build_app, serve_in_thread
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from longjudge.types import Candidate, Example, Reward
from tests.conftest import REPO
from tests.rl_helpers import context, question, score_config

TOKEN = "lbc-serve-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ANSWERS = ["Bend 1 ground three sacks.", "Many sacks.", "Bend 4 ground six sacks, I think."]


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer(FakeJudgeConfig()) as server:
        yield server


def config(judge: FakeJudgeServer, tmp_path: Path) -> ScoreConfig:
    layer = score_config(judge, cache=True)
    layer["cache"]["path"] = str(tmp_path / "judge.sqlite")
    layer["longbench_chat"] = {"analysis_chars": 200}
    return build_config(ScoreConfig, layer)


def test_served_ratings_equal_in_process_ratings(judge: FakeJudgeServer, tmp_path: Path) -> None:
    settings = ServerSettings("openai/fake-judge", "longbench-chat", config(judge, tmp_path),
                              ServeConfig())
    app = build_app(settings, TOKEN)
    reference = "The mills ground many sacks."
    items = [{"context": context(0), "query": question(0), "response": a, "reference": reference}
             for a in ANSWERS]
    items.append({"context": context(1), "query": question(1), "response": "No idea."})
    with serve_in_thread(app) as url:
        health = httpx.get(url + "/health").json()
        assert health["method"] == "lbc_judge"
        response = httpx.post(url + "/v1/rewards", json={"items": items}, headers=AUTH,
                              timeout=60)
        assert response.status_code == 200, response.text
        rewards = response.json()["rewards"]
        served: ScoringContext = app.state.scoring
        assert not served.closed
    assert served.closed  # the lifespan closed the context: client, then the SQLite cache
    assert served.cache is not None
    with pytest.raises(sqlite3.ProgrammingError):
        served.cache._conn.execute("SELECT 1")

    assert [r["status"] for r in rewards] == ["scored"] * 3 + ["unscored"]
    assert "no reference answer" in rewards[3]["reason"]
    assert all(r["method"] == "lbc_judge" and set(r["dimensions"]) == {"rating"}
               for r in rewards)

    # the same ratings in process (a fresh cache: every rating is asked of the judge again)
    fresh = config(judge, tmp_path / "fresh")
    example = Example(id="x", context=context(0), query=question(0), reference=reference)
    candidates = [Candidate(id=str(i), example_id="x", text=a) for i, a in enumerate(ANSWERS)]
    before = len(judge.requests)

    async def in_process() -> list[Reward]:
        async with ScoringContext("openai/fake-judge", "longbench-chat", fresh) as scoring:
            return await scoring.scorer.score(example, candidates)

    local = asyncio.run(in_process())
    assert len(judge.requests) - before == len(ANSWERS)
    assert [r.total for r in local] == [r["total"] for r in rewards[:3]]
    assert all(1 <= (r.total or 0) <= 10 for r in local)


def test_the_serve_command_serves_longbench_chat(judge: FakeJudgeServer, tmp_path: Path) -> None:
    """The real command in its own process: its config's ``longbench_chat:`` section is used,
    and it shuts down cleanly (the lifespan closes the context) on SIGINT."""
    cfg = tmp_path / "serve.yaml"
    cfg.write_text(yaml.safe_dump({**score_config(judge), "longbench_chat": {"max_shots": 0}}))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "longjudge", "serve", "--judge", "openai/fake-judge",
         "--method", "longbench-chat", "--config", str(cfg), "--port", str(port), "--no-auth"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(url + "/health", timeout=2).json()
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout
                time.sleep(0.2)
        assert health["method"] == "lbc_judge"
        item = {"context": context(2), "query": question(2), "response": ANSWERS[0],
                "reference": "Six sacks."}
        response = httpx.post(url + "/v1/rewards", json={"items": [item]}, timeout=60)
        assert response.status_code == 200, response.text
        (reward,) = response.json()["rewards"]
        assert reward["status"] == "scored" and 1 <= reward["total"] <= 10
        assert reward["meta"]["shots"] == 0
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "serving longbench-chat" in output and "Traceback" not in output
