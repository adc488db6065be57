"""Properties (hypothesis): parsing never raises anything but ParseError on arbitrary text, and
cache keys change exactly when an output-changing field changes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longjudge.errors import ParseError
from longjudge.judges.base import JudgeRequest, JudgeResponse
from longjudge.prompts.base import Prompt, extract_json
from longjudge.runtime.cache import cache_key
from longjudge.scorers.longreward.outputs import BatchSupportOut, HelpfulnessOut

pytestmark = pytest.mark.reliability

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)
TEXT = st.one_of(
    st.text(),
    st.builds(lambda a, j, b: f"{a}{j}{b}", st.text(max_size=20), JSONISH.map(repr), st.text()),
    st.builds(lambda s: '{"analysis": ' + s, st.text()),
)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.sampled_from(["stop", "length", None]))
def test_parsing_never_raises_anything_but_parse_error(text: str, finish: str | None) -> None:
    for prompt in (Prompt("lr_helpfulness", HelpfulnessOut), Prompt("x", BatchSupportOut)):
        response = JudgeResponse(texts=[text], finish_reasons=[finish])
        try:
            out = prompt.parse(response)
        except ParseError as exc:
            assert exc.reason
        else:
            assert isinstance(out, prompt.output)
    try:
        extract_json(text)
    except ParseError:
        pass


BASE: dict[str, Any] = {
    "messages": ({"role": "user", "content": "hello"},),
    "schema": {"type": "object"},
    "temperature": 0.0,
    "max_tokens": 100,
    "seed": 1,
    "top_p": None,
    "n": 1,
}
CHANGES = {
    "messages": ({"role": "user", "content": "hello!"},),
    "schema": {"type": "object", "required": ["a"]},
    "temperature": 0.7,
    "max_tokens": 101,
    "seed": 2,
    "top_p": 0.9,
    "n": 2,
}
IDENTITY = {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1"}


@settings(max_examples=200, deadline=None)
@given(st.sets(st.sampled_from(sorted(CHANGES))), st.sampled_from(["model", "base_url", None]))
def test_cache_keys_differ_exactly_when_an_output_changing_field_differs(
    changed: set[str], identity_field: str | None
) -> None:
    a = JudgeRequest(**BASE)
    b = JudgeRequest(**{**BASE, **{k: CHANGES[k] for k in changed}})
    other = dict(IDENTITY)
    if identity_field:
        other[identity_field] = other[identity_field] + "-other"
    same = not changed and identity_field is None
    assert (cache_key(IDENTITY, a.cache_payload()) == cache_key(other, b.cache_payload())) == same


def test_timeouts_and_retry_settings_are_not_part_of_the_key() -> None:
    from longjudge.config import JudgeConfig, RetryConfig
    from longjudge.judges.openai import OpenAIJudge

    fast = OpenAIJudge("m", JudgeConfig(base_url="http://127.0.0.1:1/v1", timeout=1))
    slow = OpenAIJudge(
        "m", JudgeConfig(base_url="http://127.0.0.1:1/v1", timeout=300, max_concurrency=2)
    )
    request = JudgeRequest(**BASE).cache_payload()
    assert cache_key(fast.identity(), request) == cache_key(slow.identity(), request)
    assert RetryConfig().model_dump() != RetryConfig(max_attempts=2).model_dump()
