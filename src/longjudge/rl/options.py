"""Settings of :class:`~longjudge.rl.LongJudgeReward`. Each field documents itself.

The judge, cache, retry and method sections are those of ``longjudge score`` (a
:class:`~longjudge.config.ScoreConfig`, from ``config=``); these are the reward function's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..components import SCORERS
from ..config import ScoreConfig, StrictModel, build_config, load_config
from ..errors import ConfigError
from ..serve.config import ServeFile


class RewardColumns(StrictModel):
    """Which dataset columns (TRL) or ``extra_info`` keys (verl) hold the inputs."""

    context: str = Field("context", description="Column with the long context (documents).")
    query: str = Field("query", description="Column with the question or instruction.")
    reference: str = Field(
        "reference",
        description="Column with a reference answer (optional; S2L-RM uses it). A missing "
        "column or an empty value means no reference.",
    )


class RewardOptions(StrictModel):
    """How a reward function reaches its scorer and turns rewards into numbers."""

    method: str = Field(
        "longreward",
        description="Scoring method: longreward (LLM judge), s2l (S2L-RM) or any other name "
        "in components.SCORERS.",
    )
    judge: str | None = Field(
        None,
        description="Judge spec for in-process scoring, e.g. 'openai/Qwen2.5-72B-Instruct' "
        "(see docs/judges.md). Exactly one of judge and server.",
    )
    server: str | None = Field(
        None,
        description="Base URL of a running `longjudge serve` (e.g. http://judge-host:8100); "
        "scoring then happens there, with the server's judge, cache and method.",
    )
    token_env: str = Field(
        "LONGJUDGE_API_TOKEN",
        description="With server: environment variable holding the server's bearer token. "
        "Unset or empty: requests go without a token (for a server run with --allow-from).",
    )
    columns: RewardColumns = Field(
        default_factory=RewardColumns, description="Names of the input columns."
    )
    scale: float = Field(
        1.0, gt=0, description="Factor on the 0-10 totals handed to the trainer (0.1: 0-1)."
    )
    name: str | None = Field(
        None,
        description="The function's __name__ (TRL's log prefix: rewards/<name>/mean); "
        "default 'longjudge_<method>'.",
    )
    outside_trust_region: float | Literal["keep", "none"] = Field(
        "keep",
        description="S2L-RM: what a completion gets that the verifier finds contradicting the "
        "reference (Reward.excluded): 'keep' its reward-model score (counted as 'excluded' in "
        "the logs), 'none' (no reward: TRL gives it no advantage), or a number on the "
        "trainer's scale (a penalty, e.g. the lowest reward you expect).",
    )
    prepared_cache_size: int = Field(
        32,
        ge=0,
        description="In-process: per-prompt work (evidence index, key points) kept for this "
        "many recent prompts, so that a prompt scored again in a later call (verl's per-sample "
        "reward manager, several steps over one dataset row) is not prepared again. 0: only "
        "within one call.",
    )
    server_batch_items: int = Field(
        256,
        ge=1,
        description="With server: most items in one request (the server's "
        "serve.max_batch_items); a prompt's completions are never split across requests "
        "unless the prompt alone has more.",
    )
    request_timeout: float = Field(
        600.0, gt=0, description="With server: seconds one request may take."
    )

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        return SCORERS.check(value)

    @model_validator(mode="after")
    def _one_way(self) -> RewardOptions:
        if (self.judge is None) == (self.server is None):
            raise ValueError(
                "give exactly one of judge (score in this process) and server (score through "
                "a running `longjudge serve`)"
            )
        return self

    @property
    def display_name(self) -> str:
        return self.name or f"longjudge_{self.method}"


def score_config(config: str | Path | dict[str, Any] | ScoreConfig | None,
                 base_url: str | None = None) -> ScoreConfig:
    """The ``longjudge score`` config from a YAML path, a mapping or a ready object;
    ``base_url`` wins over the file's ``judge.base_url`` (as the CLI flag does). A ``serve:``
    section (a server's file) is validated and then set aside."""
    flags = {"judge": {"base_url": base_url}} if base_url is not None else None
    if isinstance(config, (str, Path)):
        return load_config(ServeFile, config, flags).score_config()
    if isinstance(config, ScoreConfig):
        data: dict[str, Any] = config.model_dump()
    elif config is None:
        data = {}
    elif isinstance(config, dict):
        data = dict(config)
    else:
        raise ConfigError(f"config must be a path, a mapping or a ScoreConfig, not {config!r:.60}")
    return build_config(ServeFile, data, flags).score_config()


__all__ = ["RewardColumns", "RewardOptions", "score_config"]
