"""Training on preference pairs: DPO + λ·CE with TRL (torch, transformers and trl are imported
only when a trainer is built)."""

from .dpo import (
    DEFAULT_BETA,
    DEFAULT_CE_WEIGHT,
    DEFAULT_LEARNING_RATE,
    DEFAULT_MAX_LENGTH,
    LoraOptions,
    TrainJob,
    TrainOptions,
    TrainResult,
    build_args,
    build_trainer,
    train_dpo,
)

__all__ = [
    "DEFAULT_BETA",
    "DEFAULT_CE_WEIGHT",
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_MAX_LENGTH",
    "LoraOptions",
    "TrainJob",
    "TrainOptions",
    "TrainResult",
    "build_args",
    "build_trainer",
    "train_dpo",
]
