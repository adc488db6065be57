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
# What a server's error says when it rejects the structured-output request itself (llama.cpp's
# server answers json_schema with a 500 whose message names response_format).
_DIALECT_MARKERS = ("response_format", "json_schema", "json_object", "guided_json", "grammar")
_DIALECT_STATUSES = (400, 415, 422, 500, 501)


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
        # Keep a connection alive for every request the limiter may let through (the SDK
        # keeps 100: past that, each request would open and close its own connection).
        default = openai_sdk.DEFAULT_CONNECTION_LIMITS
        limits = type(default)(
            max_connections=max(default.max_connections or 0, config.max_concurrency),
            max_keepalive_connections=max(
                default.max_keepalive_connections or 0, config.max_concurrency
            ),
        )
        self._client = openai_sdk.AsyncOpenAI(
            base_url=self.base_url or None,
            api_key=self._api_key or "not-needed",
            timeout=config.timeout,
            max_retries=0,  # longjudge's retry policy is the only one
            http_client=openai_sdk.DefaultAsyncHttpxClient(limits=limits, timeout=config.timeout),
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
        # Only in auto mode, only for a structured request, only when the server's message
        # names the structured-output request (a plain 500 is a transient fault, not a verdict
        # on the dialect), and at most twice per backend: never retried forever.
        return self._auto and dialect != "none" and _is_dialect_error(exc)

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
        # The client's documented ``post`` rather than ``chat.completions.create``: the body is
        # already plain JSON, and create() re-walks the messages and the schema against the
        # SDK's type annotations on every call. The answer comes back as bytes and is read
        # here: building the SDK's ChatCompletion model costs more than the few fields used.
        raw = await self._client.post("/chat/completions", body=kwargs, cast_to=bytes)
        try:
            completion = json.loads(raw)
            choices = completion.get("choices") or []
            texts = [(c["message"].get("content") or "") for c in choices]
            finish = [c.get("finish_reason") for c in choices]
            usage = completion.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
            model = completion.get("model") or self.model
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # some servers answer 200 with a body that is not a chat completion
            raise TransientJudgeError(
                "server returned a body that is not a chat completion", overload=False
            ) from exc
        if not choices:
            raise TransientJudgeError("server returned no choices", overload=False)
        if not all(isinstance(t, str) for t in texts):
            raise TransientJudgeError("server returned a non-text message", overload=False)
        return JudgeResponse(
            texts=texts,
            model=str(model),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reasons=finish,
            structured=request.schema_ is not None and dialect != "none",
        )

    def classify_error(self, exc: BaseException) -> JudgeError | None:
        sdk = self._sdk
        if isinstance(exc, JudgeError):
            return exc
        message = self._scrub(f"{type(exc).__name__}: {exc}")
        self._scrub_native(exc)
        if isinstance(exc, sdk.RateLimitError):
            return RateLimitError(message, retry_after=_retry_after(exc))
        if isinstance(exc, (sdk.APITimeoutError, sdk.APIConnectionError)):
            return TransientJudgeError(message)
        if isinstance(exc, sdk.APIResponseValidationError | json.JSONDecodeError):
            return TransientJudgeError(message, overload=False)  # a broken body, not load
        if isinstance(exc, sdk.APIStatusError):
            status = exc.status_code
            if _is_dialect_error(exc):
                return FatalJudgeError(
                    f"the server rejected the structured-output dialect {self.dialect!r}; set "
                    f"judge.structured_output (json_object, none or auto): {message}"
                )
            if status in (408, 409) or status >= 500:
                return TransientJudgeError(message, retry_after=_retry_after(exc))
            if any(marker in str(exc).lower() for marker in _CONTEXT_MARKERS):
                return FatalJudgeError(f"context length exceeded: {message}")
            return FatalJudgeError(message)
        return None

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if len(self._api_key) >= 4 else text

    def _scrub_native(self, exc: BaseException) -> None:
        # The classified error is raised 'from' the native one, so a logged traceback shows
        # both: a server that echoes the key must not leak it through the chained exception.
        if len(self._api_key) < 4:
            return
        exc.args = tuple(self._scrub(a) if isinstance(a, str) else a for a in exc.args)
        for attr in ("message", "body"):
            value = getattr(exc, attr, None)
            if isinstance(value, str):
                setattr(exc, attr, self._scrub(value))
            elif value is not None and self._api_key in str(value):
                try:
                    setattr(exc, attr, json.loads(self._scrub(json.dumps(value))))
                except (TypeError, ValueError):
                    setattr(exc, attr, self._scrub(str(value)))

    async def aclose(self) -> None:
        await self._client.close()


def _is_dialect_error(exc: Any) -> bool:
    """A 4xx/5xx whose message says the server rejected the structured-output request."""
    if getattr(exc, "status_code", 0) not in _DIALECT_STATUSES:
        return False
    text = str(exc).lower()
    if any(marker in text for marker in _CONTEXT_MARKERS):
        return False
    return any(marker in text for marker in _DIALECT_MARKERS)


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
