"""TRL's GRPOTrainer, two steps on CPU, a tiny random Llama built from a config, rewarded by
LongJudgeReward against the fake judge over HTTP: the rewards reach the trainer (its logged
reward mean is the mean of what longjudge returned), per-prompt work runs once per group, and
the per-dimension metrics land in the trainer's logs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from longjudge.rl import LongJudgeReward
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from tests.rl_helpers import context, question, schema_counts, score_config
from tests.train.test_train_dpo import build_tiny_lm

pytest.importorskip("trl")

NUM_GENERATIONS = 3
PROMPTS_PER_STEP = 2


class Recording(LongJudgeReward):
    """LongJudgeReward that keeps, per call, what it returned and what it prepared."""

    def __init__(self, server: FakeJudgeServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server = server
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        mark, prepared = len(self.server.requests), self.stats.prepared
        values = super().__call__(prompts, completions, **columns)
        self.calls.append({
            "values": values,
            "completions": list(completions or []),
            "group_sizes": Counter(columns["context"]),
            "prepared": self.stats.prepared - prepared,
            "requests": schema_counts(self.server, mark),
        })
        return values


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer(FakeJudgeConfig(record_bodies=True)) as server:
        yield server


@pytest.mark.slow
def test_grpo_trains_two_steps_on_longjudge_rewards(
    tmp_path: Path, judge: FakeJudgeServer
) -> None:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    model_dir = build_tiny_lm(tmp_path / "lm")
    rows = [
        {"prompt": [{"role": "user", "content": question(i)}], "context": context(i),
         "query": question(i)}
        for i in range(4)
    ]
    reward = Recording(judge, judge="openai/fake-judge", config=score_config(judge),
                       name="longjudge", prepared_cache_size=0)
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"), max_steps=2, logging_steps=1, learning_rate=1e-3,
        per_device_train_batch_size=NUM_GENERATIONS * PROMPTS_PER_STEP,
        num_generations=NUM_GENERATIONS, max_completion_length=8, use_cpu=True, bf16=False,
        report_to=[], save_strategy="no", seed=0, disable_tqdm=True,
        activation_checkpointing=False,  # transformers 5 name; GRPOConfig turns the old one on
    )
    try:
        trainer = GRPOTrainer(model=str(model_dir), reward_funcs=reward, args=args,
                              train_dataset=Dataset.from_list(rows))
        trainer.train()
    finally:
        reward.close()

    logs = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(reward.calls) == 2 and len(logs) == 2
    for call, entry in zip(reward.calls, logs):
        values = call["values"]
        assert len(values) == NUM_GENERATIONS * PROMPTS_PER_STEP
        assert all(isinstance(v, float) for v in values), values
        # the rewards reached the trainer
        assert entry["reward"] == pytest.approx(sum(values) / len(values), rel=1e-5)
        assert entry["rewards/longjudge/mean"] == pytest.approx(entry["reward"], rel=1e-5)
        # the completions came as conversations and were read as text
        assert all(c[0]["role"] == "assistant" for c in call["completions"])
        # one group per prompt, per-prompt work once per group (and each completion judged)
        sizes = call["group_sizes"]
        assert sorted(sizes.values()) == [NUM_GENERATIONS] * PROMPTS_PER_STEP
        assert call["prepared"] == len(sizes) == PROMPTS_PER_STEP
        assert call["requests"]["lr_keypoints"] == PROMPTS_PER_STEP
        assert call["requests"]["lr_helpfulness"] == len(values)
        # which dimension moves: per-dimension means and the unscored count are logged
        assert entry["longjudge/unscored"] == 0.0
        for dim in ("helpfulness", "logicality", "faithfulness", "completeness"):
            assert 0.0 <= entry[f"longjudge/dimensions/{dim}"] <= 10.0
