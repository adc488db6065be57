"""DPO + λ·CE on preference pairs: a thin layer over TRL's ``DPOTrainer``.

The objective of both papers is the DPO loss plus a cross-entropy term on the chosen response:
TRL's ``loss_type=["sigmoid", "sft"]`` with ``loss_weights=[1, λ]`` (``"sft"`` is the token-mean
negative log-likelihood of the chosen completion). This module only

- fills in longjudge's defaults (β = 0.15, λ = 0.1, learning rate 1e-6, an explicit
  ``max_length``, no reporting integrations; bf16 and activation checkpointing on a GPU,
  ``use_cpu`` otherwise), under the user's ``DPOConfig`` keys, which always win;
- rejects keys that are not ``DPOConfig`` fields, naming them;
- adds optional LoRA (peft);
- logs the two loss terms apart, as ``loss/sigmoid`` (DPO) and ``loss/sft`` (CE), unweighted,
  next to TRL's own metrics (TRL logs only their weighted sum);
- makes every pair fit ``max_length`` by shortening its context, never its question or its
  responses (:mod:`longjudge.train.fit`), and refuses, before any model is loaded, a run that
  has nothing left to train on (:func:`prepare`).

The YAML file of ``longjudge train --config`` holds ``DPOConfig`` field names at the top level,
and longjudge's own options (:class:`TrainOptions`) under the reserved key ``longjudge``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ..config import StrictModel, build_config
from ..errors import ConfigError, MissingDependencyError
from .fit import FitReport, ModelSpans, fit_rows, trl_measure

#: Defaults applied under the user's DPOConfig keys.
DEFAULT_BETA = 0.15
DEFAULT_CE_WEIGHT = 0.1
DEFAULT_LEARNING_RATE = 1e-6
#: Tokens of prompt + response per sequence; a longer pair has its context shortened.
DEFAULT_MAX_LENGTH = 65536
#: The reserved YAML key that holds :class:`TrainOptions`.
OPTIONS_KEY = "longjudge"
LOG_FILE = "longjudge_train.json"


class LoraOptions(StrictModel):
    """A LoRA adapter instead of full fine-tuning (peft)."""

    r: int = Field(16, ge=1, description="Rank of the adapter matrices.")
    alpha: int = Field(32, ge=1, description="Scaling numerator (lora_alpha).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the adapter input.")
    target_modules: str | list[str] = Field(
        "all-linear", description="Modules that get adapters: a list of names or 'all-linear'."
    )


class TrainOptions(StrictModel):
    """longjudge's own training options (YAML section ``longjudge``)."""

    ce_weight: float | None = Field(
        None,
        ge=0,
        description=f"λ, the weight of the CE term on the chosen response (default "
        f"{DEFAULT_CE_WEIGHT}); not together with an explicit loss_weights.",
    )
    lora: LoraOptions | None = Field(None, description="Train a LoRA adapter (None: all weights).")
    truncation: Literal["relevant", "middle", "drop"] = Field(
        "relevant",
        description="A pair longer than max_length: 'relevant' keeps the context windows most "
        "relevant to the question and both responses (BM25), in document order; 'middle' "
        "keeps the start and end of the context; 'drop' drops the pair. The question and the "
        "responses are never cut; each cut is marked in the text.",
    )
    window_tokens: int = Field(
        128, ge=8, description="'relevant': size of a context window, in the model's tokens."
    )


@dataclass
class TrainJob:
    """What to train on, from what, and where the model goes."""

    pairs: Any  # a path (str | Path) or a datasets.Dataset
    model: str
    output_dir: Path
    dpo: dict[str, Any] = field(default_factory=dict)
    options: TrainOptions = field(default_factory=TrainOptions)


@dataclass
class TrainResult:
    """What a training run did; ``log_history`` is the trainer's, with both loss terms.

    ``pairs`` were read, ``trained`` went into the training set; ``fit`` says what was cut and
    dropped to fit ``max_length``. ``trainer_dropped`` / ``trainer_truncated`` count what TRL
    itself dropped or cut at the end afterwards (0 unless something escaped the fit).
    """

    output_dir: Path
    pairs: int
    trained: int
    fit: FitReport
    trainer_dropped: int
    trainer_truncated: int
    log_history: list[dict[str, Any]]
    metrics: dict[str, Any]
    steps: int = 0
    main_process: bool = True


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


class TrainFile(StrictModel):
    """The YAML file of ``longjudge train``: DPOConfig keys at the top (checked against TRL's
    DPOConfig before any weight is loaded) and longjudge's own options under ``longjudge:``."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    longjudge: TrainOptions = Field(
        default_factory=TrainOptions, description="longjudge's own training options."
    )

    def split(self) -> tuple[dict[str, Any], TrainOptions]:
        """The DPOConfig keys and the :class:`TrainOptions`."""
        return dict(self.model_extra or {}), self.longjudge


def split_config(data: dict[str, Any]) -> tuple[dict[str, Any], TrainOptions]:
    """Split a YAML mapping into DPOConfig keys and :class:`TrainOptions`."""
    return build_config(TrainFile, data).split()


def _dpo_fields() -> set[str]:
    from trl.trainer.dpo_config import DPOConfig

    return {f.name for f in dataclasses.fields(DPOConfig) if f.init}


def check_keys(dpo: dict[str, Any]) -> None:
    """ConfigError naming every key that is not a DPOConfig field (with close matches)."""
    names = _dpo_fields()
    unknown = sorted(set(dpo) - names)
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, names, n=2)
            hints.append(f"{key} (did you mean {' or '.join(close)}?)" if close else key)
        raise ConfigError(
            f"unknown DPOConfig key(s): {', '.join(hints)}; longjudge's own options go under "
            f"'{OPTIONS_KEY}:' ({', '.join(TrainOptions.model_fields)})"
        )


def _loss(dpo: dict[str, Any], options: TrainOptions) -> dict[str, Any]:
    types = dpo.get("loss_type", ["sigmoid", "sft"])
    types = [types] if isinstance(types, str) else list(types)
    weights = dpo.get("loss_weights")
    if weights is not None and options.ce_weight is not None:
        raise ConfigError("set the CE weight either in loss_weights or as ce_weight, not both")
    if options.ce_weight is not None and "sft" not in types:
        raise ConfigError(f"ce_weight needs 'sft' in loss_type (got {types})")
    if weights is None:
        ce = DEFAULT_CE_WEIGHT if options.ce_weight is None else options.ce_weight
        weights = [ce if t == "sft" else 1.0 for t in types]
    return {"loss_type": types, "loss_weights": [float(w) for w in weights]}


def resolve_args(
    dpo: dict[str, Any], options: TrainOptions, output_dir: Path, cuda: bool | None = None
) -> dict[str, Any]:
    """The DPOConfig keyword arguments: longjudge's defaults under the user's keys."""
    check_keys(dpo)
    user = dict(dpo)
    limit = user.get("max_length", DEFAULT_MAX_LENGTH)
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ConfigError(f"max_length must be a positive number of tokens or null: {limit!r}")
    names = _dpo_fields()
    checkpointing = "activation_checkpointing"
    if checkpointing in names:  # transformers 5 renamed gradient_checkpointing*
        for old, new in (
            ("gradient_checkpointing", "activation_checkpointing"),
            ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs"),
        ):
            if old in user:
                user.setdefault(new, user.pop(old))
    else:
        checkpointing = "gradient_checkpointing"
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    device: dict[str, Any]
    if cuda:
        import torch

        device = {"bf16": bool(torch.cuda.is_bf16_supported()), checkpointing: True}
    else:
        device = {"use_cpu": True, "bf16": False, checkpointing: False}
    return {
        "beta": DEFAULT_BETA,
        "learning_rate": DEFAULT_LEARNING_RATE,
        "max_length": DEFAULT_MAX_LENGTH,
        "report_to": "none",
        **device,
        **user,
        **_loss(user, options),
        "output_dir": str(output_dir),
    }


def build_args(
    dpo: dict[str, Any], options: TrainOptions, output_dir: Path, cuda: bool | None = None
) -> Any:
    """A validated ``trl.DPOConfig``; TRL's own validation errors become ConfigErrors."""
    from trl.trainer.dpo_config import DPOConfig

    kwargs = resolve_args(dpo, options, output_dir, cuda)
    try:
        return DPOConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid DPOConfig: {exc}") from exc


def _lora(options: LoraOptions) -> Any:
    try:
        from peft import LoraConfig
    except ImportError as exc:
        raise MissingDependencyError("peft", "train", "LoRA training") from exc
    return LoraConfig(
        task_type="CAUSAL_LM",
        r=options.r,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules=options.target_modules,
    )


def _tokenizer(model: str, trust_remote_code: bool) -> Any:
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
    peft_config = _lora(job.options.lora) if job.options.lora else None
    tokenizer = _tokenizer(job.model, bool(args.trust_remote_code))
    dataset, report = fit_pairs(pairs, tokenizer, args, job.options)
    return Prepared(dataset, args, tokenizer, report, peft_config)


def build_trainer(job: TrainJob, prepared: Prepared | None = None) -> Any:
    """The ready ``DPOTrainer`` (longjudge's subclass that logs both loss terms), on the
    pairs made to fit."""
    from .terms import trainer_class

    ready = prepared or prepare(job)
    return trainer_class()(
        model=job.model,
        args=ready.args,
        train_dataset=ready.dataset,
        processing_class=ready.tokenizer,
        peft_config=ready.peft_config,
    )


def length_report(trainer: Any, pairs: int) -> tuple[int, int]:
    """(pairs dropped because the prompt alone fills max_length, pairs cut at max_length)."""
    dataset = trainer.train_dataset
    limit = trainer.args.max_length
    dropped = pairs - len(dataset)
    if limit is None:
        return dropped, 0
    truncated = sum(
        len(p) + max(len(c), len(r)) > limit
        for p, c, r in zip(dataset["prompt_ids"], dataset["chosen_ids"], dataset["rejected_ids"])
    )
    return dropped, int(truncated)


def _distributed(trainer: Any) -> dict[str, Any]:
    """How many processes trained, over which backend (``gloo`` for CPU processes)."""
    state = trainer.accelerator.state
    return {
        "processes": int(state.num_processes),
        "backend": state.backend,
        "type": str(state.distributed_type.value),
    }


def train_dpo(job: TrainJob, prepared: Prepared | None = None) -> TrainResult:
    """Train, save the model (or adapter) and tokenizer into ``job.output_dir``, and write
    the settings, the fit counts and the log history to ``longjudge_train.json`` there."""
    ready = prepared or prepare(job)
    trainer = build_trainer(job, ready)
    trainer_dropped, trainer_truncated = length_report(trainer, ready.fit.kept)
    output = trainer.train()
    trainer.save_model(str(job.output_dir))
    result = TrainResult(
        output_dir=job.output_dir,
        pairs=ready.fit.pairs,
        trained=len(trainer.train_dataset),
        fit=ready.fit,
        trainer_dropped=trainer_dropped,
        trainer_truncated=trainer_truncated,
        log_history=list(trainer.state.log_history),
        metrics=dict(output.metrics),
        steps=int(trainer.state.global_step),
        main_process=bool(trainer.is_world_process_zero()),
    )
    if result.main_process:
        args = trainer.args
        record = {
            "model": job.model,
            "pairs": result.pairs,
            "pairs_trained": result.trained,
            "fit": ready.fit.as_dict(),
            "dropped_prompt_too_long": trainer_dropped,
            "truncated": trainer_truncated,
            "steps": result.steps,
            "distributed": _distributed(trainer),
            "settings": {
                "beta": args.beta,
                "loss_type": list(args.loss_type),
                "loss_weights": list(args.loss_weights or []),
                "learning_rate": args.learning_rate,
                "max_length": args.max_length,
                "truncation": job.options.truncation,
                "lora": job.options.lora.model_dump() if job.options.lora else None,
            },
            "log_history": result.log_history,
        }
        path = Path(job.output_dir) / LOG_FILE
        path.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    return result


__all__ = [
    "DEFAULT_BETA",
    "DEFAULT_CE_WEIGHT",
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_MAX_LENGTH",
    "LoraOptions",
    "NothingToTrainError",
    "Prepared",
    "TrainFile",
    "TrainJob",
    "TrainOptions",
    "TrainResult",
    "build_args",
    "build_trainer",
    "check_keys",
    "fit_pairs",
    "length_report",
    "load_dataset",
    "prepare",
    "resolve_args",
    "split_config",
    "train_dpo",
]
