"""The ``openai`` backend: the official async client against any OpenAI-compatible server.

vLLM, SGLang, llama.cpp's server and hosted APIs all speak this protocol, but not the same
structured-output dialect: OpenAI, vLLM and SGLang take ``response_format`` of type
``json_schema``; llama.cpp's server answers that with HTTP 500 and wants ``json_object`` with a
``schema``. ``structured_output="auto"`` starts with ``json_schema`` and, when the server rejects
it, tries ``json_object`` and then plain prompting, once, and keeps what worked.

The API key is read from the environment variable the config names, and is scrubbed from every
error message this backend raises.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ..config import JudgeConfig
from ..errors import (
    ConfigError,
    FatalJudgeError,
    JudgeError,
    MissingDependencyError,
    RateLimitError,
    TransientJudgeError,
)
from .base import Judge, JudgeRequest, JudgeResponse
from .registry import register_backend

if TYPE_CHECKING:
    import openai as openai_sdk

_DIALECTS = ("json_schema", "json_object", "none")
_CONTEXT_MARKERS = ("context length", "context_length", "maximum context", "too many tokens")


class OpenAIJudge(Judge):
    """A judge behind an OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    backend = "openai"

    def __init__(self, model: str, config: JudgeConfig) -> None:
        super().__init__(model)
        try:
            import openai as openai_sdk
        except ImportError as exc:  # pragma: no cover - openai is a core dependency
            raise MissingDependencyError("openai", "all", "the openai judge backend") from exc
        self.config = config
        self._sdk = openai_sdk
        self.base_url = (config.base_url or os.environ.get("OPENAI_BASE_URL") or "").rstrip("/")
        self._api_key = os.environ.get(config.api_key_env, "")
        self.dialect: str = (
            "json_schema" if config.structured_output == "auto" else config.structured_output
        )
        self._auto = config.structured_output == "auto"
        self._client = openai_sdk.AsyncOpenAI(
            base_url=self.base_url or None,
            api_key=self._api_key or "not-needed",
            timeout=config.timeout,
            max_retries=0,  # longjudge's retry policy is the only one
        )

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "base_url": self.base_url}

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}#{self.model}"

    async def generate(self, request: JudgeRequest) -> JudgeResponse:
        while True:
            dialect = self.dialect if request.schema_ is not None else "none"
            try:
                return await self._create(request, dialect)
            except self._sdk.APIStatusError as exc:
                if not self._dialect_rejected(exc, dialect):
                    raise
                self.dialect = _DIALECTS[_DIALECTS.index(dialect) + 1]

    def _dialect_rejected(self, exc: Any, dialect: str) -> bool:
        # Only in auto mode, only for a structured request, and at most twice per backend: a
        # server error caused by the dialect must not be retried forever.
        status = getattr(exc, "status_code", 0)
        return (
            self._auto
            and dialect != "none"
            and status in (400, 422, 500, 501)
            and not any(m in str(exc).lower() for m in _CONTEXT_MARKERS)
        )

    async def _create(self, request: JudgeRequest, dialect: str) -> JudgeResponse:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.n > 1:
            kwargs["n"] = request.n
        if request.top_p is not None:
            kwargs["top_p"] = request.top_p
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.stop:
            kwargs["stop"] = list(request.stop)
        if request.schema_ is not None and dialect == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.schema_},
            }
        elif request.schema_ is not None and dialect == "json_object":
            kwargs["response_format"] = {"type": "json_object", "schema": request.schema_}
        completion = await self._client.chat.completions.create(**kwargs)
        if isinstance(completion, str):  # some servers answer 200 with a non-JSON body
            raise TransientJudgeError("server returned a body that is not a chat completion")
        choices = completion.choices or []
        if not choices:
            raise TransientJudgeError("server returned no choices")
        usage = completion.usage
        return JudgeResponse(
            texts=[c.message.content or "" for c in choices],
            model=completion.model or self.model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reasons=[c.finish_reason for c in choices],
            structured=request.schema_ is not None and dialect != "none",
        )

    def classify_error(self, exc: BaseException) -> JudgeError | None:
        sdk = self._sdk
        if isinstance(exc, JudgeError):
            return exc
        message = self._scrub(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, sdk.RateLimitError):
            return RateLimitError(message, retry_after=_retry_after(exc))
        if isinstance(exc, (sdk.APITimeoutError, sdk.APIConnectionError)):
            return TransientJudgeError(message)
        if isinstance(exc, sdk.APIResponseValidationError | json.JSONDecodeError):
            return TransientJudgeError(message)
        if isinstance(exc, sdk.APIStatusError):
            status = exc.status_code
            if status in (408, 409) or status >= 500:
                return TransientJudgeError(message, retry_after=_retry_after(exc))
            if any(marker in str(exc).lower() for marker in _CONTEXT_MARKERS):
                return FatalJudgeError(f"context length exceeded: {message}")
            return FatalJudgeError(message)
        return None

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if len(self._api_key) >= 4 else text

    async def aclose(self) -> None:
        await self._client.close()


def _retry_after(exc: openai_sdk.APIStatusError) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@register_backend(
    "openai",
    needs="an OpenAI-compatible server: --base-url URL (or OPENAI_BASE_URL); key in "
    "$OPENAI_API_KEY or the variable named by judge.api_key_env",
    example="openai/Qwen2.5-72B-Instruct --base-url http://127.0.0.1:8000/v1",
)
def _make(model: str, config: JudgeConfig) -> Judge:
    if not model:
        raise ConfigError("openai backend needs a model name: openai/<model>")
    return OpenAIJudge(model, config)


__all__ = ["OpenAIJudge"]
