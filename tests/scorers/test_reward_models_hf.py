"""The hf reward model backend on tiny models built here: batching, truncation, chat template,
and a model whose output carries its own ``score`` (ArmoRM's shape)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.utils import ModelOutput

from longjudge.errors import ConfigError
from longjudge.scorers.reward_models import RMItem, RMOptions, create_reward_model
from longjudge.scorers.reward_models.hf import HFRewardModel
from longjudge.scorers.reward_models.tiny import build_tiny_reward_model
from longjudge.scorers.s2l.config import S2LConfig


@pytest.fixture(scope="session")
def tiny_rm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_reward_model(tmp_path_factory.mktemp("tiny-rm"))


@pytest.fixture(scope="module")
def plain(tiny_rm: Path) -> HFRewardModel:
    """The tiny model with the default settings."""
    return load(tiny_rm)


def load(path: Path, **cfg: object) -> HFRewardModel:
    model = create_reward_model(f"hf/{path}", RMOptions(S2LConfig.model_validate(cfg)))
    assert isinstance(model, HFRewardModel)
    return model


ITEMS = [
    RMItem("Which datasets were built from scratch?", "Five of them.", "Five datasets, " * 9),
    RMItem("How many ships?", None, "Three hundred."),
    RMItem("How many ships?", "Three hundred a year.", "About 300 ships every year."),
    RMItem("Who met in March?", None, "The committee met in March, " * 4),
    RMItem("When was it published?", "Two years later.", "Later."),
    RMItem("Ok?", None, "Yes."),
    RMItem("What does a reward model return?", None, "One number for the answer. " * 6),
]


def test_batched_scores_equal_one_at_a_time(tiny_rm: Path) -> None:
    model = load(tiny_rm, batch_size=3)
    batched = asyncio.run(model.score(ITEMS))
    assert model.stats.batches == 3 and model.stats.padded_tokens > 0
    single = [asyncio.run(model.score([item]))[0] for item in ITEMS]
    model.config.sort_by_length = False
    naive = model.score_sync(ITEMS)
    for b, s, n in zip(batched, single, naive):
        assert b.score is not None and s.score is not None and n.score is not None
        assert b.score == pytest.approx(s.score, abs=1e-5)
        assert n.score == pytest.approx(s.score, abs=1e-5)
        assert b.tokens == s.tokens and not b.truncated
    assert len({round(s.score or 0.0, 6) for s in single}) == len(ITEMS)  # not one constant


def test_truncation_is_reported(tiny_rm: Path, plain: HFRewardModel) -> None:
    model = load(tiny_rm, max_length=40)
    lengths = [len(ids) for ids, _ in plain.encode(ITEMS)]
    results = model.score_sync(ITEMS)
    for item, length, result in zip(ITEMS, lengths, results):
        assert result.truncated is (length > 40)
        if result.score is None:  # only when the response alone does not fit
            assert result.reason is not None and result.reason.startswith("response_too_long")
            reference = None if item.reference is None else ""
            alone = plain.encode([RMItem("", reference, item.response)])
            assert len(alone[0][0]) > 40
        else:
            assert result.tokens is not None and result.tokens <= 40
    assert model.stats.truncated == sum(length > 40 for length in lengths) > 0


def test_truncation_cuts_the_reference_then_the_query_never_the_response(
    tiny_rm: Path, plain: HFRewardModel
) -> None:
    query = "Which datasets were built from scratch, and which were adapted? " * 3
    reference = "Reference answers summarise the facts a good response should contain. " * 6
    response = "The committee met in March; the report was published two years later."
    full = len(plain.encode([RMItem(query, reference, response)])[0][0])
    empty_ref = len(plain.encode([RMItem(query, "", response)])[0][0])
    no_query = len(plain.encode([RMItem("", "", response)])[0][0])
    assert no_query < empty_ref < full

    # The reference alone gives way.
    limit = empty_ref + 10
    model = load(tiny_rm, max_length=limit)
    (result,) = model.score_sync([RMItem(query, reference, response)])
    ids, cut = model.encode([RMItem(query, reference, response)])[0]
    text = model.tokenizer.decode(ids)
    assert cut and result.truncated and len(ids) <= limit and result.score is not None
    assert result.cut_reference_tokens > 0 and result.cut_query_tokens == 0
    assert query in text and response in text and reference not in text
    assert text.index(query) < text.index(response)

    # Then the query (its start; the question's end stays), the response still whole.
    limit = no_query + 8
    model = load(tiny_rm, max_length=limit)
    (result,) = model.score_sync([RMItem(query, reference, response)])
    ids, _ = model.encode([RMItem(query, reference, response)])[0]
    text = model.tokenizer.decode(ids)
    assert len(ids) <= limit and result.score is not None
    assert result.cut_reference_tokens > 0 and result.cut_query_tokens > 0
    assert response in text and "adapted?" in text and query not in text

    # A response that does not fit by itself is unscored, never cut.
    long_response = response * 8
    model = load(tiny_rm, max_length=no_query + 8)
    (result,) = model.score_sync([RMItem(query, reference, long_response)])
    assert result.score is None and result.truncated
    assert result.reason is not None and result.reason.startswith("response_too_long")


#: A chat template whose input ends with the eos token, as Llama 3's ends with <|eot_id|>.
EOS_LAST = (
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n"
    "{{ message['content'] }}{{ eos_token }}{% endfor %}"
)


@pytest.fixture(scope="module")
def pad_variants(tiny_rm: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny model with a tokenizer whose pad is its eos, and with one without a pad."""
    out = {}
    for name in ("pad-is-eos", "no-pad"):
        path = tmp_path_factory.mktemp(name)
        tokenizer = AutoTokenizer.from_pretrained(tiny_rm)
        net = AutoModelForSequenceClassification.from_pretrained(tiny_rm)
        if name == "pad-is-eos":
            tokenizer.pad_token = tokenizer.eos_token
            net.config.pad_token_id = tokenizer.eos_token_id
        else:
            tokenizer.pad_token = None
            net.config.pad_token_id = None
        tokenizer.save_pretrained(path)
        net.save_pretrained(path)
        out[name] = path
    return out


def last_token_score(model: HFRewardModel, ids: list[int]) -> float:
    """The score head applied at the last token of the unpadded input."""
    net = model.model
    with torch.inference_mode():
        hidden = net.model(input_ids=torch.tensor([ids])).last_hidden_state
        return float(net.score(hidden[0, -1]).reshape(-1)[0])


@pytest.mark.parametrize("variant", ["pad-is-eos", "no-pad"])
def test_batches_equal_single_items_when_pad_is_eos(
    pad_variants: dict[str, Path], variant: str
) -> None:
    model = load(pad_variants[variant], batch_size=4, chat_template=EOS_LAST)
    eos = model.tokenizer.eos_token_id
    assert model.tokenizer.pad_token_id in (None, eos)
    batched = model.score_sync(ITEMS)
    single = [model.score_sync([item])[0] for item in ITEMS]
    assert model.stats.padded_tokens > 0
    for item, b, s in zip(ITEMS, batched, single):
        ids, _ = model.encode([item])[0]
        assert ids[-1] == eos and ids.count(eos) == 2  # each turn ends with it
        assert b.score is not None and s.score is not None
        assert b.score == pytest.approx(s.score, abs=1e-5)
        # read at the real last token, not at the one before the final eos
        assert s.score == pytest.approx(last_token_score(model, ids), abs=1e-5)
    assert len({round(s.score or 0.0, 6) for s in single}) == len(ITEMS)


def test_chat_template_and_reference_template_are_applied(
    tiny_rm: Path, plain: HFRewardModel
) -> None:
    model = plain
    with_ref = model.render(RMItem("How many ships?", "300 a year.", "About 300."))
    assert with_ref == (
        "<s><|user|>\nHow many ships?\n\nA correct reference answer to this question, for "
        "comparison:\n300 a year.</s>\n<|assistant|>\nAbout 300.</s>\n"
    )
    assert model.render(RMItem("How many ships?", None, "About 300.")) == (
        "<s><|user|>\nHow many ships?</s>\n<|assistant|>\nAbout 300.</s>\n"
    )
    custom = load(tiny_rm, reference_template="Q: {query} {not a field} REF: {reference}")
    text = custom.render(RMItem("{reference}?", "r", "a"))
    assert "<|user|>\nQ: {reference}? {not a field} REF: r</s>" in text  # one pass only
    ids, _ = model.encode([RMItem("How many ships?", None, "About 300.")])[0]
    assert ids.count(model.tokenizer.bos_token_id) == 1  # the template's BOS, not a second


def test_missing_or_bad_model_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="cannot load reward model"):
        load(tmp_path / "empty")
    for target in (str(tmp_path / "nothing-here"), "./models/nope", "../a/b/c"):
        with pytest.raises(ConfigError, match=r"path .* does not exist") as info:
            create_reward_model(f"hf/{target}")
        message = str(info.value)
        assert "Repo id" not in message and "trust_remote_code" not in message
    with pytest.raises(ConfigError, match="no local directory no-org/no-model") as info:
        create_reward_model("hf/no-org/no-model")  # a hub id: not in the (offline) cache
    assert "trust_remote_code" not in str(info.value)


# --- a stand-in for ArmoRM: a custom model whose output has a `score` beside its logits ---


class TinyScoreConfig(PretrainedConfig):
    model_type = "longjudge-tiny-score-rm"

    def __init__(
        self, vocab_size: int = 400, hidden_size: int = 16, give_score: bool = True, **kw: object
    ) -> None:
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.give_score = give_score
        super().__init__(**kw)  # type: ignore[arg-type]


@dataclass
class TinyScoreOutput(ModelOutput):  # type: ignore[misc]
    logits: torch.Tensor | None = None
    score: torch.Tensor | None = None


class TinyScoreModel(PreTrainedModel):  # type: ignore[misc]
    config_class = TinyScoreConfig
    base_model_prefix = "tiny"

    def __init__(self, config: TinyScoreConfig) -> None:
        super().__init__(config)
        self.embed = torch.nn.Embedding(config.vocab_size, config.hidden_size)
        self.objectives = torch.nn.Linear(config.hidden_size, 3)
        self.post_init()

    def _init_weights(self, module: torch.nn.Module) -> None:
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
            torch.nn.init.normal_(module.weight, std=0.5)
        if isinstance(module, torch.nn.Linear) and module.bias is not None:
            torch.nn.init.zeros_(module.bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        **_: object,
    ) -> TinyScoreOutput:
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        hidden = self.embed(input_ids) * mask.unsqueeze(-1)
        pooled = hidden.sum(1) / mask.sum(1, keepdim=True)
        logits = self.objectives(pooled)
        weights = torch.tensor([0.5, 0.3, 0.2], dtype=logits.dtype, device=logits.device)
        score = (logits * weights).sum(-1, keepdim=True) + 100.0
        return TinyScoreOutput(logits=logits, score=score if self.config.give_score else None)


@pytest.fixture(scope="module")
def score_models(tiny_rm: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    AutoConfig.register(TinyScoreConfig.model_type, TinyScoreConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(TinyScoreConfig, TinyScoreModel, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(tiny_rm)
    out = {}
    for name, give in (("with-score", True), ("logits-only", False)):
        path = tmp_path_factory.mktemp(name)
        torch.manual_seed(1)
        TinyScoreModel(TinyScoreConfig(len(tokenizer), give_score=give)).save_pretrained(path)
        tokenizer.save_pretrained(path)
        out[name] = path
    return out


def test_score_field_is_read_when_present(score_models: dict[str, Path]) -> None:
    model = load(score_models["with-score"], batch_size=4)
    results = model.score_sync(ITEMS)
    for item, result in zip(ITEMS, results):
        ids, _ = model.encode([item])[0]
        with torch.inference_mode():
            out = model.model(input_ids=torch.tensor([ids]))
        assert result.score == pytest.approx(float(out.score[0, 0]), abs=1e-5)
        assert result.score is not None and result.score > 90  # the score, not a logit


def test_several_logits_need_logit_index(score_models: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="logit_index"):
        load(score_models["logits-only"])
    model = load(score_models["logits-only"], logit_index=2)
    (result,) = model.score_sync(ITEMS[:1])
    ids, _ = model.encode(ITEMS[:1])[0]
    with torch.inference_mode():
        logits = model.model(input_ids=torch.tensor([ids])).logits
    assert result.score == pytest.approx(float(logits[0, 2]), abs=1e-5)


def test_inference_runs_in_a_worker_thread(plain: HFRewardModel) -> None:
    import threading

    seen: list[int] = []
    original = plain.score_sync

    def spy(items):  # type: ignore[no-untyped-def]
        seen.append(threading.get_ident())
        return original(items)

    plain.score_sync = spy  # type: ignore[method-assign]
    try:
        (result,) = asyncio.run(plain.score(ITEMS[:1]))
    finally:
        del plain.score_sync
    assert result.score is not None
    assert seen and seen[0] != threading.get_ident()
