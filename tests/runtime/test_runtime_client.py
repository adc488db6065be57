"""JudgeClient: parse retries, what gets cached, usage accounting and dry runs."""

from __future__ import annotations

import asyncio

import pytest

from longjudge.errors import ParseError, TransientJudgeError
from longjudge.judges.base import JudgeResponse
from longjudge.judges.mock import MockJudge
from longjudge.prompts.check import CHECK_PROMPT, CheckOut, check_request
from longjudge.runtime.cache import JudgeCache, cache_key
from longjudge.runtime.client import JudgeClient
from longjudge.runtime.usage import UsageTracker
from tests.conftest import FAST_RETRY, make_client

REQUEST = check_request()
YES, NO = '{"answer": "yes"}', '{"answer": "no"}'


def complete(client: JudgeClient, **kw: object) -> CheckOut:
    return asyncio.run(client.complete(REQUEST, step="check", parse=CHECK_PROMPT.parse, **kw))


def stored(client: JudgeClient, cache: JudgeCache) -> JudgeResponse | None:
    return cache.get(cache_key(client.judge.identity(), REQUEST.cache_payload()))


def test_an_unusable_output_is_asked_again_and_only_the_valid_one_is_cached(
    cache: JudgeCache,
) -> None:
    client = make_client(['{"answer": "maybe"}', YES], cache=cache)
    assert complete(client).answer == "yes"
    judge = client.judge
    assert isinstance(judge, MockJudge) and judge.calls == 2
    assert judge.requests[0] == judge.requests[1]  # the same request, sent again
    hit = stored(client, cache)
    assert hit is not None and hit.texts == [YES] and len(cache) == 1
    usage = client.usage.total()
    assert (usage.calls, usage.failures, usage.cache_hits) == (2, 1, 0)


def test_outputs_that_never_parse_are_never_cached(cache: JudgeCache) -> None:
    client = make_client(["not json at all", '{"answer": 3}'], cache=cache)
    with pytest.raises(ParseError) as raised:
        complete(client)
    assert raised.value.reason == "schema_invalid"
    assert len(cache) == 0


def test_a_failed_judge_call_is_never_cached(cache: JudgeCache) -> None:
    client = make_client([TransientJudgeError(f"500 #{i}") for i in range(4)], cache=cache)
    with pytest.raises(TransientJudgeError):
        complete(client)
    assert len(cache) == 0
    assert client.usage.total().retries == FAST_RETRY.max_attempts - 1


def test_a_cached_output_the_parser_now_rejects_is_dropped_and_asked_again(
    cache: JudgeCache,
) -> None:
    client = make_client([NO], cache=cache)
    cache.put(cache_key(client.judge.identity(), REQUEST.cache_payload()),
              JudgeResponse(texts=['{"verdict": "old format"}']))
    assert complete(client).answer == "no"
    assert client.judge.calls == 1  # type: ignore[attr-defined]
    hit = stored(client, cache)
    assert hit is not None and hit.texts == [NO]


def test_dry_run_counts_calls_and_tokens_without_calling(cache: JudgeCache) -> None:
    judge = MockJudge([])  # an empty script: any real call would fail the test
    client = JudgeClient(judge, retry=FAST_RETRY, cache=cache, dry_run=True)
    out = complete(client)
    assert out.answer in ("yes", "no")
    assert judge.calls == 0 and len(cache) == 0
    usage = client.usage.total()
    assert usage.calls == 1 and usage.prompt_tokens > 0 and usage.completion_tokens > 0


def test_usage_goes_to_the_client_and_to_a_per_dimension_tracker() -> None:
    client = make_client([JudgeResponse(texts=[YES], prompt_tokens=40, completion_tokens=5)])
    dimension = UsageTracker()
    complete(client, usage=dimension)
    for tracker in (client.usage, dimension):
        usage = tracker.steps["check"]
        assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 40, 5)


def test_raw_generate_is_not_cached(cache: JudgeCache) -> None:
    client = make_client([YES, NO], cache=cache)
    first = asyncio.run(client.generate(REQUEST, step="sample"))
    second = asyncio.run(client.generate(REQUEST, step="sample"))
    assert (first.text, second.text) == (YES, NO)
    assert len(cache) == 0


def test_a_freed_slot_sends_the_next_request_before_the_answer_is_acted_on(
    cache: JudgeCache,
) -> None:
    # Answers come in waves; a slot freed by one must carry the next request out before the
    # caller works on the answer, or the judge waits for the client. The answer is cached
    # first, so that a run killed in between never asks it again.
    judge = MockJudge([YES, NO], delay=0.01)
    client = JudgeClient(judge, retry=FAST_RETRY, max_concurrency=1, cache=cache)
    seen: list[tuple[int, int]] = []  # (requests sent, entries cached) when a caller resumes

    async def one() -> CheckOut:
        out = await client.complete(REQUEST, step="check", parse=CHECK_PROMPT.parse)
        seen.append((judge.calls, len(cache)))
        return out

    async def go() -> list[CheckOut]:
        return list(await asyncio.gather(one(), one()))

    first, second = asyncio.run(go())
    assert {first.answer, second.answer} == {"yes", "no"}
    assert seen[0] == (2, 1)  # the second request was out, the first answer already cached
