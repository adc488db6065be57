"""A tiny random causal LM built from a config, for demos, tests and benchmarks (never for use).

:func:`build_tiny_causal_lm` trains a byte-level BPE tokenizer with the ``tokenizers`` library
on a corpus (a few built-in sentences, plus any texts given, for example the prompts and
responses of a pairs file), gives it a chat template with a generation prompt, builds a
randomly initialised ``LlamaForCausalLM`` from a ``LlamaConfig`` and saves both into a
directory that ``longjudge train --model DIR`` (or ``from_pretrained``) loads like any model.
Nothing is downloaded; building takes about a second.

Trained on the text it will see, a vocabulary of a few thousand pieces gives about 4
characters per token on English, close to a real subword tokenizer, so lengths (and what
``max_length`` cuts) look like those of a real model. ``longjudge tiny-lm DIR --corpus FILE``
is the command-line form.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError, MissingDependencyError
from ..scorers.reward_models.tiny import train_byte_level_bpe

#: Role tags, the turn's text, an end-of-turn token; the generation prompt opens an assistant
#: turn, so that prompt + completion renders as the full conversation.
TINY_LM_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}"
    "<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIAL_TOKENS = ("<pad>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>")

_BUILTIN = (
    "The harbour handles three hundred ships a year, most of them fishing boats.",
    "Read the document, then answer the question with facts taken from it.",
    "Which chapters discuss the method, and which ones only summarise earlier work?",
    "The committee met in March; the report was published two years later.",
    "A good answer is helpful, logical, faithful to the context and complete.",
)


def _pieces(row: dict[str, Any]) -> Iterator[str]:
    """The texts of one pairs row (messages) or one example/candidate record."""
    for key in ("prompt", "chosen", "rejected"):
        value = row.get(key)
        if isinstance(value, list):
            yield from (str(m.get("content", "")) for m in value if isinstance(m, dict))
        elif isinstance(value, str):
            yield value
    for key in ("context", "query", "text", "answer"):
        if isinstance(row.get(key), str):
            yield row[key]


def corpus_texts(path: str | Path) -> list[str]:
    """Texts to train the tokenizer on: every text field of a JSONL file (pairs, examples,
    candidates), or a plain text file as it is."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"corpus not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".jsonl":
        return [text]
    texts: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{number}: not JSON: {exc}") from exc
        if isinstance(row, dict):
            texts.extend(_pieces(row))
    return texts


def build_tiny_causal_lm(
    path: str | Path,
    corpus: Iterable[str] = (),
    *,
    vocab_size: int = 4096,
    hidden_size: int = 64,
    num_layers: int = 2,
    max_positions: int = 65536,
    seed: int = 0,
) -> Path:
    """Build and save a tiny tokenizer + random ``LlamaForCausalLM`` into ``path``; return it.

    ``vocab_size`` is an upper bound: a small corpus gives fewer pieces. ``max_positions``
    only bounds the rotary position table, so a long default costs nothing.
    """
    try:
        import torch

        transformers: Any = importlib.import_module("transformers")
    except ImportError as exc:
        raise MissingDependencyError("transformers", "train", "the tiny causal LM") from exc
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    raw = train_byte_level_bpe([*_BUILTIN, *corpus], vocab_size, list(SPECIAL_TOKENS))
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, pad_token="<pad>", eos_token="<|end|>"
    )
    tokenizer.chat_template = TINY_LM_CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    transformers.LlamaForCausalLM(config).save_pretrained(out)
    return out


__all__ = ["SPECIAL_TOKENS", "TINY_LM_CHAT_TEMPLATE", "build_tiny_causal_lm", "corpus_texts"]
