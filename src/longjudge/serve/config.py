"""Settings of the reward server: the ``serve:`` section of its YAML config. Each field documents
itself; the other sections (``judge:``, ``cache:``, ``retry:``, ``run:``, ``longreward:``,
``s2l:``) are those of ``longjudge score``."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from ..config import ScoreConfig, StrictModel
from .network import parse_networks


class GetRewardConfig(StrictModel):
    """How ``POST /get_reward`` (OpenRLHF's remote reward model shape) unpacks its strings."""

    prompt_pattern: str = Field(
        r"(?s)^(?P<context>.+)\n\s*Question:\s*(?P<query>.+?)\s*$",
        description="Regular expression with the named groups 'context' and 'query', matched "
        "against the prompt after strip_patterns are removed. The default splits at the last "
        "line starting with 'Question:'.",
    )
    strip_patterns: list[str] = Field(
        default_factory=lambda: [
            r"<\|im_start\|>(system|user|assistant)\n?",
            r"<\|im_end\|>\n?",
            r"<\|(begin|end)_of_text\|>",
            r"<\|start_header_id\|>\w+<\|end_header_id\|>\n*",
            r"<\|eot_id\|>",
            r"<\|endoftext\|>",
            r"<start_of_turn>(user|model)\n?",
            r"<end_of_turn>\n?",
            r"</?s>",
        ],
        description="Regular expressions removed from prompts and responses before parsing "
        "(chat-template markers; the default covers ChatML, Llama 3 and Gemma).",
    )
    response_separator: str | None = Field(
        None,
        description="When a query does not start with its prompt (or no prompts are sent), the "
        "response is what follows the last occurrence of this string, e.g. "
        "'<|im_start|>assistant\\n'; None: such an item is unscored.",
    )
    unscored_value: float | None = Field(
        None,
        description="Value put into 'rewards' for an unscored item; None sends null. Set it "
        "(e.g. 0.0) only when the trainer cannot take null, and read 'scored' to tell them apart.",
    )
    scale: float = Field(
        1.0, gt=0, description="Factor applied to scored totals (0.1 maps 0-10 onto 0-1)."
    )

    @field_validator("prompt_pattern")
    @classmethod
    def _groups(cls, value: str) -> str:
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        if not {"context", "query"} <= set(pattern.groupindex):
            raise ValueError("needs the named groups 'context' and 'query'")
        return value

    @field_validator("strip_patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                re.compile(item)
            except re.error as exc:
                raise ValueError(f"{item!r} is not a regular expression: {exc}") from exc
        return value


class ServeConfig(StrictModel):
    """Limits, authentication and the OpenRLHF adapter of ``longjudge serve``."""

    token_env: str = Field(
        "LONGJUDGE_API_TOKEN",
        description="Environment variable holding the bearer token (when no --token-file).",
    )
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    max_batch_items: int = Field(
        256, ge=1, description="Most items (or queries) in one request (413 beyond)."
    )
    request_timeout: float = Field(
        600.0, gt=0, description="Seconds a request may take, waiting included (504 beyond)."
    )
    max_concurrent_requests: int = Field(
        64,
        ge=1,
        description="Requests scored at once; more wait for a slot within their timeout. Judge "
        "calls are limited separately by judge.max_concurrency.",
    )
    keep_alive: int = Field(
        75,
        ge=1,
        description="Seconds an idle keep-alive connection stays open. Keep it above the idle "
        "expiry of the clients' connection pools (httpx: 5 s, aiohttp: 15 s): when both are "
        "equal, the server can close a connection just as a client sends a request on it, and "
        "that request fails with a read error no client retries (it is a POST).",
    )
    breaker_failures: int = Field(
        3,
        ge=1,
        description="Consecutive judge calls that cannot connect before the server stops "
        "trying: scoring requests then get 503 with Retry-After at once.",
    )
    breaker_probe_interval: float = Field(
        5.0,
        gt=0,
        description="Seconds between reachability probes of the judge while it is down (also "
        "the Retry-After sent with 503); the first probe that succeeds resumes scoring.",
    )
    get_reward: GetRewardConfig = Field(
        default_factory=GetRewardConfig, description="The OpenRLHF /get_reward adapter."
    )
    allow_from: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR blocks, or 'loopback' for 127.0.0.0/8 and ::1) whose "
        "requests are accepted WITHOUT a bearer token, for clients that cannot send one "
        "(OpenRLHF's remote reward client). A request that sends an Authorization header is "
        "checked as usual; all other networks still need the token. Empty: nowhere.",
    )

    @field_validator("allow_from")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return [str(n) for n in parse_networks(value)]


class ServeFile(ScoreConfig):
    """A server's YAML file: the ``longjudge score`` sections plus ``serve:``. Every section
    is validated when the file is loaded, by any command that reads it (serve, check, the RL
    reward function)."""

    serve: ServeConfig = Field(default_factory=ServeConfig, description="The server itself.")

    def score_config(self) -> ScoreConfig:
        """The scoring part, as the :class:`ScoreConfig` the scorers are driven by."""
        return ScoreConfig.model_validate(self.model_dump(exclude={"serve"}))


__all__ = ["GetRewardConfig", "ServeConfig", "ServeFile"]
