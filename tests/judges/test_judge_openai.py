"""The openai backend against the fake server (every fault kind) and the run machinery over it."""

from __future__ import annotations

import asyncio
import logging
import traceback
from pathlib import Path

import httpx
import pytest

from longjudge.config import RetryConfig
from longjudge.errors import (
    FatalJudgeError,
    JudgeError,
    ParseError,
    RateLimitError,
    TransientJudgeError,
)
from longjudge.judges.base import JudgeRequest
from longjudge.judges.openai import OpenAIJudge
from longjudge.prompts.check import CHECK_PROMPT, CheckOut, check_request
from longjudge.runtime.cache import JudgeCache
from longjudge.runtime.limiter import limiter_for
from longjudge.scorers.longreward import LongReward, LongRewardConfig
from longjudge.testing.fake_config import FakeJudgeConfig, FaultKind
from longjudge.testing.fake_judge import FakeJudgeServer
from longjudge.types import Candidate, Example
from tests.judge_helpers import (
    assert_cache_holds_only_valid,
    cache_values,
    fault_config,
    openai_client,
    openai_judge,
)

RETRY = RetryConfig(
    max_attempts=3, max_total_seconds=20, initial_backoff=0.01, max_backoff=0.05, jitter=0.0
)
HANG_TIMEOUT = 1.0  # the client timeout that a hang outlasts
# Every other fault answers at once; a generous timeout keeps a slow, shared CI machine from
# turning a late answer into an extra "timeout" fault the server never saw.
TIMEOUT = 30.0


def timeout_for(kind: FaultKind) -> float:
    return HANG_TIMEOUT if kind == "hang" else TIMEOUT
TRANSPORT: dict[str, type[JudgeError]] = {
    "rate_limit": RateLimitError,
    "server_error": TransientJudgeError,
    "hang": TransientJudgeError,
    "drop": TransientJudgeError,
    "malformed_json": TransientJudgeError,
    "auth": FatalJudgeError,
}
PARSE = {"truncated": "truncated_output", "schema_invalid": "schema_invalid"}
ALL_KINDS = [*TRANSPORT, *PARSE]


def test_structured_call_usage_and_n() -> None:
    async def go(server: FakeJudgeServer) -> None:
        judge = openai_judge(server)
        response = await judge.generate(check_request())
        assert CHECK_PROMPT.parse(response).answer in ("yes", "no")
        assert response.structured and judge.dialect == "json_schema"
        assert response.prompt_tokens > 0 and response.completion_tokens > 0
        several = await judge.generate(check_request().model_copy(update={"n": 3}))
        assert len(several.texts) == 3
        await judge.aclose()

    with FakeJudgeServer() as server:
        asyncio.run(go(server))
    assert server.requests[0]["response_format"] == "json_schema"
    assert server.requests[1]["n"] == 3


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_fault_is_classified(kind: FaultKind) -> None:
    async def go(server: FakeJudgeServer) -> None:
        judge = openai_judge(server, timeout=timeout_for(kind))
        try:
            if kind in PARSE:
                response = await judge.generate(check_request())
                with pytest.raises(ParseError) as parse_error:
                    CHECK_PROMPT.parse(response)
                assert parse_error.value.reason == PARSE[kind]
                return
            with pytest.raises(Exception) as raised:
                await judge.generate(check_request())
            classified = judge.classify_error(raised.value)
            assert type(classified) is TRANSPORT[kind]
            if kind == "rate_limit":
                assert classified is not None and classified.retry_after == 0.25
        finally:
            await judge.aclose()

    with FakeJudgeServer(fault_config(kind, retry_after=0.25)) as server:
        asyncio.run(go(server))


@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k != "auth"])
def test_client_retries_then_succeeds_and_caches_only_the_valid_output(
    kind: FaultKind, tmp_path: Path
) -> None:
    cache = JudgeCache(tmp_path / "judge.sqlite")

    async def go(server: FakeJudgeServer) -> CheckOut:
        client = openai_client(server, cache=cache, retry=RETRY, timeout=timeout_for(kind))
        try:
            return await client.complete(check_request(), step="check", parse=CHECK_PROMPT.parse)
        finally:
            usage = client.usage.total()
            await client.aclose()
            if kind in PARSE:
                assert (usage.calls, usage.failures, usage.retries) == (2, 1, 0)
            else:
                assert (usage.calls, usage.retries) == (1, 1)

    with FakeJudgeServer(fault_config(kind, max_faults=1, retry_after=0.01)) as server:
        out = asyncio.run(go(server))
    assert out.answer in ("yes", "no")
    assert [r["fault"] for r in server.requests] == [kind, None]
    cache.close()
    assert assert_cache_holds_only_valid(tmp_path / "judge.sqlite") == 1


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_persistent_fault_ends_in_a_clear_error_and_nothing_cached(
    kind: FaultKind, tmp_path: Path
) -> None:
    cache = JudgeCache(tmp_path / "judge.sqlite")

    async def go(server: FakeJudgeServer) -> None:
        client = openai_client(server, cache=cache, retry=RETRY, timeout=timeout_for(kind))
        try:
            await client.complete(check_request(), step="check", parse=CHECK_PROMPT.parse)
        finally:
            await client.aclose()

    with (
        FakeJudgeServer(fault_config(kind, retry_after=0.01)) as server,
        pytest.raises((JudgeError, ParseError)) as raised,
    ):
        asyncio.run(go(server))
    if kind in PARSE:
        assert isinstance(raised.value, ParseError) and raised.value.reason == PARSE[kind]
        expected_calls = RETRY.parse_retries + 1
    else:
        assert type(raised.value) is TRANSPORT[kind]
        expected_calls = 1 if kind == "auth" else RETRY.max_attempts  # fatal: never retried
    assert len(server.requests) == expected_calls
    assert str(raised.value)
    cache.close()
    assert cache_values(tmp_path / "judge.sqlite") == []


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_scorer_turns_a_failed_judge_into_unscored(kind: FaultKind) -> None:
    example = Example(id="e", context="The harbour handles 30 ships a year.", query="How many?")
    candidate = Candidate(id="e-1", example_id="e", text="Thirty ships.")

    async def go(server: FakeJudgeServer) -> str | None:
        client = openai_client(server, retry=RETRY, timeout=timeout_for(kind))
        scorer = LongReward(client, LongRewardConfig(dimensions=["helpfulness"]))
        (reward,) = await scorer.score(example, [candidate])
        await client.aclose()
        assert reward.status == "unscored" and reward.total is None
        dimension = reward.dimensions["helpfulness"]
        assert dimension.status == "unscored" and dimension.score is None
        return dimension.reason

    with FakeJudgeServer(fault_config(kind, retry_after=0.01)) as server:
        reason = asyncio.run(go(server))
    assert reason and reason.startswith("helpfulness")
    assert PARSE.get(kind, "judge error") in reason


def test_a_healthy_server_scores() -> None:
    example = Example(id="e", context="The harbour handles 30 ships a year.", query="How many?")
    candidate = Candidate(id="e-1", example_id="e", text="Thirty ships.")

    async def go(server: FakeJudgeServer) -> float | None:
        client = openai_client(server)
        scorer = LongReward(client, LongRewardConfig(dimensions=["helpfulness"]))
        (reward,) = await scorer.score(example, [candidate])
        await client.aclose()
        return reward.total

    with FakeJudgeServer() as server:
        total = asyncio.run(go(server))
    assert total is not None and 0 <= total <= 10


def test_retry_after_is_honoured_and_the_limiter_backs_off() -> None:
    retry = RetryConfig(max_attempts=3, initial_backoff=0.01, max_backoff=5.0, jitter=0.0)

    async def go(server: FakeJudgeServer) -> None:
        client = openai_client(server, retry=retry, max_concurrency=16)
        await client.complete(check_request(), step="check", parse=CHECK_PROMPT.parse)
        limiter = limiter_for(client.judge.endpoint, client.max_concurrency)
        assert limiter.overloads == 1 and limiter.limit == 16  # 32 halved by the 429 (slow start)
        await client.aclose()

    config = fault_config("rate_limit", max_faults=1, retry_after=0.3)
    with FakeJudgeServer(config) as server:
        asyncio.run(go(server))
    first, second = server.requests
    assert (first["status"], second["status"]) == (429, 200)
    assert second["time"] - first["time"] >= 0.29  # waited at least Retry-After, not 0.01


def test_auto_dialect_falls_back_to_json_object_once() -> None:
    async def go(server: FakeJudgeServer) -> None:
        judge = openai_judge(server)
        for question in ("Is ice cold?", "Is fire cold?"):
            response = await judge.generate(check_request(question))
            CHECK_PROMPT.parse(response)
            assert response.structured
        assert judge.dialect == "json_object"
        await judge.aclose()

    with FakeJudgeServer(FakeJudgeConfig(reject_json_schema=True)) as server:
        asyncio.run(go(server))
    formats = [(r["response_format"], r["status"]) for r in server.requests]
    assert formats == [("json_schema", 500), ("json_object", 200), ("json_object", 200)]


def test_explicit_json_schema_against_a_server_that_rejects_it_is_fatal() -> None:
    async def go(server: FakeJudgeServer) -> None:
        client = openai_client(server, retry=RETRY, structured_output="json_schema")
        try:
            await client.complete(check_request(), step="check", parse=CHECK_PROMPT.parse)
        finally:
            await client.aclose()

    with (
        FakeJudgeServer(FakeJudgeConfig(reject_json_schema=True)) as server,
        pytest.raises(FatalJudgeError, match="structured_output"),
    ):
        asyncio.run(go(server))
    assert len(server.requests) == 1  # a dialect error is never retried


def test_a_transient_500_does_not_downgrade_the_dialect() -> None:
    async def go(server: FakeJudgeServer) -> None:
        client = openai_client(server)
        for question in ("Is ice cold?", "Is fire cold?"):
            await client.complete(check_request(question), step="c", parse=CHECK_PROMPT.parse)
        assert isinstance(client.judge, OpenAIJudge) and client.judge.dialect == "json_schema"
        await client.aclose()

    with FakeJudgeServer(fault_config("server_error", max_faults=1)) as server:
        asyncio.run(go(server))
    assert {r["response_format"] for r in server.requests} == {"json_schema"}
    assert [r["status"] for r in server.requests] == [500, 200, 200]


def test_plain_request_sends_no_response_format() -> None:
    async def go(server: FakeJudgeServer) -> None:
        judge = openai_judge(server)
        request = JudgeRequest(messages=({"role": "user", "content": "Say hi."},))
        response = await judge.generate(request)
        assert response.text and not response.structured
        await judge.aclose()

    with FakeJudgeServer() as server:
        asyncio.run(go(server))
    assert server.requests[0]["response_format"] is None


SECRET = "sk-longjudge-canary-5f1e9b77d2"


def test_the_api_key_never_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LJ_CANARY_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    cache = JudgeCache(tmp_path / "cache" / "judge.sqlite")
    log_file = tmp_path / "requests.jsonl"
    config = FakeJudgeConfig(log_file=str(log_file), fault_rate=1.0, max_faults=2,
                             fault_mix={"rate_limit": 1.0}, retry_after=0.01)
    errors: list[BaseException] = []
    rewards: list[str] = []

    async def go(server: FakeJudgeServer) -> None:
        client = openai_client(server, cache=cache, retry=RETRY, api_key_env="LJ_CANARY_KEY")
        # Succeeds after two 429s, and is cached.
        await client.complete(check_request(), step="check", parse=CHECK_PROMPT.parse)
        # Now every request is refused with a 401 that echoes the key.
        server.config.fault_mix = {"auth": 1.0}
        server.config.max_faults = None
        try:
            await client.complete(check_request("Is snow hot?"), step="c",
                                  parse=CHECK_PROMPT.parse)
        except JudgeError as exc:
            errors.append(exc)
        scorer = LongReward(client, LongRewardConfig(dimensions=["helpfulness"]))
        example = Example(id="e", context="Some context.", query="A question?")
        (reward,) = await scorer.score(example, [Candidate(id="c", example_id="e", text="x")])
        rewards.append(reward.model_dump_json())
        await client.aclose()

    with FakeJudgeServer(config) as server:
        asyncio.run(go(server))
        # The check can fail: the server really does echo the key it was sent.
        echoed = httpx.post(f"{server.base_url}/chat/completions", timeout=5,
                            json={"model": "m", "messages": []},
                            headers={"Authorization": f"Bearer {SECRET}"})
        assert SECRET in echoed.text
    cache.close()
    (error,) = errors
    assert isinstance(error, FatalJudgeError)
    texts = [
        str(error), repr(error), "".join(traceback.format_exception(error)),
        caplog.text, *rewards, log_file.read_text(), *capfd.readouterr(),
    ]
    assert "Incorrect API key" in str(error)
    for text in texts:
        assert SECRET not in text
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").iterdir())
    assert SECRET.encode() not in stored and len(cache_values(cache.path)) == 1
