"""longjudge.rl.verl with verl's call signature (verl is not installable here: it pulls vLLM and
CUDA builds). The module is loaded the way verl loads ``custom_reward_function.path``
(``importlib.util.spec_from_file_location`` under the name ``custom_module``), its function is
wrapped with ``reward_kwargs`` merged into every call, and it is called as verl's reward managers
call it: the ``naive`` manager per sample with ``data_source=, solution_str=, ground_truth=,
extra_info=``, the ``batch`` manager with ``data_sources=, solution_strs=, ground_truths=,
extra_infos=`` (numpy object arrays, as in a DataProto's non-tensor batch)."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Callable, Iterator
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from longjudge.errors import ConfigError
from longjudge.rl import LongJudgeReward
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from tests.rl_helpers import context, question, schema_counts, score_config

ANSWERS = ["Bend 1 ground three sacks.", "Many sacks were ground.", "Bend 2: four sacks."]
DIMENSIONS = {"helpfulness", "logicality", "faithfulness", "completeness"}


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer(FakeJudgeConfig(record_bodies=True)) as server:
        yield server


@pytest.fixture
def module() -> Iterator[ModuleType]:
    """The file loaded as verl loads a custom reward function."""
    import longjudge.rl.verl as installed

    spec = importlib.util.spec_from_file_location("custom_module", installed.__file__)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules["custom_module"] = loaded
    spec.loader.exec_module(loaded)
    yield loaded
    loaded.close_all()
    del sys.modules["custom_module"]


def verl_function(
    module: ModuleType, name: str, reward_kwargs: dict[str, Any]
) -> Callable[..., Any]:
    """verl's wrapper: the config's reward_kwargs are merged into each call."""

    def call_with_kwargs(raw: Callable[..., Any], extra: dict[str, Any], *args: Any,
                         **kwargs: Any) -> Any:
        return raw(*args, **{**kwargs, **extra})

    return partial(call_with_kwargs, getattr(module, name), reward_kwargs)


def kwargs_for(judge: FakeJudgeServer, **more: Any) -> dict[str, Any]:
    return {"judge": "openai/fake-judge", "config": score_config(judge), "unscored_value": -1.0,
            "scale": 0.1, **more}


def info(i: int) -> dict[str, Any]:
    return {"context": context(i), "query": question(i), "index": i}


def test_per_sample_calls_share_per_prompt_work(
    judge: FakeJudgeServer, module: ModuleType
) -> None:
    compute_score = verl_function(module, "compute_score", kwargs_for(judge))
    mark = len(judge.requests)
    results = [
        compute_score(data_source="longbench", solution_str=answer, ground_truth=None,
                      extra_info=info(7))
        for answer in ANSWERS
    ]
    for result in results:
        assert set(result) == {"score", "scored", *DIMENSIONS}
        assert result["scored"] == 1.0 and 0.0 <= result["score"] <= 1.0
    # naive manager: one sample per call, yet the prompt's key points were extracted once
    assert schema_counts(judge, mark)["lr_keypoints"] == 1
    with LongJudgeReward(judge="openai/fake-judge", config=score_config(judge)) as direct:
        expected = direct(completions=ANSWERS, context=[context(7)] * 3, query=[question(7)] * 3)
    assert None not in expected
    assert [r["score"] for r in results] == pytest.approx([(v or 0.0) * 0.1 for v in expected])


def test_batch_manager_signature(judge: FakeJudgeServer, module: ModuleType) -> None:
    compute_batch = verl_function(module, "compute_score_batch", kwargs_for(judge))
    infos = np.array([info(8), info(9), info(8), {"context": "", "query": "q"}], dtype=object)
    mark = len(judge.requests)
    results = compute_batch(
        data_sources=np.array(["a"] * 4, dtype=object),
        solution_strs=[ANSWERS[0], ANSWERS[1], ANSWERS[2], ANSWERS[0]],
        ground_truths=[None, "a reference", None, None],
        extra_infos=infos,
    )
    assert len(results) == 4
    assert all(set(r) == {"score", "scored", *DIMENSIONS} for r in results)
    assert [r["scored"] for r in results] == [1.0, 1.0, 1.0, 0.0]
    # unscored: the configured value, never a silent 0, and NaN dimensions
    assert results[3]["score"] == -1.0
    assert all(math.isnan(results[3][d]) for d in DIMENSIONS)
    assert schema_counts(judge, mark)["lr_keypoints"] == 2


def test_unscored_value_must_be_chosen(judge: FakeJudgeServer, module: ModuleType) -> None:
    options = kwargs_for(judge)
    del options["unscored_value"]
    compute_score = verl_function(module, "compute_score", options)
    with pytest.raises(ConfigError, match="unscored_value"):
        compute_score(data_source="x", solution_str="y", ground_truth=None, extra_info=info(1))


def test_reference_from_ground_truth_or_extra_info(module: ModuleType) -> None:
    reward = LongJudgeReward(judge="openai/unused", config={"cache": {"enabled": False}})
    try:
        item, _ = module._item(reward, "answer", "truth", {"context": "c", "query": "q"})
        assert item.reference == "truth"
        item, _ = module._item(reward, "answer", "truth",
                               {"context": "c", "query": "q", "reference": "ref"})
        assert item.reference == "ref"
        item, reason = module._item(reward, "answer", None, None)
        assert item is None and reason.startswith("bad_request")
    finally:
        reward.close()
