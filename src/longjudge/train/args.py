"""The ``trl.DPOConfig`` of a run: longjudge's defaults under the user's keys, the DPO + λ·CE
loss (``loss_type=["sigmoid", "sft"]`` with ``loss_weights=[1, λ]``), the device settings, and
the optional LoRA adapter (peft). Unknown ``DPOConfig`` keys are errors, with close matches.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingDependencyError
from .options import (
    DEFAULT_BETA,
    DEFAULT_CE_WEIGHT,
    DEFAULT_LEARNING_RATE,
    DEFAULT_MAX_LENGTH,
    OPTIONS_KEY,
    LoraOptions,
    TrainOptions,
)


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


def lora_config(options: LoraOptions) -> Any:
    """The peft ``LoraConfig`` of ``options`` (MissingDependencyError without peft)."""
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


__all__ = ["build_args", "check_keys", "lora_config", "resolve_args"]
