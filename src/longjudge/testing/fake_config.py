"""Configuration of the fake OpenAI-compatible judge server, and its fault plan.

Kept apart from the server so that tests and benchmarks can build a config without importing
starlette or uvicorn.
"""

from __future__ import annotations

import random
import threading
from typing import Literal

from pydantic import Field, model_validator

from ..config import StrictModel

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "hang",
    "drop",
    "malformed_json",
    "truncated",
    "schema_invalid",
    "auth",
]

#: The faults a real server shows under load; ``auth`` is only injected when asked for.
DEFAULT_FAULT_MIX: dict[FaultKind, float] = {
    "rate_limit": 1.0,
    "server_error": 1.0,
    "hang": 1.0,
    "drop": 1.0,
    "malformed_json": 1.0,
    "truncated": 1.0,
    "schema_invalid": 1.0,
}


class FakeJudgeConfig(StrictModel):
    """How the fake judge server behaves. Every fault is drawn from one seeded generator."""

    model: str = Field("fake-judge", description="Model name listed by GET /v1/models.")
    latency: float = Field(
        0.0, ge=0, description="Seconds one request holds a serving slot before it is answered."
    )
    capacity: int = Field(
        64,
        ge=1,
        description="Requests served at once; extra requests wait for a slot. With latency L "
        "the server answers at most capacity / L requests per second.",
    )
    overflow: Literal["queue", "reject"] = Field(
        "queue",
        description="What a request finds when all capacity slots are busy: 'queue' (it waits "
        "for a slot, so latency grows) or 'reject' (an immediate 429 with Retry-After: a "
        "hidden capacity above which the server turns work away).",
    )
    latency_per_load: float = Field(
        0.0,
        ge=0,
        description="Extra seconds of latency per other request in service when a request "
        "starts (latency grows with load, as on a batching GPU server).",
    )
    fault_rate: float = Field(
        0.0, ge=0, le=1, description="Share of chat completion requests that get a fault."
    )
    fault_mix: dict[FaultKind, float] = Field(
        default_factory=lambda: dict(DEFAULT_FAULT_MIX),
        description="Relative weight of each fault kind when a fault is injected: rate_limit "
        "(429 with Retry-After), server_error (500), hang (no answer until the client gives "
        "up), drop (connection closed without a response), malformed_json (200, body not "
        "JSON), truncated (200, finish_reason 'length', output cut in half), schema_invalid "
        "(200, valid JSON that breaks the schema), auth (401 that echoes the bearer token, as "
        "a careless server would).",
    )
    max_faults: int | None = Field(
        None,
        ge=0,
        description="Stop injecting faults after this many (None: no limit). With fault_rate "
        "1 this makes the first N requests fail and the rest succeed.",
    )
    seed: int = Field(0, description="Seed of the fault generator.")
    retry_after: float = Field(
        1.0, ge=0, description="Seconds sent in the Retry-After header of a rate_limit fault."
    )
    hang_seconds: float = Field(
        600.0, gt=0, description="How long a hang lasts when the client does not disconnect."
    )
    reject_json_schema: bool = Field(
        False,
        description="Answer 500 to response_format 'json_schema' (as llama.cpp's server does) "
        "while accepting 'json_object' with a schema.",
    )
    max_prompt_chars: int | None = Field(
        None,
        ge=1,
        description="Answer 400 'maximum context length exceeded' when the messages hold more "
        "characters than this (a model's context window; None: no limit).",
    )
    script: str | None = Field(
        None,
        description="'module:attribute' of a zero-argument factory that returns a script "
        "(request body -> output text); the server imports it when no script is passed in "
        "process, so that a server in a child process can answer as a scripted judge.",
    )
    log_file: str | None = Field(
        None, description="Append one JSON line per request to this file (None: memory only)."
    )
    record_bodies: bool = Field(
        False, description="Keep each request body in the in-memory log (tests only)."
    )

    @model_validator(mode="after")
    def _mix_usable(self) -> FakeJudgeConfig:
        if any(weight < 0 for weight in self.fault_mix.values()):
            raise ValueError("fault_mix weights must be >= 0")
        if self.fault_rate > 0 and sum(self.fault_mix.values()) <= 0:
            raise ValueError("fault_rate > 0 needs a fault_mix with a positive weight")
        return self


class FaultPlan:
    """Decides, request by request, which fault (if any) to inject. Thread-safe."""

    def __init__(self, config: FakeJudgeConfig) -> None:
        self._config = config
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()
        self.injected = 0

    def draw(self) -> FaultKind | None:
        config = self._config
        if config.fault_rate <= 0:
            return None
        with self._lock:
            if config.max_faults is not None and self.injected >= config.max_faults:
                return None
            if self._rng.random() >= config.fault_rate:
                return None
            kinds = [k for k, w in config.fault_mix.items() if w > 0]
            kind = self._rng.choices(kinds, weights=[config.fault_mix[k] for k in kinds])[0]
            self.injected += 1
            return kind


__all__ = ["DEFAULT_FAULT_MIX", "FakeJudgeConfig", "FaultKind", "FaultPlan"]
