"""Everything a training run needs except the model, checked before any weight is loaded:
the ``DPOConfig``, the tokenizer (with a chat template), LoRA, and the pairs made to fit
``max_length`` by shortening their context (:mod:`longjudge.train.fit`). A run with nothing
left to train on is refused here (:class:`NothingToTrainError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, MissingDependencyError
from .args import build_args, lora_config
from .fit import FitReport, ModelSpans, fit_rows, trl_measure
from .options import TrainJob, TrainOptions


class NothingToTrainError(ConfigError):
    """No pair is left once the pairs are made to fit: the run is refused before it starts."""


@dataclass
class Prepared:
    """Everything a run needs except the model: checked before any weight is loaded."""

    dataset: Any
    args: Any
    tokenizer: Any
    fit: FitReport
    peft_config: Any = None


def load_tokenizer(model: str, trust_remote_code: bool) -> Any:
    """The model's tokenizer; ConfigError when it cannot load or has no chat template."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the tokenizer of {model}: {exc}") from exc
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"the tokenizer of {model} has no chat template: the pairs are conversations, so "
            "train a chat (instruction-tuned) model or add a template to its tokenizer_config.json"
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_dataset(pairs: Any) -> Any:
    """``pairs`` as a ``datasets.Dataset``: one already, or a path for :func:`load_pairs`."""
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependencyError("datasets", "train", "DPO training") from exc
    if isinstance(pairs, datasets.Dataset):
        return pairs
    from ..preference.dataset import load_pairs

    return load_pairs(pairs)


def fit_pairs(
    pairs: Any, tokenizer: Any, args: Any, options: TrainOptions
) -> tuple[Any, FitReport]:
    """The pairs made to fit ``args.max_length`` (see :mod:`longjudge.train.fit`)."""
    import datasets

    if options.truncation != "drop" and not getattr(tokenizer, "is_fast", False):
        raise ConfigError(
            f"truncation {options.truncation!r} needs a fast tokenizer (token offsets); this "
            "model's is not: use --truncation drop, or a max_length that fits every pair"
        )
    rows, report = fit_rows(
        pairs.to_list(),
        trl_measure(tokenizer),
        args.max_length,
        options.truncation,
        options.window_tokens,
        ModelSpans(tokenizer) if options.truncation != "drop" else None,
    )
    if not rows:
        raise NothingToTrainError(report.refusal())
    if not report.cut and not report.dropped_total:
        return pairs, report
    return datasets.Dataset.from_list(rows), report


def prepare(job: TrainJob) -> Prepared:
    """Check and make ready everything but the model: the config, the tokenizer, LoRA, and
    the pairs made to fit ``max_length``. Raises (ConfigError, NothingToTrainError) before
    any weight is loaded."""
    pairs = load_dataset(job.pairs)
    args = build_args(job.dpo, job.options, job.output_dir)
    peft_config = lora_config(job.options.lora) if job.options.lora else None
    tokenizer = load_tokenizer(job.model, bool(args.trust_remote_code))
    dataset, report = fit_pairs(pairs, tokenizer, args, job.options)
    return Prepared(dataset, args, tokenizer, report, peft_config)


__all__ = [
    "NothingToTrainError",
    "Prepared",
    "fit_pairs",
    "load_dataset",
    "load_tokenizer",
    "prepare",
]
