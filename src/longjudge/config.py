"""Typed configs shared by every command. Each field documents itself.

Precedence: defaults < YAML file (``--config``) < CLI flags, assembled by
:func:`~longjudge.config_base.load_config` for every command. Unknown keys are errors, and
validation lives here rather than in the code that uses a value.

Sections that belong to one component are validated by that component's config model, found
through its registry in :mod:`longjudge.components`: a scoring method's top-level section
(``longreward:``, ``s2l:``) by the scorer's model, a judge backend's section of ``judge:``
(``judge.local:``) by the backend's. Every section present is validated when the config is
built, whatever the command (a typo under ``longreward:`` fails a ``--method s2l`` run), and a
new component needs no new field here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .components import JUDGES, SCORERS
from .config_base import StrictModel, build_config, deep_merge, load_config, load_yaml, prefixed
from .registry import Registry

StructuredDialect = Literal["auto", "json_schema", "json_object", "none"]


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
    """How to reach and drive a judge backend.

    Any other key is a backend's own section (``local:``), validated by that backend's config
    model (components.JUDGES); read it with :meth:`section`."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

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
    initial_concurrency: int | None = Field(
        None,
        ge=1,
        description="Requests in flight at the start, before the adaptive limit has measured the "
        "server (it then doubles while latency holds). Unset: 32. --concurrency N sets it to N "
        "too: a server whose size you gave is used at that size from the first request, and the "
        "limit still backs off on latency growth, 429 and 5xx.",
    )
    temperature: float = Field(0.0, ge=0, description="Sampling temperature of judge calls.")
    seed: int | None = Field(None, description="Sampling seed sent to servers that accept one.")

    @model_validator(mode="before")
    @classmethod
    def _backend_sections(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in data:
                if key in _MOVED_JUDGE_KEYS:
                    raise ValueError(f"{key} {_MOVED_JUDGE_KEYS[key]}")
        return _validate_sections(cls, data, JUDGES)

    def section(self, backend: str) -> BaseModel | None:
        """The validated ``judge.<backend>:`` section (its defaults when absent); None for a
        backend that takes no settings."""
        return _section(self, backend, JUDGES)


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
        "whenever fewer requests wait at the judge's concurrency limit than a quarter of it (at "
        "most 32); see "
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

    The YAML file has one key per field, plus one section per scoring method (``longreward:``,
    ``s2l:``: any name in components.SCORERS), validated by that scorer's config model when
    this config is built. Read a method's settings with :meth:`section`.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    judge: JudgeConfig = Field(default_factory=JudgeConfig, description="The judge backend.")
    cache: CacheConfig = Field(default_factory=CacheConfig, description="The judge cache.")
    retry: RetryConfig = Field(default_factory=RetryConfig, description="The retry policy.")
    run: RunConfig = Field(default_factory=RunConfig, description="Concurrency and resume.")
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

    @model_validator(mode="before")
    @classmethod
    def _method_sections(cls, data: Any) -> Any:
        return _validate_sections(cls, data, SCORERS)

    def section(self, method: str) -> BaseModel | None:
        """The validated settings of scoring ``method`` (its section, else its defaults);
        None for a method that takes no settings. An unknown method is a ConfigError."""
        return _section(self, method, SCORERS)

    def sections(self) -> list[str]:
        """The method sections present (the YAML file's and the flags')."""
        return sorted(self.model_extra or {})


#: Keys that used to sit in ``judge:``, and where they went.
_MOVED_JUDGE_KEYS = {
    "n_ctx": "moved to judge.local.n_ctx (a setting of the local backend)",
    "n_threads": "moved to judge.local.n_threads (a setting of the local backend)",
    "model_path": "moved to judge.local.model_path (a setting of the local backend)",
    "max_tokens": "removed: it was never read; a judge call's completion budget is set per "
    "method (longreward.max_tokens, s2l.max_tokens)",
    "tokenizer": "removed: it was never read; LongReward's windows use longreward.tokenizer",
}


def _validate_sections(model: type[BaseModel], data: Any, registry: Registry[Any]) -> Any:
    """``data`` with every key that is not a field of ``model`` validated as the section of
    the registry entry of that name; an unknown key is an error naming it."""
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    errors: list[Any] = []
    for key, value in data.items():
        if key in model.model_fields:
            continue
        name = _entry_name(key, registry)
        if name is None:
            errors.append({"type": "extra_forbidden", "loc": (key,), "input": value})
            continue
        section = registry.config_model(name)
        if section is None:
            if value:
                raise ValueError(f"{key}: {registry.kind} {key!r} takes no settings")
            out[key] = None
        elif not isinstance(value, section):
            try:
                out[key] = section.model_validate({} if value is None else value)
            except ValidationError as exc:
                errors.extend(prefixed(exc, key))
    if errors:
        raise ValidationError.from_exception_data(model.__name__, errors)
    return out


def _entry_name(key: Any, registry: Registry[Any]) -> str | None:
    """The registry entry a section key names: the entry's name, or the name with ``_`` for
    ``-`` (``longbench_chat:`` is the section of method ``longbench-chat``); None if none."""
    if not isinstance(key, str):
        return None
    for name in (key, key.replace("_", "-")):
        if name in registry:
            return name
    return None


def _section(config: BaseModel, name: str, registry: Registry[Any]) -> BaseModel | None:
    extra = config.model_extra or {}
    present = extra.get(name, extra.get(name.replace("-", "_")))
    if isinstance(present, BaseModel):
        return present
    # None (absent: the defaults), or a mapping assigned after validation (``config.s2l = {}``
    # sets an extra attribute without the model validator): validated here either way
    return registry.validate(name, present)


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
    "load_config",
    "load_yaml",
]
