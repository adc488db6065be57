"""DPO + λ·CE over TRL: config resolution, the logged loss terms, LoRA, and the pairs dataset
accepted by DPOTrainer unchanged. The model is a tiny random Llama built from a config."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from longjudge.errors import ConfigError
from longjudge.train.args import resolve_args
from longjudge.train.dpo import build_trainer
from longjudge.train.options import (
    DEFAULT_MAX_LENGTH,
    LoraOptions,
    TrainJob,
    TrainOptions,
    split_config,
)

pytest.importorskip("trl")

SENTENCES = [
    "The harbour of the town handles many ships every year.",
    "Fishing employs families; the mayor counts the boats.",
    "A short answer: the river is long and the hill is high.",
    "Question, context, answer: read the document and reply.",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_lm(path: Path) -> Path:
    """A byte-level BPE tokenizer with a chat template and a 2-layer Llama, saved to ``path``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<pad>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(SENTENCES, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>",
                                        eos_token="<|end|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(path)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


def pair_rows(n: int = 3) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        rows.append({
            "prompt": [{"role": "user", "content": f"{SENTENCES[i % 4]}\n\nWhat about {i}?"}],
            "chosen": [{"role": "assistant", "content": f"The harbour handles {i} ships."}],
            "rejected": [{"role": "assistant", "content": "Fishing."}],
            "example_id": f"e{i}", "chosen_id": f"e{i}-0", "rejected_id": f"e{i}-1",
            "chosen_score": 8.0, "rejected_score": 2.0, "margin": 6.0,
            "strategy": "best-worst", "score_field": "total",
        })
    return rows


def chosen_token_nll(model_dir: Path, rows: Sequence[dict[str, Any]]) -> float:
    """Token-mean NLL of the chosen responses, computed here without TRL: the completion is
    what the chat template adds to the prompt rendered with the generation prompt."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    total, count = 0.0, 0
    for row in rows:
        prompt = tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        full = tokenizer.apply_chat_template(
            row["prompt"] + row["chosen"], tokenize=True, return_dict=True
        )["input_ids"]
        assert full[: len(prompt)] == prompt and len(full) > len(prompt)
        with torch.no_grad():
            logp = model(torch.tensor([full])).logits[0].log_softmax(-1)
        for t in range(len(prompt), len(full)):
            total -= logp[t - 1, full[t]].item()
            count += 1
    return total / count


FAST = {"max_steps": 3, "logging_steps": 1, "per_device_train_batch_size": 8,
        "max_length": 512, "save_strategy": "no", "learning_rate": 1e-4}


# --- config resolution -------------------------------------------------------------------


def test_defaults_are_the_papers_objective_on_cpu(tmp_path: Path) -> None:
    args = resolve_args({}, TrainOptions(), tmp_path, cuda=False)
    assert args["beta"] == 0.15 and args["learning_rate"] == 1e-6
    assert args["loss_type"] == ["sigmoid", "sft"] and args["loss_weights"] == [1.0, 0.1]
    assert args["max_length"] == DEFAULT_MAX_LENGTH and args["report_to"] == "none"
    assert args["use_cpu"] is True and args["bf16"] is False
    assert args["activation_checkpointing"] is False
    gpu = resolve_args({}, TrainOptions(), tmp_path, cuda=True)
    assert gpu["activation_checkpointing"] is True and "use_cpu" not in gpu


def test_user_keys_win_and_lambda_is_configurable(tmp_path: Path) -> None:
    args = resolve_args({"beta": 0.3, "max_length": 2048, "gradient_checkpointing": True},
                        TrainOptions(ce_weight=0.5), tmp_path, cuda=False)
    assert args["beta"] == 0.3 and args["max_length"] == 2048
    assert args["loss_weights"] == [1.0, 0.5]
    assert args["activation_checkpointing"] is True and "gradient_checkpointing" not in args
    explicit = resolve_args({"loss_type": ["ipo", "sft"], "loss_weights": [2, 0.3]},
                            TrainOptions(), tmp_path, cuda=False)
    assert explicit["loss_type"] == ["ipo", "sft"] and explicit["loss_weights"] == [2.0, 0.3]


def test_unknown_keys_and_conflicts_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"betta \(did you mean beta\?\).*max_lenght"):
        resolve_args({"betta": 0.1, "max_lenght": 10}, TrainOptions(), tmp_path, cuda=False)
    with pytest.raises(ConfigError, match="not both"):
        resolve_args({"loss_weights": [1, 1]}, TrainOptions(ce_weight=0.2), tmp_path, cuda=False)
    with pytest.raises(ConfigError, match="sft"):
        resolve_args({"loss_type": ["sigmoid"]}, TrainOptions(ce_weight=0.2), tmp_path,
                     cuda=False)
    dpo, options = split_config({"beta": 0.2, "longjudge": {"ce_weight": 0.05, "lora": {"r": 4}}})
    assert dpo == {"beta": 0.2} and options.ce_weight == 0.05 and options.lora is not None
    with pytest.raises(ConfigError, match="lamda"):
        split_config({"longjudge": {"lamda": 1}})


# --- training ----------------------------------------------------------------------------


@pytest.mark.slow
def test_logged_terms_match_an_independent_nll_and_every_weight_moves(
    tiny_lm: Path, tmp_path: Path
) -> None:
    import datasets
    import torch

    rows = pair_rows(3)
    expected_ce = chosen_token_nll(tiny_lm, rows)
    job = TrainJob(datasets.Dataset.from_list(rows), str(tiny_lm), tmp_path / "out", dict(FAST))
    trainer = build_trainer(job)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    first = trainer.state.log_history[0]
    # one batch holds every pair, so step 1 saw exactly these chosen tokens
    assert first["loss/sft"] == pytest.approx(expected_ce, rel=1e-4)
    assert first["loss/sigmoid"] == pytest.approx(math.log(2), abs=1e-5)  # policy == reference
    assert first["loss"] == pytest.approx(first["loss/sigmoid"] + 0.1 * first["loss/sft"],
                                          rel=1e-4)
    unchanged = [n for n, p in trainer.model.named_parameters()
                 if p.requires_grad and torch.equal(p.detach(), before[n])]
    assert not unchanged and len(before) > 10


@pytest.mark.slow
def test_lora_trains_only_the_adapter(tiny_lm: Path, tmp_path: Path) -> None:
    import datasets
    import torch

    options = TrainOptions(lora=LoraOptions(r=4, alpha=8, dropout=0.0))
    job = TrainJob(datasets.Dataset.from_list(pair_rows(2)), str(tiny_lm), tmp_path / "out",
                   dict(FAST), options)
    trainer = build_trainer(job)
    trainable = {n: p.detach().clone() for n, p in trainer.model.named_parameters()
                 if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    trainer.train()
    params = dict(trainer.model.named_parameters())
    assert all(not torch.equal(params[n].detach(), v) for n, v in trainable.items())
    assert "loss/sft" in trainer.state.log_history[0]


@pytest.mark.slow
def test_terms_are_logged_with_precomputed_reference(tiny_lm: Path, tmp_path: Path) -> None:
    import datasets

    rows = pair_rows(2)
    dpo = {**FAST, "precompute_ref_log_probs": True, "max_steps": 1}
    job = TrainJob(datasets.Dataset.from_list(rows), str(tiny_lm), tmp_path / "out", dpo,
                   TrainOptions(ce_weight=0.5))
    trainer = build_trainer(job)
    trainer.train()
    first = trainer.state.log_history[0]
    assert first["loss/sigmoid"] == pytest.approx(math.log(2), abs=1e-5)
    assert first["loss/sft"] == pytest.approx(chosen_token_nll(tiny_lm, rows), rel=1e-4)
    assert first["loss"] == pytest.approx(first["loss/sigmoid"] + 0.5 * first["loss/sft"],
                                          rel=1e-4)


@pytest.mark.slow
def test_train_dpo_reports_pairs_dropped_at_max_length_and_trl_cuts_nothing(
    tiny_lm: Path, tmp_path: Path
) -> None:
    import json

    import datasets
    from transformers import AutoTokenizer

    from longjudge.train.dpo import train_dpo

    tokenizer = AutoTokenizer.from_pretrained(tiny_lm)
    rows = pair_rows(3)
    long_row = dict(rows[0], prompt=[{"role": "user", "content": "harbour ships " * 100}])

    def size(messages: list[dict[str, str]], **kw: Any) -> int:
        return len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                                 **kw)["input_ids"])

    prompts = [size(r["prompt"], add_generation_prompt=True) for r in rows]
    fulls = [size(r["prompt"] + r["chosen"]) for r in rows]
    limit = max(fulls) - 1  # the longest short pair is over by one token
    assert max(prompts) < limit < size(long_row["prompt"], add_generation_prompt=True)
    over = sum(f > limit for f in fulls) + 1
    job = TrainJob(datasets.Dataset.from_list([*rows, long_row]), str(tiny_lm),
                   tmp_path / "out", {**FAST, "max_length": limit, "max_steps": 1},
                   TrainOptions(truncation="drop"))
    result = train_dpo(job)
    assert (result.pairs, result.trained) == (4, 4 - over)
    assert result.fit.dropped == {"too_long": over} and result.fit.cut == 0
    assert (result.trainer_dropped, result.trainer_truncated) == (0, 0)
    record = json.loads((tmp_path / "out" / "longjudge_train.json").read_text())
    assert record["fit"]["pairs_dropped"] == over and record["pairs_trained"] == 4 - over
    assert record["dropped_prompt_too_long"] == 0 and record["truncated"] == 0
    assert record["settings"]["max_length"] == limit
    assert (tmp_path / "out" / "model.safetensors").exists()


@pytest.mark.slow
def test_a_model_without_chat_template_is_refused(tiny_lm: Path, tmp_path: Path) -> None:
    import json
    import shutil

    import datasets

    plain = tmp_path / "plain"
    shutil.copytree(tiny_lm, plain)
    config = json.loads((plain / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(config))
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    job = TrainJob(datasets.Dataset.from_list(pair_rows(1)), str(plain), tmp_path / "o", FAST)
    with pytest.raises(ConfigError, match="chat template"):
        build_trainer(job)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pairs.jsonl", "pairs.parquet", "pairs_dir"])
def test_pairs_dataset_is_accepted_by_dpotrainer_unchanged(
    tiny_lm: Path, tmp_path: Path, name: str
) -> None:
    import datasets
    from transformers import AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from longjudge.preference.dataset import write_pairs

    path = write_pairs(tmp_path / name, pair_rows(2))
    cache = str(tmp_path / "hf")
    if name.endswith(".jsonl"):
        dataset = datasets.load_dataset("json", data_files=str(path), split="train",
                                        cache_dir=cache)
    elif name.endswith(".parquet"):
        dataset = datasets.load_dataset("parquet", data_files=str(path), split="train",
                                        cache_dir=cache)
    else:
        dataset = datasets.load_from_disk(str(path))
    args = DPOConfig(output_dir=str(tmp_path / "o"), max_steps=1, use_cpu=True, bf16=False,
                     activation_checkpointing=False, max_length=512, report_to="none",
                     save_strategy="no", per_device_train_batch_size=2)
    trainer = DPOTrainer(model=str(tiny_lm), args=args, train_dataset=dataset,
                         processing_class=AutoTokenizer.from_pretrained(tiny_lm))
    assert len(trainer.train_dataset) == 2
    trainer.train()
    assert trainer.state.global_step == 1
