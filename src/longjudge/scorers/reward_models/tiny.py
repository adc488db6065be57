"""A tiny random reward model built from a config, for tests and benchmarks (never for scores).

:func:`build_tiny_reward_model` trains a byte-level BPE tokenizer on a few sentences with the
``tokenizers`` library, gives it a small chat template, builds a randomly initialised
``LlamaForSequenceClassification`` with one label, and saves both into a directory that
``hf/<directory>`` loads through the real backend. Nothing is downloaded.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ...errors import MissingDependencyError

#: The chat template of the tiny tokenizer: role tags, the turn's text, an end-of-turn token.
TINY_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}"
)

_CORPUS = [
    "The harbour handles three hundred ships a year, most of them fishing boats.",
    "A reward model reads a question and an answer and returns one number.",
    "Which datasets were built from scratch, and which were adapted from older ones?",
    "The committee met in March; the report was published two years later.",
    "Reference answers summarise the facts a good response should contain.",
    "Le port accueille des navires; 港口每年接待三百艘船。",
]


def train_byte_level_bpe(texts: list[str], vocab_size: int, special_tokens: list[str]) -> Any:
    """A byte-level BPE (``tokenizers.Tokenizer``) trained on ``texts``: the tokenizer of the
    tiny models built from a config (this reward model, and ``train.tiny``'s causal LM)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(texts, trainer)
    return raw


def build_tiny_reward_model(
    path: str | Path,
    *,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    vocab_size: int = 400,
    max_positions: int = 4096,
) -> Path:
    """Build and save the tiny tokenizer and reward model into ``path``; return it."""
    try:
        import torch

        transformers: Any = importlib.import_module("transformers")
    except ImportError as exc:
        raise MissingDependencyError("transformers", "rm", "the tiny test reward model") from exc
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    special = ["<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>"]
    raw = train_byte_level_bpe(_CORPUS * 4, vocab_size, special)
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    config = transformers.LlamaConfig(
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        intermediate_size=hidden_size * 2,
        num_labels=1,
        vocab_size=len(tokenizer),
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = transformers.LlamaForSequenceClassification(config)
    model.save_pretrained(out)
    return out


__all__ = ["TINY_CHAT_TEMPLATE", "build_tiny_reward_model"]
