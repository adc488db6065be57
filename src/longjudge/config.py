"""Typed configs shared by every command. Each field documents itself.

Precedence: defaults < YAML file (``--config``) < CLI flags. Unknown keys are errors, and
validation lives here rather than in the code that uses a value. Scorer-specific configs live
beside their scorers (``scorers/longreward/config.py``, ``scorers/s2l/config.py``,
``scorers/longbench_chat.py``) and are nested into :class:`ScoreConfig`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError

StructuredDialect = Literal["auto", "json_schema", "json_object", "none"]


class StrictModel(BaseModel):
    """Base of every config: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RetryConfig(StrictModel):
    """The one retry policy: exponential backoff with jitter, bounded in attempts and time."""

    max_attempts: int = Field(6, ge=1, description="Attempts per judge request, first included.")
    max_total_seconds: float = Field(
        300.0, gt=0, description="Give up on a request after this long, waits included."
    )
    initial_backoff: float = Field(1.0, gt=0, description="First backoff in seconds.")
    max_backoff: float = Field(60.0, gt=0, description="Cap on one backoff in seconds.")
    jitter: float = Field(1.0, ge=0, description="Up to this many seconds of random jitter.")
    parse_retries: int = Field(
        1, ge=0, description="Re-asks (bypassing the cache) when an output cannot be parsed."
    )


class JudgeConfig(StrictModel):
    """How to reach and drive a judge backend."""

    base_url: str | None = Field(
        None, description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1."
    )
    api_key_env: str = Field(
        "OPENAI_API_KEY",
        description="Name of the environment variable that holds the API key (never the key).",
    )
    structured_output: StructuredDialect = Field(
        "auto",
        description=(
            "How a JSON schema is sent: 'json_schema' (OpenAI, vLLM, SGLang), 'json_object' "
            "(llama.cpp's server: schema enforced as a grammar), 'none' (prompt only; the verdict "
            "is read from a block marked with a per-request nonce), or 'auto' (json_schema, "
            "falling back to json_object and then none when the server rejects the dialect)."
        ),
    )
    timeout: float = Field(120.0, gt=0, description="Seconds before one request is abandoned.")
    max_concurrency: int = Field(
        256,
        ge=1,
        description="Ceiling on requests in flight against one endpoint (--concurrency). Below "
        "it an adaptive limit finds the server's capacity: it grows while latency holds and "
        "backs off on latency growth, 429 and 5xx (runtime/limiter.py). A backend that serves "
        "one request at a time (local llama.cpp) caps it at 1.",
    )
    temperature: float = Field(0.0, ge=0, description="Sampling temperature of judge calls.")
    max_tokens: int = Field(1024, ge=1, description="Completion budget of one judge call.")
    seed: int | None = Field(None, description="Sampling seed sent to servers that accept one.")
    model_path: str | None = Field(
        None, description="Local backend: a GGUF file; default the packaged Gemma 3 270M."
    )
    n_ctx: int = Field(8192, ge=512, description="Local backend: context window in tokens.")
    n_threads: int | None = Field(None, description="Local backend: CPU threads (default: all).")
    tokenizer: str | None = Field(
        None, description="A local Hugging Face tokenizer directory or tokenizer.json file."
    )


class CacheConfig(StrictModel):
    """The persistent judge cache."""

    enabled: bool = Field(True, description="Use the cache for reads and writes.")
    path: str | None = Field(
        None,
        description="SQLite file; default $LONGJUDGE_CACHE_DIR or ~/.cache/longjudge/judge.sqlite.",
    )


class RunConfig(StrictModel):
    """How a job runs over its records."""

    max_examples_in_flight: int | None = Field(
        None,
        ge=1,
        description="Hard cap on prompts scored at once (None: automatic, a new prompt starts "
        "whenever the judge's concurrency limit has free slots nobody waits for; see "
        "runtime/pipeline.py). Judge concurrency is limited separately.",
    )
    retry_unscored: bool = Field(
        False, description="On resume, score again the candidates that ended unscored."
    )
    rescore: bool = Field(
        False,
        description="Move the run directory's earlier results to superseded/ and score every "
        "candidate again. Needed to reuse a directory whose results were made with another "
        "judge, scoring config or prompts (without it such a job is refused: one directory "
        "never mixes results of two setups).",
    )
    progress: bool = Field(
        True,
        description="Show progress: a bar when stderr is a terminal, else a plain line every "
        "10 s ($LONGJUDGE_PROGRESS_INTERVAL).",
    )


class RecordLimits(StrictModel):
    """Per-record size limits: a record over one is a per-record error (``errors.jsonl`` in
    ``longjudge score``, an item error in the server) and is never sent to the judge. Tokens
    are counted with the offline regex tokenizer (about one per word or punctuation mark)."""

    max_context_tokens: int | None = Field(
        262_144,
        ge=1,
        description="Longest context accepted, in tokens; null: no limit. Contexts are cut into "
        "windows, so this guards against runaway inputs, not the judge's window.",
    )
    max_response_tokens: int | None = Field(
        16_384,
        ge=1,
        description="Longest response accepted, in tokens; null: no limit. Every response is "
        "sent whole to the judge several times, so an oversized one costs many calls.",
    )


class ScoreConfig(StrictModel):
    """Everything ``longjudge score`` (and the server and the Ray engine) is driven by.

    The YAML file has one key per field; the method sections are validated by the scorer they
    belong to (``scorers/longreward/config.py``, ``scorers/s2l/config.py``).
    """

    judge: JudgeConfig = Field(default_factory=JudgeConfig, description="The judge backend.")
    cache: CacheConfig = Field(default_factory=CacheConfig, description="The judge cache.")
    retry: RetryConfig = Field(default_factory=RetryConfig, description="The retry policy.")
    run: RunConfig = Field(default_factory=RunConfig, description="Concurrency and resume.")
    longreward: dict[str, Any] = Field(
        default_factory=dict, description="LongRewardConfig fields (method longreward)."
    )
    s2l: dict[str, Any] = Field(default_factory=dict, description="S2LConfig fields (method s2l).")
    longbench_chat: dict[str, Any] = Field(
        default_factory=dict,
        description="LongBenchChatConfig fields (method longbench-chat, `eval judge`).",
    )
    example_fields: dict[str, Any] = Field(
        default_factory=dict, description="Field mapping of the examples file (io.ExampleFields)."
    )
    candidate_fields: dict[str, Any] = Field(
        default_factory=dict,
        description="Field mapping of the responses file (io.CandidateFields).",
    )
    limits: RecordLimits = Field(
        default_factory=RecordLimits, description="Per-record size limits (context, response)."
    )


M = TypeVar("M", bound=BaseModel)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; anything else is a ConfigError."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping, not {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``, recursing into nested mappings."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def build_config(model: type[M], *layers: dict[str, Any] | None) -> M:
    """Validate ``model`` from layered mappings (later layers win); errors name the key."""
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            merged = deep_merge(merged, layer)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid {model.__name__}: {problems}") from exc


__all__ = [
    "CacheConfig",
    "JudgeConfig",
    "RecordLimits",
    "RetryConfig",
    "RunConfig",
    "ScoreConfig",
    "StrictModel",
    "StructuredDialect",
    "build_config",
    "deep_merge",
    "load_yaml",
]
