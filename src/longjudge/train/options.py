"""longjudge's training settings: the defaults laid under the user's ``DPOConfig`` keys, the
options of the ``longjudge:`` section of ``longjudge train --config`` (:class:`TrainOptions`),
and what one run trains (:class:`TrainJob`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ..config import StrictModel, build_config

#: Defaults applied under the user's DPOConfig keys.
DEFAULT_BETA = 0.15
DEFAULT_CE_WEIGHT = 0.1
DEFAULT_LEARNING_RATE = 1e-6
#: Tokens of prompt + response per sequence; a longer pair has its context shortened.
DEFAULT_MAX_LENGTH = 65536
#: The reserved YAML key that holds :class:`TrainOptions`.
OPTIONS_KEY = "longjudge"


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


__all__ = [
    "DEFAULT_BETA",
    "DEFAULT_CE_WEIGHT",
    "DEFAULT_LEARNING_RATE",
    "DEFAULT_MAX_LENGTH",
    "OPTIONS_KEY",
    "LoraOptions",
    "TrainFile",
    "TrainJob",
    "TrainOptions",
    "split_config",
]
