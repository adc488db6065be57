"""The judge backend contract: one abstract async method, plus error classification.

A backend turns one :class:`JudgeRequest` into one :class:`JudgeResponse`. It does not retry,
cache, limit concurrency or count usage: :class:`longjudge.runtime.client.JudgeClient` does that,
once, for every backend. A backend's only other duty is :meth:`Judge.classify_error`, which maps
its native exceptions to :class:`~longjudge.errors.JudgeError` subclasses; whatever it does not
classify is a bug and propagates.
"""

from __future__ import annotations

import abc
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import JudgeError

Message = dict[str, str]


class JudgeRequest(BaseModel):
    """Everything that changes a judge's output, and nothing else."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: tuple[Message, ...] = Field(description="Chat messages, role and content.")
    schema_: dict[str, Any] | None = Field(
        default=None, alias="schema", description="JSON schema the output must follow."
    )
    schema_name: str = Field(default="output", description="Name sent with the schema.")
    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: int = 1024
    seed: int | None = None
    n: int = Field(default=1, ge=1, description="Completions wanted (sampling only).")
    stop: tuple[str, ...] = ()

    def cache_payload(self) -> dict[str, Any]:
        """The request's part of a cache key: what ``model_dump(by_alias=True, mode="json")``
        gives (tuples are written as lists, the same JSON), built directly because it is asked
        for every judge call and dumping the schema through pydantic cost 0.1 ms each."""
        return {
            "messages": self.messages,
            "schema": self.schema_,
            "schema_name": self.schema_name,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "n": self.n,
            "stop": self.stop,
        }


class JudgeResponse(BaseModel):
    """One answer from a judge (``texts`` has ``n`` entries when sampling)."""

    model_config = ConfigDict(extra="forbid")

    texts: list[str]
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reasons: list[str | None] = Field(default_factory=list)
    structured: bool = Field(default=False, description="Whether the server enforced the schema.")
    cached: bool = False
    verdict_nonce: str | None = Field(
        default=None,
        description="The nonce of the verdict block the request asked for (unstructured "
        "output); the verdict is read from that block only.",
    )

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""

    @property
    def truncated(self) -> bool:
        return any(reason == "length" for reason in self.finish_reasons)


class Judge(abc.ABC):
    """An LLM judge backend. Subclasses implement :meth:`generate` and :meth:`classify_error`."""

    #: The registered backend name (``openai``, ``local``, ``mock`` ...).
    backend: str = ""

    def __init__(self, model: str) -> None:
        self.model = model

    @property
    def spec(self) -> str:
        return f"{self.backend}/{self.model}"

    def identity(self) -> dict[str, Any]:
        """What, besides the request, changes the output: the cache key's other half."""
        return {"backend": self.backend, "model": self.model}

    @property
    def endpoint(self) -> str:
        """Key of the concurrency limiter: requests to one endpoint share one limit."""
        return self.spec

    def enforces_schema(self) -> bool:
        """Whether a request's JSON schema is enforced on the output (grammar or structured
        mode) as of now. When not, the client asks for the verdict in a nonce-marked block
        (:func:`longjudge.prompts.base.with_verdict_block`). Unknown backends: not."""
        return False

    def schema_dialect(self) -> str:
        """How a request's JSON schema reaches the model as of now, in words (``longjudge
        check-judge`` shows it): ``none`` when it is not enforced."""
        return "backend-specific" if self.enforces_schema() else "none"

    #: How many requests this backend can usefully run at once (None: no own limit).
    max_parallel: int | None = None

    @abc.abstractmethod
    async def generate(self, request: JudgeRequest) -> JudgeResponse:
        """Send one request and return the answer. Never retries."""

    def classify_error(self, exc: BaseException) -> JudgeError | None:
        """Map a native exception to a JudgeError, or None when it is a bug."""
        if isinstance(exc, JudgeError):
            return exc
        return None

    async def probe(self) -> None:
        """Check that the judge can be reached, cheaply (no generation); raise when it cannot.
        In-process backends are always reachable."""

    async def aclose(self) -> None:
        """Release connections or models. Idempotent."""

    def tokenize_count(self, text: str) -> int | None:
        """Count tokens with the judge's own tokenizer when it has one here."""
        return None


__all__ = ["Judge", "JudgeRequest", "JudgeResponse", "Message"]
