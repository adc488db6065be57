"""The ``hf`` backend: a local transformers sequence-classification reward model.

``AutoModelForSequenceClassification`` loads the model (its repository's own code only when
``trust_remote_code`` is on). Each item becomes a chat conversation (user turn: the query, or the
reference template; assistant turn: the response) rendered by the tokenizer's chat template and
tokenized without adding special tokens again (the template writes them). Inputs are sorted by
token length and cut into batches of ``batch_size``, so that a batch pads little; the scores come
back in input order. The score is the output's ``score`` field when it has one (ArmoRM-style
models), else the single logit (or ``logit_index``). CUDA and bfloat16 when available, CPU and
float32 otherwise. Inference runs in a worker thread, one batch at a time, so the event loop
keeps serving the judge calls.

**The response is never cut.** An input longer than ``max_length`` loses tokens from the
reference first (its end), then from the query (its start: the question usually closes a long
prompt); how many is recorded in the result (``cut_reference_tokens``, ``cut_query_tokens``). An
input whose response alone does not fit is unscored with the reason.

**Batched scores equal single scores.** A sequence-classification model reads its score at the
last token that is not padding, found by comparing ids with ``config.pad_token_id``. Padding with
a token the input itself contains (the eos token, which many tokenizers, Llama 3's among them,
also use as pad, or fall back to) moves that position: a final eos is skipped, and models that
look for the *first* pad read the score in the middle of the conversation. So each batch is
padded (on the right) with an id that occurs in none of its sequences, and the model's
``pad_token_id`` is set to it for that pass: the score is read at the real last token, alone or
in a batch.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...errors import ConfigError, MissingDependencyError
from ..s2l.config import S2LConfig
from .base import RewardModel, RMItem, RMScore, build_messages
from .registry import RMOptions


class HFRewardModel(RewardModel):
    """A transformers reward model in this process."""

    backend = "hf"

    def __init__(self, target: str, config: S2LConfig | None = None) -> None:
        super().__init__(target)
        _check_local_path(target)
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise MissingDependencyError("transformers", "rm", "the hf reward model") from exc
        self.config = config or S2LConfig()
        self._torch = torch
        self.device, self.dtype = _device_and_dtype(torch, self.config)
        remote = self.config.trust_remote_code
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                target, trust_remote_code=remote
            )
            self.model = transformers.AutoModelForSequenceClassification.from_pretrained(
                target, trust_remote_code=remote, dtype=self.dtype
            )
        except (OSError, ValueError, KeyError) as exc:
            hint = _hint(target, remote)
            raise ConfigError(f"cannot load reward model {target!r}: {exc}{hint}") from exc
        if self.config.chat_template:
            self.tokenizer.chat_template = self.config.chat_template
        if not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError(
                f"the tokenizer of {target!r} has no chat template; set s2l.chat_template"
            )
        self.model.to(self.device)
        self.model.eval()
        self._vocab = _vocab_size(self.model, self.tokenizer)
        self.pad_id = _pad_id(self.model, self.tokenizer)
        self._lock = threading.Lock()
        self._probe()

    def render(self, item: RMItem) -> str:
        """The text the model reads for ``item``: the conversation through the chat template."""
        messages = build_messages(item, self.config.reference_template)
        text = self.tokenizer.apply_chat_template(messages, tokenize=False)
        return str(text)

    def encode(self, items: Sequence[RMItem]) -> list[tuple[list[int], bool]]:
        """Token ids of each item, fitted to ``max_length``, and whether it was shortened."""
        return [(fit.ids, fit.cut) for fit in self.fit(items)]

    def _ids(self, item: RMItem) -> list[int]:
        ids: list[int] = self.tokenizer(self.render(item), add_special_tokens=False)["input_ids"]
        return list(ids)

    def _tokens(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return list(ids)

    def _decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=False))

    def fit(self, items: Sequence[RMItem]) -> list[Fitted]:
        """Each item's token ids within ``max_length``: the reference shortened first, then the
        query; never the response (an item whose response alone is too long has ``ids`` []
        and a ``reason``)."""
        return [self._fit_one(item) for item in items]

    def _fit_one(self, item: RMItem) -> Fitted:
        limit = self.config.max_length
        ids = self._ids(item)
        if len(ids) <= limit:
            return Fitted(ids)
        cut = {"reference": 0, "query": 0}
        for part in ("reference", "query"):
            text = item.reference if part == "reference" else item.query
            if text is None:
                continue
            tokens = self._tokens(text)
            for _ in range(8):  # re-tokenizing a shortened text may not add up exactly
                excess = len(ids) - limit
                if excess <= 0 or not tokens:
                    break
                keep = max(len(tokens) - excess, 0)
                tokens = tokens[:keep] if part == "reference" else tokens[len(tokens) - keep :]
                shorter = self._decode(tokens)
                item = RMItem(
                    shorter if part == "query" else item.query,
                    shorter if part == "reference" else item.reference,
                    item.response,
                )
                ids = self._ids(item)
            cut[part] = max(len(self._tokens(text)) - len(tokens), 0)
            if len(ids) <= limit:
                return Fitted(ids, True, cut["reference"], cut["query"])
        reason = (
            f"response_too_long: the response alone needs {len(ids)} tokens with the chat "
            f"template, over s2l.max_length ({limit}); responses are never cut"
        )
        return Fitted([], True, cut["reference"], cut["query"], reason)

    async def score(self, items: Sequence[RMItem]) -> list[RMScore]:
        if not items:
            return []
        return await asyncio.to_thread(self.score_sync, items)

    def score_sync(self, items: Sequence[RMItem]) -> list[RMScore]:
        """Score ``items`` in this thread (the async :meth:`score` calls it in a worker)."""
        with self._lock:
            started = time.perf_counter()
            fitted = self.fit(items)
            order = [i for i, fit in enumerate(fitted) if fit.reason is None]
            if self.config.sort_by_length:
                order.sort(key=lambda i: len(fitted[i].ids), reverse=True)
            values: dict[int, float] = {}
            size = self.config.batch_size
            for start in range(0, len(order), size):
                chunk = order[start : start + size]
                scores = self._forward([fitted[i].ids for i in chunk])
                values.update(zip(chunk, scores))
            self.stats.items += len(items)
            self.stats.truncated += sum(fit.cut for fit in fitted)
            self.stats.seconds += time.perf_counter() - started
        return [fit.result(values.get(i)) for i, fit in enumerate(fitted)]

    def batch_pad_id(self, batch: list[list[int]]) -> int:
        """A pad id that occurs in none of ``batch``'s sequences: the configured pad when it
        does not, else the highest free id of the embedding table."""
        used = {token for seq in batch for token in seq}
        if self.pad_id not in used:
            return self.pad_id
        for candidate in range(self._vocab - 1, -1, -1):
            if candidate not in used:
                return candidate
        raise ConfigError("every id of the vocabulary occurs in the batch: nothing to pad with")

    def _forward(self, batch: list[list[int]]) -> list[float]:
        torch = self._torch
        width = max(len(seq) for seq in batch)
        pad = self.batch_pad_id(batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, seq in enumerate(batch):  # right padding: positions match the unpadded input
            input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[row, : len(seq)] = 1
        self.model.config.pad_token_id = pad  # where the model looks for the last real token
        with torch.inference_mode():
            output = self.model(
                input_ids=input_ids.to(self.device),
                attention_mask=mask.to(self.device),
                use_cache=False,
            )
        self.stats.batches += 1
        real = sum(len(seq) for seq in batch)
        self.stats.tokens += real
        self.stats.padded_tokens += len(batch) * width - real
        return self._extract(output, len(batch))

    def _extract(self, output: Any, rows: int) -> list[float]:
        score = output.get("score") if hasattr(output, "get") else None
        source = "score" if score is not None else "logits"
        tensor = (score if score is not None else output["logits"]).float().reshape(rows, -1)
        width = int(tensor.shape[1])
        index = self.config.logit_index
        if width == 1:
            column = tensor[:, 0]
        elif index is not None and index < width:
            column = tensor[:, index]
        else:
            raise ConfigError(
                f"reward model {self.target!r} gives {width} values per input in '{source}' "
                "and no single score; set s2l.logit_index to the one to read"
            )
        return [float(v) for v in column.cpu().tolist()]

    def _probe(self) -> None:
        """One tiny forward pass at load time, so that an unusable output shape is a config
        error now rather than an unscored run later."""
        self.score_sync([RMItem("Hello?", None, "Hello.")])
        self.stats = type(self.stats)()


@dataclass(frozen=True)
class Fitted:
    """One item's token ids within ``max_length``, and what was cut to get there."""

    ids: list[int]
    cut: bool = False
    cut_reference_tokens: int = 0
    cut_query_tokens: int = 0
    reason: str | None = None

    def result(self, value: float | None) -> RMScore:
        base = RMScore(
            None,
            truncated=self.cut,
            reason=self.reason,
            tokens=len(self.ids) if self.ids else None,
            cut_reference_tokens=self.cut_reference_tokens,
            cut_query_tokens=self.cut_query_tokens,
        )
        if self.reason is not None or value is None:
            return base
        if not math.isfinite(value):
            return replace(base, reason="non_finite_score")
        return replace(base, score=value)


def _device_and_dtype(torch: Any, config: S2LConfig) -> tuple[str, Any]:
    cuda = torch.cuda.is_available()
    if config.device == "cuda" and not cuda:
        raise ConfigError("s2l.device is 'cuda' but no CUDA device is available")
    device = "cuda" if config.device == "cuda" or (config.device == "auto" and cuda) else "cpu"
    if config.dtype == "auto":
        return device, torch.bfloat16 if device == "cuda" else torch.float32
    return device, getattr(torch, config.dtype)


def _vocab_size(model: Any, tokenizer: Any) -> int:
    """Rows of the input embedding table (any id below is a valid input)."""
    try:
        return int(model.get_input_embeddings().num_embeddings)
    except (NotImplementedError, AttributeError):  # custom code without the accessor
        size = getattr(model.config, "vocab_size", None)
        return int(size) if isinstance(size, int) else len(tokenizer)


def _pad_id(model: Any, tokenizer: Any) -> int:
    """The preferred pad id (the model's, the tokenizer's, else eos); a batch that contains it
    is padded with a free id instead (:meth:`HFRewardModel.batch_pad_id`)."""
    pad = getattr(model.config, "pad_token_id", None)
    if pad is None:
        pad = tokenizer.pad_token_id
    if pad is None:
        pad = tokenizer.eos_token_id
    if pad is None:
        raise ConfigError("the reward model's tokenizer has neither a pad nor an eos token")
    if isinstance(pad, list):
        pad = pad[0]
    model.config.pad_token_id = int(pad)
    return int(pad)


def _looks_local(target: str) -> bool:
    """Whether ``target`` can only be a path: a Hugging Face id is ``name`` or ``org/name``."""
    return target.startswith((".", "/", "~", "\\")) or target.count("/") > 1 or ":" in target


def _check_local_path(target: str) -> None:
    """A ConfigError naming the path when ``target`` is a path that does not exist."""
    path = Path(target).expanduser()
    if _looks_local(target) and not path.exists():
        raise ConfigError(
            f"reward model path {target} does not exist (looked for {path.resolve()})"
        )


def _hint(target: str, remote: bool) -> str:
    if not Path(target).expanduser().is_dir():
        return (
            f" (no local directory {target} exists, and it is not a model in the Hugging Face "
            "cache: give the path of a downloaded model)"
        )
    return "" if remote else " (a model with its own code needs trust_remote_code: true)"


def make_reward_model(target: str, options: RMOptions) -> RewardModel:
    """This backend's factory (components.REWARD_MODELS)."""
    return HFRewardModel(target, options.config)


__all__ = ["HFRewardModel", "make_reward_model"]
