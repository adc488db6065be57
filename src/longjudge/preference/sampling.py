"""Sample N candidate responses per prompt from a policy model, through the judge backends.

The policy is any judge spec (``openai/<model>`` against vLLM, SGLang or llama.cpp's server,
``local/gemma-3-270m`` offline, ``mock/<script>`` in tests) behind the same
:class:`~longjudge.runtime.client.JudgeClient`: retries, the concurrency limit and usage counts
apply, the cache does not (every sample must be a fresh draw).

The policy sees one user turn rendered from :data:`DEFAULT_PROMPT_TEMPLATE` (the context, a blank
line, the query); ``longjudge pairs`` renders the same turn as the prompt of the preference
dataset, so the model is trained on the prompt it was sampled with.

How N candidates are drawn:

- without a seed, one request asks for the ``n`` still missing; a server that returns fewer
  choices (llama.cpp ignores ``n``) is topped up with further requests, and later prompts are
  asked one candidate per request;
- with a seed, candidate ``k`` is one request with seed ``seed + k``, so every candidate is
  reproducible on its own whatever the server does with ``n``.

Candidates are appended to the output JSONL as they arrive; re-running with the same output skips
the candidate ids already there (``<example_id>-<k>``), so an interrupted run resumes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from ..config import JudgeConfig, RetryConfig, StrictModel
from ..errors import ConfigError, JudgeError
from ..judges.base import JudgeRequest, Message
from ..runtime.client import JudgeClient
from ..runtime.progress import Progress
from ..types import Candidate, Example

#: The user turn a policy sees: the long context, a blank line, then the query.
DEFAULT_PROMPT_TEMPLATE = "{context}\n\n{query}"
_PLACEHOLDER = re.compile(r"\{context\}|\{query\}")


class PromptConfig(StrictModel):
    """How an example becomes the policy's chat prompt (shared by sampling and pairs)."""

    prompt_template: str = Field(
        DEFAULT_PROMPT_TEMPLATE,
        description="User turn with the placeholders {context} and {query}; sampling and pairs "
        "must use the same one.",
    )
    system_prompt: str | None = Field(
        None, description="An optional system turn placed before the user turn."
    )

    @field_validator("prompt_template")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        for name in ("{context}", "{query}"):
            if name not in value:
                raise ValueError(f"the prompt template needs the placeholder {name}")
        return value


def render_prompt(example: Example, prompt: PromptConfig | None = None) -> list[Message]:
    """The chat messages of ``example``: an optional system turn, then one user turn."""
    prompt = prompt or PromptConfig()
    # One pass over the template: other braces, and braces inside the context, stay as they are.
    values = {"{context}": example.context, "{query}": example.query}
    user = _PLACEHOLDER.sub(lambda m: values[m.group(0)], prompt.prompt_template)
    messages: list[Message] = []
    if prompt.system_prompt:
        messages.append({"role": "system", "content": prompt.system_prompt})
    messages.append({"role": "user", "content": user})
    return messages


class SampleConfig(PromptConfig):
    """Everything ``longjudge sample`` is driven by (YAML keys = field names)."""

    n: int = Field(10, ge=1, description="Candidates per prompt.")
    temperature: float = Field(1.0, ge=0, description="Sampling temperature.")
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling; None: server's.")
    max_tokens: int = Field(1024, ge=1, description="Completion budget of one candidate.")
    seed: int | None = Field(
        None, description="Base seed: candidate k is sampled alone with seed + k (reproducible)."
    )
    max_examples_in_flight: int = Field(4, ge=1, description="Prompts sampled at once.")
    judge: JudgeConfig = Field(
        default_factory=JudgeConfig, description="How to reach the policy (a judge backend)."
    )
    retry: RetryConfig = Field(default_factory=RetryConfig, description="The retry policy.")
    example_fields: dict[str, Any] = Field(
        default_factory=dict, description="Field mapping of the examples file (io.ExampleFields)."
    )


def candidate_id(example_id: str, k: int) -> str:
    """``<example_id>-<k>``: the id of the k-th candidate (k from 0)."""
    return f"{example_id}-{k}"


class CandidateFile:
    """The output JSONL: knows the ids already there and appends one line per candidate."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.name.endswith(".jsonl"):
            raise ConfigError(f"sampling output must be a .jsonl file (appended): {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.ids: set[str] = set()
        if self.path.exists():
            _cut_torn_tail(self.path)
            with self.path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(row, dict) and isinstance(row.get("id"), str):
                        self.ids.add(row["id"])

    def append(self, candidate: Candidate) -> None:
        """One ``write`` of a whole line, then fsync: a crash tears at most the last line."""
        data = (candidate.model_dump_json() + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.ids.add(candidate.id)


def _cut_torn_tail(path: Path) -> None:
    with path.open("rb+") as handle:
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)


@dataclass
class SampleResult:
    """What one sampling invocation did."""

    written: int = 0
    skipped: int = 0
    requests: int = 0
    prompts: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    n_supported: bool | None = None
    seconds: float = 0.0
    usage: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompts": self.prompts,
            "written": self.written,
            "skipped_existing": self.skipped,
            "requests": self.requests,
            "failed_prompts": len(self.failures),
            "server_n": self.n_supported,
            "seconds": round(self.seconds, 3),
            "usage": self.usage,
        }


class Sampler:
    """Draws the missing candidates of each example and appends them to a CandidateFile."""

    def __init__(self, client: JudgeClient, config: SampleConfig, policy: str) -> None:
        self.client = client
        self.config = config
        self.policy = policy
        #: None until a multi-choice answer shows whether the server honours ``n``.
        self.n_supported: bool | None = None
        self.progress: Progress | None = None

    def _meta(self, seed: int | None, finish_reason: str | None, model: str) -> dict[str, Any]:
        cfg = self.config
        return {
            "policy": self.policy,
            "model": model,
            "temperature": cfg.temperature,
            "top_p": cfg.top_p,
            "max_tokens": cfg.max_tokens,
            "seed": seed,
            "finish_reason": finish_reason,
        }

    async def sample_example(
        self, example: Example, sink: CandidateFile, result: SampleResult
    ) -> None:
        """Draw every candidate of ``example`` that ``sink`` does not hold yet."""
        cfg = self.config
        missing = [k for k in range(cfg.n) if candidate_id(example.id, k) not in sink.ids]
        result.skipped += cfg.n - len(missing)
        messages = tuple(render_prompt(example, cfg))
        while missing:
            seed = None if cfg.seed is None else cfg.seed + missing[0]
            one_at_a_time = cfg.seed is not None or self.n_supported is False
            want = 1 if one_at_a_time else len(missing)
            request = JudgeRequest(
                messages=messages,
                temperature=cfg.temperature,
                top_p=cfg.top_p,
                max_tokens=cfg.max_tokens,
                seed=seed,
                n=want,
            )
            response = await self.client.generate(request, step="sample")
            result.requests += 1
            texts = response.texts[:want]
            if not texts:
                raise JudgeError("the policy returned no completion")
            if want > 1:
                self.n_supported = len(response.texts) >= want
            reasons = list(response.finish_reasons) + [None] * len(texts)
            for k, text, reason in zip(missing, texts, reasons):
                sink.append(
                    Candidate(
                        id=candidate_id(example.id, k),
                        example_id=example.id,
                        text=text,
                        meta=self._meta(seed, reason, response.model or self.client.judge.model),
                    )
                )
                result.written += 1
                if self.progress is not None:
                    self.progress.advance()
            missing = missing[len(texts) :]

    async def run(self, examples: Sequence[Example], sink: CandidateFile) -> SampleResult:
        """Sample every example, a few prompts at a time; a failed prompt is reported."""
        result = SampleResult(prompts=len(examples))
        started = time.monotonic()
        limit = asyncio.Semaphore(self.config.max_examples_in_flight)

        async def one(example: Example) -> None:
            async with limit:
                try:
                    await self.sample_example(example, sink, result)
                except JudgeError as exc:  # retries are spent: the rest resumes on a re-run
                    result.failures.append({"example_id": example.id, "reason": str(exc)})

        n = self.config.n
        todo = sum(
            1 for e in examples for k in range(n) if candidate_id(e.id, k) not in sink.ids
        )
        with Progress(todo, self.client.usage, label="sampling") as progress:
            self.progress = progress
            await asyncio.gather(*(one(e) for e in examples))
        self.progress = None
        result.n_supported = self.n_supported
        result.usage = self.client.usage.to_dict()
        result.seconds = time.monotonic() - started
        return result


def build_policy_client(policy: str, config: SampleConfig) -> JudgeClient:
    """The policy behind retries, the limiter and usage counts; never a cache."""
    from ..judges.registry import create_judge

    return JudgeClient(
        create_judge(policy, config.judge),
        retry=config.retry,
        cache=None,
        max_concurrency=config.judge.max_concurrency,
        initial_concurrency=config.judge.initial_concurrency,
    )


async def sample_file(
    examples: Iterable[Example], policy: str, out: str | Path, config: SampleConfig
) -> SampleResult:
    """Sample ``config.n`` candidates per example with ``policy`` into ``out`` (resumable)."""
    sink = CandidateFile(out)
    client = build_policy_client(policy, config)
    try:
        return await Sampler(client, config, policy).run(list(examples), sink)
    finally:
        await client.aclose()


__all__ = [
    "DEFAULT_PROMPT_TEMPLATE",
    "CandidateFile",
    "PromptConfig",
    "SampleConfig",
    "SampleResult",
    "Sampler",
    "build_policy_client",
    "candidate_id",
    "render_prompt",
    "sample_file",
]
