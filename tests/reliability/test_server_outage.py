"""The reward server when its judge dies and comes back, over real HTTP on loopback.

The judge is the fake OpenAI-compatible server; the reward server is built as ``longjudge serve``
builds it. When the judge stops answering connections, a scoring request in flight and every
request after it get 503 with ``Retry-After`` (not a 200 full of unscored items after the whole
retry budget); ``/health`` says the judge is unreachable and ``/metrics`` counts it. When the
judge is back, a probe closes the circuit and scoring resumes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from longjudge.config import ScoreConfig, build_config
from longjudge.serve.config import ServeConfig
from longjudge.serve.server import ServerSettings, build_app, serve_in_thread
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]

TOKEN = "outage-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ITEMS = [
    {
        "context": "The mill on the river ground wheat for the town from 1820 to 1910.",
        "query": "When did the mill grind wheat?",
        "response": f"From 1820 to 1910, answer {k}.",
    }
    for k in range(2)
]


def settings(base_url: str, tmp: Path) -> ServerSettings:
    score = build_config(
        ScoreConfig,
        {
            "judge": {"base_url": base_url, "timeout": 5.0, "max_concurrency": 4},
            "cache": {"enabled": False},
            "retry": {
                "max_attempts": 6,
                "initial_backoff": 0.05,
                "max_backoff": 0.2,
                "jitter": 0.01,
            },
            "longreward": {"dimensions": ["helpfulness"]},
        },
    )
    serve = ServeConfig(breaker_failures=3, breaker_probe_interval=0.2)
    return ServerSettings(judge="openai/fake-judge", score=score, serve=serve)


@pytest.fixture
def judge() -> Iterator[FakeJudgeServer]:
    server = FakeJudgeServer(FakeJudgeConfig()).start()
    yield server
    server.stop()


def wait_for(url: str, state: str, limit: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        health: dict[str, Any] = httpx.get(url + "/health").json()
        if health["judge"]["state"] == state or time.monotonic() > deadline:
            return health
        time.sleep(0.05)


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {name}")


def test_judge_outage_fails_fast_and_recovers(judge: FakeJudgeServer, tmp_path: Path) -> None:
    port = judge.port
    app = build_app(settings(judge.base_url, tmp_path), TOKEN)
    with serve_in_thread(app) as url:
        ok = httpx.post(url + "/v1/rewards", json={"items": ITEMS}, headers=AUTH, timeout=60)
        assert ok.status_code == 200
        assert [r["status"] for r in ok.json()["rewards"]] == ["scored", "scored"]
        assert httpx.get(url + "/health").json()["judge"]["state"] == "ok"

        judge.stop()  # the judge dies: connections are refused from now on
        down = httpx.post(url + "/v1/rewards", json={"items": ITEMS}, headers=AUTH, timeout=60)
        assert down.status_code == 503, down.text[:600]
        assert int(down.headers["retry-after"]) >= 1
        assert "unreachable" in down.json()["detail"]
        health = httpx.get(url + "/health").json()
        assert health["status"] == "judge_unreachable"
        assert health["judge"]["state"] == "unreachable"
        assert health["judge"]["circuit"] == "open"

        # While it is down, every scoring request is refused at once, both shapes.
        again = httpx.post(url + "/v1/rewards", json={"items": ITEMS}, headers=AUTH, timeout=60)
        assert again.status_code == 503
        body = {"query": ["ctx\n\nQuestion: q? answer"], "prompts": ["ctx\n\nQuestion: q? "]}
        assert httpx.post(url + "/get_reward", json=body, headers=AUTH).status_code == 503
        metrics = httpx.get(url + "/metrics", headers=AUTH).text
        assert metric(metrics, "longjudge_judge_circuit_open") == 1
        assert metric(metrics, "longjudge_judge_connection_failures_total") >= 3
        assert metric(metrics, "longjudge_judge_circuit_opened_total") == 1
        assert metric(metrics, "longjudge_judge_unavailable_responses_total") == 3

        # The judge comes back on the same address: a probe closes the circuit.
        revived = FakeJudgeServer(FakeJudgeConfig(), port=port).start()
        try:
            health = wait_for(url, "ok")
            assert health["judge"]["circuit"] == "closed", health
            back = httpx.post(url + "/v1/rewards", json={"items": ITEMS}, headers=AUTH, timeout=60)
            assert back.status_code == 200
            assert [r["status"] for r in back.json()["rewards"]] == ["scored", "scored"]
            metrics = httpx.get(url + "/metrics", headers=AUTH).text
            assert metric(metrics, "longjudge_judge_circuit_open") == 0
            assert metric(metrics, "longjudge_judge_probes_total") >= 1
        finally:
            revived.stop()
