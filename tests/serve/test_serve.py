"""The reward server over real HTTP on loopback: auth, limits, both request shapes, metrics,
timeouts, and a bounded load whose rewards equal direct scoring."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from longjudge.runtime.cache import JudgeCache
from longjudge.serve.app import create_app
from longjudge.serve.auth import BearerAuth
from longjudge.serve.config import GetRewardConfig, ServeConfig
from longjudge.serve.server import serve_in_thread
from longjudge.serve.service import RewardService
from tests.serve_data import POOL, PROMPTS, RESPONSES, TOKEN, direct_rewards, make_scorer, summary

AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMITS = ServeConfig(max_body_bytes=64 * 1024, max_batch_items=8)


@pytest.fixture(scope="module")
def expected() -> dict[tuple[str, str, str], tuple[Any, ...]]:
    return direct_rewards()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RewardService]]:
    cache = JudgeCache(tmp_path_factory.mktemp("serve") / "judge.sqlite")
    service = RewardService(make_scorer(cache))
    app = create_app(service, LIMITS, BearerAuth(TOKEN))
    with serve_in_thread(app) as url:
        yield url, service
    cache.close()


@pytest.fixture
def url(server: tuple[str, RewardService]) -> str:
    return server[0]


def post(url: str, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url + path, json=body, headers=headers or AUTH, timeout=60)


def test_health_needs_no_token(url: str) -> None:
    response = httpx.get(url + "/health")
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "ok", "method": "longreward", "judge": {"state": "unknown"}}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN},
     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"}],
    ids=["none", "wrong", "no-scheme", "basic", "longer"],
)
def test_requests_without_the_token_are_refused(url: str, headers: dict[str, str]) -> None:
    for path in ("/v1/rewards", "/get_reward"):
        response = httpx.post(url + path, json={"items": []}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert TOKEN not in response.text
    assert httpx.get(url + "/metrics", headers=headers).status_code == 401


def test_rewards_in_order_with_dimensions(url: str, expected: dict[Any, Any]) -> None:
    items = [POOL[5], POOL[0], POOL[9], POOL[1]]  # two prompts, interleaved
    response = post(url, "/v1/rewards", {"items": items})
    assert response.status_code == 200
    rewards = response.json()["rewards"]
    assert [r["candidate_id"] for r in rewards] == ["0", "1", "2", "3"]
    for item, reward in zip(items, rewards):
        assert summary(reward) == expected[(item["context"], item["query"], item["response"])]
        assert set(reward["dimensions"]) == {
            "helpfulness", "logicality", "faithfulness", "completeness"
        }
        assert reward["dimensions"]["faithfulness"]["details"]["statements"]
    # items of one prompt share one example (its per-prompt work is done once)
    assert rewards[1]["example_id"] == rewards[3]["example_id"] != rewards[0]["example_id"]


def test_bad_bodies_are_422(url: str) -> None:
    bad = httpx.post(url + "/v1/rewards", content=b"{not json", headers=AUTH)
    assert bad.status_code == 422
    missing = post(url, "/v1/rewards", {"items": [{"context": "c", "query": "q"}]})
    assert missing.status_code == 422
    unequal = post(url, "/get_reward", {"query": ["a", "b"], "prompts": ["a"]})
    assert unequal.status_code == 422


def test_oversized_body_is_413_with_or_without_content_length(url: str) -> None:
    big = {"items": [{"context": "x" * 70_000, "query": "q", "response": "r"}]}
    assert post(url, "/v1/rewards", big).status_code == 413
    data = json.dumps(big).encode()

    def chunks() -> Iterator[bytes]:  # chunked transfer: no Content-Length
        for start in range(0, len(data), 8192):
            yield data[start : start + 8192]

    response = httpx.post(url + "/v1/rewards", content=chunks(), headers=AUTH)
    assert response.status_code == 413


def test_oversized_batch_is_413(url: str) -> None:
    assert post(url, "/v1/rewards", {"items": POOL[:9]}).status_code == 413
    assert post(url, "/get_reward", {"query": ["q"] * 9}).status_code == 413
    assert post(url, "/v1/rewards", {"items": POOL[:8]}).status_code == 200


def openrlhf_prompt(ctx: str, question: str) -> str:
    return (
        f"<|im_start|>user\n{ctx}\n\nQuestion: {question}<|im_end|>\n<|im_start|>assistant\n"
    )


def test_openrlhf_shape_round_trips(url: str, expected: dict[Any, Any]) -> None:
    (c0, q0), (c1, q1) = PROMPTS[0], PROMPTS[1]
    prompts = [openrlhf_prompt(c0, q0), openrlhf_prompt(c1, q1), openrlhf_prompt(c0, q0)]
    answers = [RESPONSES[0], RESPONSES[2], RESPONSES[3]]
    queries = [p + a + "<|im_end|>" for p, a in zip(prompts, answers)]
    queries.append("no prompt prefix, no separator")
    prompts.append("something else")
    response = post(url, "/get_reward", {"query": queries, "prompts": prompts, "labels": [""] * 4})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"rewards", "scored", "reasons", "dimensions"}
    for k, (ctx, question, answer) in enumerate(
        [(c0, q0, answers[0]), (c1, q1, answers[1]), (c0, q0, answers[2])]
    ):
        _, total, dims = expected[(ctx, question, answer)]
        assert body["rewards"][k] == pytest.approx(total)
        assert body["scored"][k] is True
        assert body["dimensions"][k] == {name: score for name, (_, score) in dims}
    # an item that cannot be unpacked is null with a reason, never a silent 0
    assert body["rewards"][3] is None and body["scored"][3] is False
    assert body["reasons"][3].startswith("bad_request")


def test_openrlhf_label_may_carry_context_and_question(url: str, expected: dict[Any, Any]) -> None:
    ctx, question = PROMPTS[2]
    label = json.dumps({"context": ctx, "query": question})
    body = {"query": ["P:" + RESPONSES[1]], "prompts": ["P:"], "labels": [label]}
    result = post(url, "/get_reward", body).json()
    assert result["rewards"][0] == pytest.approx(expected[(ctx, question, RESPONSES[1])][1])


def test_metrics_are_prometheus_text(url: str) -> None:
    post(url, "/v1/rewards", {"items": POOL[:2]})
    response = httpx.get(url + "/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? -?[0-9.e+]+$')
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or sample.match(line), line
    assert re.search(r'longjudge_requests_total\{endpoint="/v1/rewards",code="200"\} [1-9]', text)
    assert re.search(r'longjudge_requests_total\{endpoint="/v1/rewards",code="401"\} [1-9]', text)
    assert re.search(r'longjudge_items_total\{status="scored",method="longreward"\} [1-9]', text)
    assert re.search(r'longjudge_judge_calls_total\{step="[a-z_.]+"\} [1-9]', text)
    assert re.search(r'longjudge_cache_lookups_total\{result="hit"\} [1-9]', text)
    assert re.search(r"longjudge_cache_entries [1-9]", text)


def test_slow_requests_get_504(tmp_path: Path) -> None:
    cache = JudgeCache(tmp_path / "slow.sqlite")
    service = RewardService(make_scorer(cache, delay=3.0))
    app = create_app(service, ServeConfig(request_timeout=0.3), BearerAuth(TOKEN))
    with serve_in_thread(app) as slow_url:
        response = post(slow_url, "/v1/rewards", {"items": POOL[:1]})
    cache.close()
    assert response.status_code == 504


def test_unscored_value_is_configurable(tmp_path: Path) -> None:
    config = ServeConfig(get_reward=GetRewardConfig(unscored_value=-1.0, scale=0.1))
    service = RewardService(make_scorer())
    with serve_in_thread(create_app(service, config, BearerAuth(None))) as open_url:
        ctx, question = PROMPTS[0]
        prompt = openrlhf_prompt(ctx, question)
        body = {"query": [prompt + RESPONSES[0], "unsplittable"], "prompts": [prompt, "x"]}
        result = httpx.post(open_url + "/get_reward", json=body, timeout=60).json()
    assert result["scored"] == [True, False]
    assert result["rewards"][1] == -1.0
    assert 0.0 <= result["rewards"][0] <= 1.0


def test_bounded_load_matches_direct_scoring(
    server: tuple[str, RewardService], expected: dict[Any, Any]
) -> None:
    url, service = server
    total, concurrency = 1000, 32

    async def run() -> list[tuple[int, httpx.Response]]:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=120, limits=limits) as c:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(total):
                queue.put_nowait(n)
            out: list[tuple[int, httpx.Response]] = []

            async def worker() -> None:
                while not queue.empty():
                    n = queue.get_nowait()
                    out.append((n, await c.post("/v1/rewards", json={"items": [POOL[n % 24]]})))

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return out

    calls_before = service.client.usage.total().calls
    responses = asyncio.run(run())
    assert len(responses) == total
    for n, response in responses:
        assert response.status_code == 200, response.text
        item = POOL[n % 24]
        (reward,) = response.json()["rewards"]
        assert summary(reward) == expected[(item["context"], item["query"], item["response"])]
    # the shared cache answered the repeats: far fewer judge calls than items scored
    assert service.client.usage.total().calls - calls_before < total
