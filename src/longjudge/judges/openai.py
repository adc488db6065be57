"""The ``openai`` backend: any OpenAI-compatible ``/chat/completions`` endpoint, over httpx.

vLLM, SGLang, llama.cpp's server and hosted APIs all speak this protocol, but not the same
structured-output dialect: OpenAI, vLLM and SGLang take ``response_format`` of type
``json_schema``; llama.cpp's server answers that with HTTP 500 and wants ``json_object`` with a
``schema``. ``structured_output="auto"`` starts with ``json_schema`` and, when the server rejects
it, tries ``json_object`` and then plain prompting, once, and keeps what worked.

The request is one POST of a JSON body, and the answer is read as plain JSON: the official SDK
(``openai``) costs about a second of CPU to import and more client CPU per call than the rest
of longjudge together (it rebuilds and revalidates every request and answer), for the four
fields a judge needs. A plain ``http://`` server with no proxy in the environment is spoken to
with the lean HTTP/1.1 client of :mod:`.http11` (about 0.3 ms of CPU per call against httpx's
1.9 ms); ``https://`` and proxies go through httpx. Errors are classified here, from the HTTP
status and the server's message, into :mod:`longjudge.errors`.

The API key is read from the environment variable the config names, and is scrubbed from every
error message this backend raises, as are credentials in the base URL
(``http://user:secret@host/v1``): they are used to connect and appear nowhere else, not even in
the judge's identity (cache keys hold what changes the output, never a credential).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from typing import TYPE_CHECKING, Any

from ..canon import dumps, loads
from ..config import JudgeConfig
from ..errors import (
    ConfigError,
    FatalJudgeError,
    JudgeError,
    RateLimitError,
    TransientJudgeError,
    UnreachableJudgeError,
)
from ..redact import redact_url, url_secrets
from .base import Judge, JudgeRequest, JudgeResponse
from .http11 import Answer, ConnectFailed, Dropped, Http11Pool

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_DIALECTS = ("json_schema", "json_object", "none")
_CONTEXT_MARKERS = ("context length", "context_length", "maximum context", "too many tokens")
# What a server's error says when it rejects the structured-output request itself (llama.cpp's
# server answers json_schema with a 500 whose message names response_format).
_DIALECT_MARKERS = ("response_format", "json_schema", "json_object", "guided_json", "grammar")
_DIALECT_STATUSES = (400, 415, 422, 500, 501)
#: Connections per httpx pool, and most pools (requests go round-robin over them).
CONNECTIONS_PER_POOL, POOLS_MAX = 8, 32
KEEPALIVE_EXPIRY = 2.0  # seconds an idle connection is kept for reuse


class _DialectRejected(FatalJudgeError):
    """The server refused the structured-output request itself (see ``_is_dialect_error``)."""


class OpenAIJudge(Judge):
    """A judge behind an OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    backend = "openai"

    def __init__(self, model: str, config: JudgeConfig) -> None:
        super().__init__(model)
        import httpx

        self.config = config
        self._httpx = httpx
        self.base_url = (config.base_url or os.environ.get("OPENAI_BASE_URL") or "").rstrip("/")
        self._api_key = os.environ.get(config.api_key_env, "")
        self._secrets = [s for s in (self._api_key,) if len(s) >= 4] + url_secrets(self.base_url)
        #: The base URL as it may be shown: credentials redacted.
        self.public_url = redact_url(self.base_url)
        self.dialect: str = (
            "json_schema" if config.structured_output == "auto" else config.structured_output
        )
        self._auto = config.structured_output == "auto"
        # A kept-alive connection for every request the limiter may let through, spread over
        # small pools: httpcore walks every connection of its pool on each request and answer,
        # which at a few hundred connections costs more CPU than the rest of the call.
        keep = max(8, config.max_concurrency)
        pools = min(POOLS_MAX, -(-keep // CONNECTIONS_PER_POOL))
        tls = httpx.create_ssl_context()  # one for all pools: each costs ~50 ms of CPU to build
        self._pools: list[httpx.AsyncClient] = [
            httpx.AsyncClient(
                base_url=(self.base_url or DEFAULT_BASE_URL) + "/",
                timeout=config.timeout,
                verify=tls,
                limits=httpx.Limits(
                    max_connections=keep,
                    max_keepalive_connections=-(-keep // pools) + 2,
                    # below the 5 s after which uvicorn-based servers (vLLM, SGLang) close an
                    # idle connection: reusing one just as the server closes it fails the call
                    keepalive_expiry=KEEPALIVE_EXPIRY,
                ),
                headers={
                    "Authorization": f"Bearer {self._api_key or 'not-needed'}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            for _ in range(pools)
        ]
        self._next_pool = itertools.cycle(self._pools).__next__
        #: The lean HTTP/1.1 client (:mod:`.http11`) for a plain http:// server without a proxy.
        self._lean: Http11Pool | None = None
        if self.base_url.startswith("http://") and not _proxy_configured():
            self._lean = Http11Pool(
                self.base_url,
                {
                    "Authorization": f"Bearer {self._api_key or 'not-needed'}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
                timeout=config.timeout,
                keepalive_expiry=KEEPALIVE_EXPIRY,
                max_idle=keep + 2,
            )

    def identity(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "base_url": self.public_url}

    @property
    def endpoint(self) -> str:
        return f"{self.public_url}#{self.model}"

    def enforces_schema(self) -> bool:
        return self.dialect != "none"

    def schema_dialect(self) -> str:
        return self.dialect

    async def probe(self) -> None:
        """``GET /models``: answered by OpenAI, vLLM, SGLang and llama.cpp's server."""
        if self._lean is not None:
            answer = await self._lean_call("GET", "models", b"", timeout=5.0)
            if answer.status_code >= 400:
                raise self._status_error(answer)
            return
        httpx = self._httpx
        try:
            response = await self._next_pool().get("models", timeout=5.0)
        except httpx.ConnectError as exc:
            raise UnreachableJudgeError(self._scrub(f"connection error: {exc}")) from None
        except httpx.TransportError as exc:
            raise TransientJudgeError(self._scrub(f"{type(exc).__name__}: {exc}")) from None
        if response.status_code >= 400:
            raise self._status_error(response)

    async def generate(self, request: JudgeRequest) -> JudgeResponse:
        while True:
            dialect = self.dialect if request.schema_ is not None else "none"
            try:
                return await self._create(request, dialect)
            except _DialectRejected as exc:
                # Only in auto mode, only for a structured request, and at most twice per
                # backend: a dialect error is never retried forever.
                if not (self._auto and dialect != "none"):
                    raise FatalJudgeError(
                        f"the server rejected the structured-output dialect {dialect!r}; set "
                        f"judge.structured_output (json_object, none or auto): {exc}"
                    ) from None
                self.dialect = _DIALECTS[_DIALECTS.index(dialect) + 1]

    def _body(self, request: JudgeRequest, dialect: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.n > 1:
            body["n"] = request.n
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop)
        if request.schema_ is not None and dialect == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.schema_},
            }
        elif request.schema_ is not None and dialect == "json_object":
            body["response_format"] = {"type": "json_object", "schema": request.schema_}
        return body

    async def _create(self, request: JudgeRequest, dialect: str) -> JudgeResponse:
        content = dumps(self._body(request, dialect))
        if self._lean is not None:
            answer = await self._lean_call("POST", "chat/completions", content)
            if answer.status_code >= 400:
                raise self._status_error(answer)
            return _completion(answer.content, request, dialect, self.model)
        httpx = self._httpx
        try:
            response = await self._next_pool().post("chat/completions", content=content)
        except httpx.TimeoutException as exc:
            raise TransientJudgeError(self._scrub(f"timeout: {type(exc).__name__}")) from None
        except httpx.ConnectError as exc:  # refused or not resolved: no connection was made
            message = self._scrub(f"connection error: {type(exc).__name__}: {exc}")
            raise UnreachableJudgeError(message) from None
        except httpx.TransportError as exc:  # e.g. dropped after connecting
            message = self._scrub(f"connection error: {type(exc).__name__}: {exc}")
            raise TransientJudgeError(message) from None
        if response.status_code >= 400:
            raise self._status_error(response)
        return _completion(response.content, request, dialect, self.model)

    async def _lean_call(
        self, method: str, path: str, body: bytes, timeout: float | None = None
    ) -> Answer:
        """One exchange on the lean client, its failures classified as httpx's are."""
        assert self._lean is not None
        try:
            return await self._lean.request(method, path, body, timeout)
        except asyncio.TimeoutError:
            raise TransientJudgeError("timeout: no answer in time") from None
        except ConnectFailed as exc:  # refused or not resolved: no connection was made
            raise UnreachableJudgeError(self._scrub(f"connection error: {exc}")) from None
        except (Dropped, OSError) as exc:  # e.g. dropped after connecting
            message = self._scrub(f"connection error: {type(exc).__name__}: {exc}")
            raise TransientJudgeError(message) from None

    def _status_error(self, response: httpx.Response | Answer) -> JudgeError:
        status = response.status_code
        message = self._scrub(f"HTTP {status}: {_error_text(response)}")
        retry_after = _retry_after(response.headers.get("retry-after"))
        if status == 429:
            return RateLimitError(message, retry_after=retry_after)
        if _is_dialect_error(status, message):
            return _DialectRejected(message)
        if status in (408, 409) or status >= 500:
            return TransientJudgeError(message, retry_after=retry_after)
        if any(marker in message.lower() for marker in _CONTEXT_MARKERS):
            return FatalJudgeError(f"context length exceeded: {message}")
        return FatalJudgeError(message)

    def classify_error(self, exc: BaseException) -> JudgeError | None:
        # generate() raises only JudgeErrors (already scrubbed); anything else is a bug.
        return exc if isinstance(exc, JudgeError) else None

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return redact_url(text)

    async def aclose(self) -> None:
        if self._lean is not None:
            await self._lean.aclose()
        for pool in self._pools:
            await pool.aclose()


def _completion(raw: bytes, request: JudgeRequest, dialect: str, model: str) -> JudgeResponse:
    """The JudgeResponse of a chat completion body; a body of another shape is transient."""
    try:
        completion = loads(raw)
        choices = completion.get("choices") or []
        texts = [(c["message"].get("content") or "") for c in choices]
        finish = [c.get("finish_reason") for c in choices]
        usage = completion.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        answered_by = str(completion.get("model") or model)
    except (ValueError, TypeError, KeyError, AttributeError):
        # some servers answer 200 with a body that is not a chat completion
        raise TransientJudgeError(
            "server returned a body that is not a chat completion", overload=False
        ) from None
    if not choices:
        raise TransientJudgeError("server returned no choices", overload=False)
    if not all(isinstance(t, str) for t in texts):
        raise TransientJudgeError("server returned a non-text message", overload=False)
    return JudgeResponse(
        texts=texts,
        model=answered_by,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        finish_reasons=finish,
        structured=request.schema_ is not None and dialect != "none",
    )


def _proxy_configured() -> bool:
    """Whether the environment names a proxy (then httpx, which honours it, sends)."""
    names = ("http_proxy", "all_proxy")
    return any(os.environ.get(n) or os.environ.get(n.upper()) for n in names)


def _error_text(response: httpx.Response | Answer) -> str:
    """The server's error message (OpenAI's ``{"error": {"message"}}``), else its body."""
    text = response.text
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = f" ({error['code']})" if error.get("code") else ""
        return f"{error['message']}{code}"[:2000]
    if isinstance(data, dict) and isinstance(data.get("detail"), str):
        return str(data["detail"])[:2000]
    return text[:2000]


def _is_dialect_error(status: int, message: str) -> bool:
    """A 4xx/5xx whose message says the server rejected the structured-output request."""
    if status not in _DIALECT_STATUSES:
        return False
    text = message.lower()
    if any(marker in text for marker in _CONTEXT_MARKERS):
        return False
    return any(marker in text for marker in _DIALECT_MARKERS)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def make_judge(model: str, config: JudgeConfig) -> Judge:
    """The ``openai`` backend's factory (components.JUDGES)."""
    if not model:
        raise ConfigError("openai backend needs a model name: openai/<model>")
    return OpenAIJudge(model, config)


__all__ = ["OpenAIJudge", "make_judge"]
