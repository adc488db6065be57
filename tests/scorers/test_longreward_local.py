"""LongReward end to end on the real embedded judge (Gemma 3 270M via llama.cpp), short input.

The base model proves the real path (prompts, grammar-constrained JSON, parsing, caching); its
judgement is not the point, so the test checks structure, never particular scores.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from longjudge.config import JudgeConfig
from longjudge.judges.local import GRAMMAR_MAX_LENGTH, grammar_safe
from longjudge.runtime.cache import JudgeCache
from longjudge.runtime.client import JudgeClient
from longjudge.scorers.longreward import LongReward, LongRewardConfig
from longjudge.types import Candidate, Example

pytest.importorskip("llama_cpp")

CONTEXT = (
    "The Lindqvist bridge crosses the Mora river. Construction began in 1926 and the bridge "
    "opened in 1932. It is 410 metres long and carries two rail tracks. In 1971 a footpath was "
    "added on its eastern side. The city council voted in 2015 to repaint it in its original "
    "grey."
)


def test_grammar_bounds_are_capped_for_llama_cpp() -> None:
    schema = {"properties": {"a": {"type": "string", "maxLength": 1500}, "b": {"maxLength": 9}}}
    safe = grammar_safe(schema)
    assert safe["properties"]["a"]["maxLength"] == GRAMMAR_MAX_LENGTH
    assert safe["properties"]["b"]["maxLength"] == 9
    assert schema["properties"]["a"]["maxLength"] == 1500  # the request itself is untouched


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_longreward_on_the_local_judge(tmp_path: Path) -> None:
    from longjudge.judges.local import LocalJudge

    judge = LocalJudge("gemma-3-270m", JudgeConfig(local={"n_ctx": 4096, "n_threads": 2}))
    cache = JudgeCache(tmp_path / "c.sqlite")
    config = LongRewardConfig(
        max_statements=3,
        max_tokens=200,
        statement_analysis_chars=40,
        quote_chars=80,
        retrieval={"method": "bm25"},  # type: ignore[arg-type]  # the judge is the subject
    )
    example = Example(id="b", context=CONTEXT, query="When did the bridge open and how long is it?")
    candidate = Candidate(id="b-0", example_id="b", text="It opened in 1932 and is 410 m long.")
    lr = LongReward(JudgeClient(judge, cache=cache), config)
    (reward,) = lr.score_sync(example, [candidate])
    assert set(reward.dimensions) == {"helpfulness", "logicality", "faithfulness", "completeness"}
    for dim in reward.dimensions.values():
        # Scored with a value on 0-10 from a validated verdict, or unscored with a reason.
        assert (dim.status == "scored" and dim.score is not None and 0 <= dim.score <= 10) or (
            dim.status == "unscored" and dim.reason
        )
        assert dim.prompt_hashes
    faith = reward.dimensions["faithfulness"]
    for verdict in faith.details.get("statements", []):
        # the grammar held the proof's shape: a support verdict carries a checked quote
        if verdict["support"] in ("full", "partial"):
            quote = verdict["quote"]
            assert quote["status"] in {"verified", "other_excerpt", "not_shown", "not_found",
                                       "missing"}
            assert quote["excerpt"] == "" or quote["excerpt"].startswith("E")
            if quote["status"] in ("verified", "other_excerpt"):
                assert CONTEXT[quote["start"] : quote["end"]]
        elif verdict["support"] == "none":
            assert verdict["quote"] is None
    print("local judge faithfulness:", faith.status, faith.score, faith.reason,
          [(v["support"], (v["quote"] or {}).get("status")) for v in
           faith.details.get("statements", [])])
    calls = lr.client.usage.total().calls
    assert calls >= 4
    # The same job again comes from the cache: no new judge call.
    again = LongReward(JudgeClient(judge, cache=cache), config)
    (second,) = again.score_sync(example, [candidate])
    assert again.client.usage.total().calls == 0
    assert second.total == reward.total and second.status == reward.status
    cache.close()
    asyncio.run(judge.aclose())
