"""The http reward model backend against a real server on 127.0.0.1: the native contract,
vLLM's /classify and /pooling shapes, retries, caching and unusable answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from longjudge.errors import ConfigError, FatalJudgeError, RateLimitError, TransientJudgeError
from longjudge.runtime.cache import JudgeCache
from longjudge.runtime.usage import UsageTracker
from longjudge.scorers.reward_models import RMItem, RMOptions, create_reward_model
from longjudge.scorers.reward_models.http import HTTPRewardModel, status_error
from longjudge.scorers.s2l.config import S2LConfig
from tests.conftest import FAST_RETRY
from tests.rm_server import ServerState, free_port, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, ServerState]]:
    with running_server() as running:
        yield running


@pytest.fixture
def rm_http(server: tuple[str, ServerState]) -> tuple[str, ServerState]:
    url, state = server
    state.requests.clear()
    state.fail_next = 0
    return url, state


def make(
    url: str, cache: JudgeCache | None = None, **cfg: object
) -> tuple[HTTPRewardModel, UsageTracker]:
    usage = UsageTracker()
    options = RMOptions(S2LConfig.model_validate(cfg), FAST_RETRY, cache, usage)
    model = create_reward_model(f"http/{url}", options)
    assert isinstance(model, HTTPRewardModel)
    return model, usage


ITEMS = [
    RMItem("q?", "the reference", "SCORE=3 first"),
    RMItem("q?", None, "SCORE=3 first"),
    RMItem("q?", "the reference", "SCORE=-1.25 second"),
    RMItem("q?", None, "no number here"),
    RMItem("q?", None, "SCORE=7"),
]


def test_native_contract_in_order_and_in_batches(rm_http: tuple[str, ServerState]) -> None:
    url, state = rm_http
    model, usage = make(f"{url}/score", batch_size=2)
    scores = asyncio.run(model.score(ITEMS))
    assert [s.score for s in scores] == [3.5, 3.0, -0.75, len("no number here") / 100, 7.0]
    # Batches are sent concurrently: their arrival order is not fixed, their content is.
    assert sorted(len(body["items"]) for _, body in state.requests) == [1, 2, 2]
    first = next(b for _, b in state.requests if b["items"][0]["response"] == "SCORE=3 first")
    assert first["items"][0] == {
        "query": "q?", "reference": "the reference", "response": "SCORE=3 first"
    }
    assert first["items"][1]["reference"] is None
    assert usage.total().calls == 3


def test_transient_failure_is_retried(rm_http: tuple[str, ServerState]) -> None:
    url, state = rm_http
    state.fail_next = 2
    model, usage = make(f"{url}/score", batch_size=10)
    scores = asyncio.run(model.score(ITEMS[:2]))
    assert [s.score for s in scores] == [3.5, 3.0]
    assert len(state.requests) == 3  # two 503s, then the answer
    assert usage.total().retries == 2 and usage.total().calls == 1


def test_scores_are_cached_per_item(rm_http: tuple[str, ServerState], cache: JudgeCache) -> None:
    url, state = rm_http
    model, _ = make(f"{url}/score", cache=cache)
    first = asyncio.run(model.score(ITEMS[:3]))
    assert len(state.requests) == 1
    again, usage = make(f"{url}/score", cache=cache)
    second = asyncio.run(again.score([ITEMS[1], RMItem("q?", None, "SCORE=9 new"), ITEMS[0]]))
    assert [s.score for s in second] == [first[1].score, 9.0, first[0].score]
    assert [len(body["items"]) for _, body in state.requests] == [3, 1]  # only the new one
    assert usage.total().cache_hits == 2 and usage.total().calls == 1
    other_url, _ = make(f"{url}/classify", cache=cache)  # another server: another key
    asyncio.run(other_url.score([ITEMS[1]]))
    assert len(state.requests) == 3


def test_null_score_is_unscored_with_reason(rm_http: tuple[str, ServerState]) -> None:
    url, _ = rm_http
    model, _ = make(f"{url}/score")
    good, bad = asyncio.run(model.score([ITEMS[0], RMItem("q?", None, "NULL")]))
    assert good.score == 3.5
    assert bad.score is None and "no score" in (bad.reason or "")


@pytest.mark.parametrize("route", ["classify", "pooling"])
def test_vllm_endpoints(rm_http: tuple[str, ServerState], route: str) -> None:
    url, state = rm_http
    model, _ = make(f"{url}/{route}", http_model="my-rm")
    assert model.api == route
    scores = asyncio.run(model.score(ITEMS[:3]))
    assert [s.score for s in scores] == [3.5, 3.0, -0.75]
    assert len(state.requests) == 3  # one conversation per request
    bodies = [body for _, body in state.requests]
    assert all(b["model"] == "my-rm" and b["use_activation"] is False for b in bodies)
    users = sorted(b["messages"][0]["content"] for b in bodies
                   if b["messages"][1] == {"role": "assistant", "content": "SCORE=3 first"})
    assert users[0] == "q?"  # r(q,y): the query alone
    assert users[1].startswith("q?\n\n") and users[1].endswith("\nthe reference")


def test_unexpected_body_is_unscored_and_not_retried(rm_http: tuple[str, ServerState]) -> None:
    url, state = rm_http
    model, usage = make(f"{url}/broken", http_api="native")
    (result,) = asyncio.run(model.score([ITEMS[0]]))
    assert result.score is None and "scores" in (result.reason or "")
    assert len(state.requests) == 1 and usage.total().failures == 1


def test_unreachable_server_is_retried_then_unscored() -> None:
    model, usage = make(f"http://127.0.0.1:{free_port()}/score")
    (result,) = asyncio.run(model.score([ITEMS[0]]))
    assert result.score is None and "unreachable" in (result.reason or "")
    assert usage.total().retries == FAST_RETRY.max_attempts - 1


def test_status_classification() -> None:
    request = httpx.Request("POST", "http://x/score")
    limited = status_error(httpx.Response(429, headers={"retry-after": "7"}, request=request))
    assert isinstance(limited, RateLimitError) and limited.retry_after == 7.0
    assert isinstance(status_error(httpx.Response(502, request=request)), TransientJudgeError)
    assert isinstance(status_error(httpx.Response(400, request=request)), FatalJudgeError)
    assert status_error(httpx.Response(200, request=request)) is None


@pytest.mark.parametrize("spec", ["http", "http/", "http/ftp://x", "nope/x"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(ConfigError):
        create_reward_model(spec)
