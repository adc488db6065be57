"""LongJudgeReward against the fake judge over real HTTP: the same rewards as `longjudge score`,
per-prompt work once per group, None (never 0) for unscored, logs for the trainer, running
inside an event loop, and scoring through a running `longjudge serve`."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from longjudge.errors import ConfigError
from longjudge.rl import LongJudgeReward, RewardInput
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from tests.rl_helpers import context, question, schema_counts, score_config

ANSWERS = [
    "Bend 1 ground three sacks. Miller1 ran it.",
    "The mills ground many sacks in total.",
    "Bend 2 ground four sacks, bend 3 ground five.",
]


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer(FakeJudgeConfig(record_bodies=True)) as server:
        yield server


def batch() -> tuple[list[Any], list[Any], dict[str, list[Any]]]:
    """Two prompts, three completions each, interleaved as a trainer may hand them over; the
    first prompt's completions are strings, the second's conversations."""
    prompts, completions, columns = [], [], {"context": [], "query": []}
    for k in range(3):
        for i in (0, 1):
            text = ANSWERS[k]
            if i == 1:
                prompts.append([{"role": "user", "content": question(i)}])
                completions.append([{"role": "assistant", "content": text}])
            else:
                prompts.append(question(i))
                completions.append(text)
            columns["context"].append(context(i))
            columns["query"].append(question(i))
    return prompts, completions, columns


def cli_totals(tmp_path: Path, server: FakeJudgeServer) -> dict[tuple[str, str], float | None]:
    """The same six completions scored by `longjudge score`'s job: (query, text) -> total."""
    from longjudge.config import ScoreConfig, build_config
    from longjudge.runtime.rundir import RunDir
    from longjudge.scoring import ScoreJob, run_job_sync

    examples = tmp_path / "examples.jsonl"
    responses = tmp_path / "responses.jsonl"
    examples.write_text("".join(
        json.dumps({"id": f"e{i}", "context": context(i), "query": question(i)}) + "\n"
        for i in (0, 1)))
    responses.write_text("".join(
        json.dumps({"id": f"e{i}-{k}", "example_id": f"e{i}", "text": ANSWERS[k]}) + "\n"
        for i in (0, 1) for k in range(3)))
    config = build_config(ScoreConfig, score_config(server))
    job = ScoreJob(examples, responses, "openai/fake-judge", "longreward", config, tmp_path / "run")
    run_job_sync(job)
    out = {}
    for reward in RunDir(tmp_path / "run").rewards():
        i, k = reward.candidate_id[1], int(reward.candidate_id.split("-")[1])
        out[(question(int(i)), ANSWERS[k])] = reward.total
    return out


def test_same_rewards_as_score_and_prepare_once_per_group(
    judge: FakeJudgeServer, tmp_path: Path
) -> None:
    prompts, completions, columns = batch()
    expected = cli_totals(tmp_path, judge)
    mark = len(judge.requests)
    with LongJudgeReward("longreward", "openai/fake-judge", config=score_config(judge)) as reward:
        values = reward(prompts=prompts, completions=completions, **columns)
        stats = reward.stats
    assert reward.__name__ == "longjudge_longreward"
    assert len(values) == 6 and all(isinstance(v, float) for v in values)
    for k in range(3):
        for i in (0, 1):
            value = values[2 * k + i]
            assert value == pytest.approx(expected[(question(i), ANSWERS[k])])
    # per-prompt work once per group: one key-point extraction per prompt (one window each),
    # while the per-completion steps ran once per completion
    counts = schema_counts(judge, mark)
    assert counts["lr_keypoints"] == 2
    assert counts["lr_helpfulness"] == counts["lr_logicality"] == counts["lr_coverage"] == 6
    assert (stats.groups, stats.prepared, stats.completions, stats.unscored) == (2, 2, 6, 0)


def test_prepared_work_is_kept_between_calls(judge: FakeJudgeServer) -> None:
    columns = {"context": [context(3)] * 2, "query": [question(3)] * 2}
    with LongJudgeReward(judge="openai/fake-judge", config=score_config(judge)) as reward:
        mark = len(judge.requests)
        first = reward(completions=ANSWERS[:2], **columns)
        second = reward(completions=ANSWERS[1:], **columns)
        assert (reward.stats.prepared, reward.stats.prepared_reused) == (1, 1)
    assert schema_counts(judge, mark)["lr_keypoints"] == 1
    assert first[1] == second[0]
    with LongJudgeReward(judge="openai/fake-judge", config=score_config(judge),
                         prepared_cache_size=0) as fresh:
        fresh(completions=ANSWERS[:2], **columns)
        fresh(completions=ANSWERS[1:], **columns)
        assert (fresh.stats.prepared, fresh.stats.prepared_reused) == (2, 0)


def test_unscored_is_none_with_the_reason_logged(
    judge: FakeJudgeServer, caplog: pytest.LogCaptureFixture
) -> None:
    columns = {"context": [context(0), "  ", context(0)], "query": [question(0)] * 3}
    completions: list[Any] = [ANSWERS[0], ANSWERS[1], [{"role": "assistant", "content": 7}]]
    with LongJudgeReward(judge="openai/fake-judge", config=score_config(judge)) as reward:
        with caplog.at_level(logging.WARNING, logger="longjudge.rl"):
            values = reward(completions=completions, **columns)
        assert isinstance(values[0], float)
        assert values[1] is None and values[2] is None
        assert reward.last_metrics["unscored"] == 2.0
        assert reward.stats.unscored_reasons == {"bad_request": 2}
    assert "2 of 3 completions unscored (bad_request)" in caplog.text


def test_a_failing_judge_gives_none_never_zero(caplog: pytest.LogCaptureFixture) -> None:
    config = FakeJudgeConfig(fault_rate=1.0, fault_mix={"server_error": 1.0})
    with FakeJudgeServer(config) as broken:
        with LongJudgeReward(judge="openai/fake-judge", config=score_config(broken)) as reward:
            with caplog.at_level(logging.WARNING, logger="longjudge.rl"):
                values = reward(completions=ANSWERS[:2], context=[context(1)] * 2,
                                query=[question(1)] * 2)
            rewards = reward.score([RewardInput(context(1), question(1), ANSWERS[2])])
    assert values == [None, None]
    assert rewards[0].status == "unscored" and "unscored" in (rewards[0].reason or "")
    assert "completions unscored" in caplog.text


def test_trainer_logs_get_dimensions_and_unscored_count(judge: FakeJudgeServer) -> None:
    metrics: dict[str, float] = {}
    extra: dict[str, list[Any]] = {}
    prompts, completions, columns = batch()
    columns["context"][5] = ""  # one row without context: unscored
    with LongJudgeReward(judge="openai/fake-judge", config=score_config(judge),
                         name="lj", scale=0.1) as reward:
        values = reward(prompts=prompts, completions=completions, **columns,
                        log_metric=metrics.__setitem__, log_extra=extra.__setitem__,
                        trainer_state=object(), completion_ids=[[1]] * 6)
    assert values[5] is None and all(v is not None and 0 <= v <= 1 for v in values[:5])
    assert metrics["lj/unscored"] == 1.0
    assert metrics["lj/unscored_frac"] == pytest.approx(1 / 6)
    for dim in ("helpfulness", "logicality", "faithfulness", "completeness"):
        column = extra[f"lj/{dim}"]
        assert len(column) == 6 and column[5] is None
        scored = [v for v in column if v is not None]
        assert metrics[f"lj/dimensions/{dim}"] == pytest.approx(sum(scored) / len(scored))
    assert metrics["lj/judge_calls"] > 0
    assert extra["lj/reason"][5].startswith("bad_request") and extra["lj/reason"][0] == ""


def test_callable_inside_a_running_event_loop(judge: FakeJudgeServer) -> None:
    columns = {"context": [context(2)] * 2, "query": [question(2)] * 2}
    with LongJudgeReward(judge="openai/fake-judge", config=score_config(judge)) as reward:
        outside = reward(completions=ANSWERS[:2], **columns)

        async def inside() -> tuple[list[float | None], list[Any]]:
            values = reward(completions=ANSWERS[:2], **columns)  # sync call in a running loop
            rewards = await reward.ascore([RewardInput(context(2), question(2), ANSWERS[0])])
            return values, rewards

        values, rewards = asyncio.run(inside())
    assert values == outside
    assert rewards[0].total == pytest.approx(outside[0])


def test_configuration_errors_are_loud(judge: FakeJudgeServer) -> None:
    with pytest.raises(ConfigError, match="exactly one of judge"):
        LongJudgeReward()
    with pytest.raises(ConfigError, match="exactly one of judge"):
        LongJudgeReward(judge="openai/x", server="http://127.0.0.1:1")
    with pytest.raises(ConfigError, match="base_url is the judge's"):
        LongJudgeReward(server="http://127.0.0.1:1", base_url="http://127.0.0.1:2/v1")
    with pytest.raises(ConfigError, match="unknown_option"):
        LongJudgeReward(judge="openai/x", unknown_option=1)
    with LongJudgeReward(judge="openai/fake-judge", config=score_config(judge),
                         columns={"context": "document"}) as reward:
        with pytest.raises(ConfigError, match="'document' did not reach"):
            reward(completions=["a"], context=["c"], query=["q"])


def test_values_are_finite_floats_or_none(judge: FakeJudgeServer) -> None:
    prompts, completions, columns = batch()
    with LongJudgeReward(judge="openai/fake-judge", config=score_config(judge)) as reward:
        values = reward(prompts=prompts, completions=completions, **columns)
    assert all(v is None or (math.isfinite(v) and 0 <= v <= 10) for v in values)


@pytest.mark.parametrize(("policy", "expected"), [("keep", 0.6), ("none", None), (-1.0, -1.0)])
def test_outside_trust_region_policy(policy: Any, expected: float | None) -> None:
    from longjudge.types import Reward

    inside = Reward(example_id="e", candidate_id="0", method="s2l", status="scored", total=6.0)
    outside = inside.model_copy(update={"excluded": "outside_trust_region: contradicts"})
    config = {"cache": {"enabled": False}, "s2l": {"rm": "http/http://127.0.0.1:9/score"}}
    with LongJudgeReward("s2l", "openai/unused", config=config, scale=0.1,
                         outside_trust_region=policy) as reward:
        assert reward.values([inside, outside]) == pytest.approx([0.6, expected])
        assert reward.record([inside, outside])["excluded"] == 1.0


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, longjudge.rl, longjudge.rl.verl; "
        "print(','.join(m for m in ('torch','transformers','trl','ray','datasets','verl',"
        "'sentence_transformers','llama_cpp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_prepared_work_from_a_failed_group_is_not_kept() -> None:
    config = FakeJudgeConfig(fault_rate=1.0, fault_mix={"server_error": 1.0})
    columns = {"context": [context(9)], "query": [question(9)]}
    with FakeJudgeServer(config) as flaky:
        with LongJudgeReward(judge="openai/fake-judge", config=score_config(flaky)) as reward:
            assert reward(completions=[ANSWERS[0]], **columns) == [None]
            flaky.config.fault_rate = 0.0  # the judge is back
            (value,) = reward(completions=[ANSWERS[0]], **columns)
            assert isinstance(value, float)
            assert (reward.stats.prepared, reward.stats.prepared_reused) == (2, 0)
