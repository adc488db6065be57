"""Training on preference pairs: DPO + λ·CE with TRL (torch, transformers and trl are imported
only when a trainer is built), with pairs made to fit ``max_length`` by cutting their context."""

from .args import build_args
from .dpo import TrainResult, build_trainer, train_dpo
from .fit import FitReport, fit_rows
from .options import (
    DEFAULT_BETA,
    DEFAULT_CE_WEIGHT,
    DEFAULT_LEARNING_RATE,
    DEFAULT_MAX_LENGTH,
    LoraOptions,
    TrainJob,
    TrainOptions,
)
from .prepare import NothingToTrainError, Prepared, prepare
from .tiny import build_tiny_causal_lm

__all__ = [
    "DEFAULT_BETA",
    "DEFAULT_CE_WEIGHT",
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_MAX_LENGTH",
    "FitReport",
    "LoraOptions",
    "NothingToTrainError",
    "Prepared",
    "TrainJob",
    "TrainOptions",
    "TrainResult",
    "build_args",
    "build_tiny_causal_lm",
    "build_trainer",
    "fit_rows",
    "prepare",
    "train_dpo",
]
