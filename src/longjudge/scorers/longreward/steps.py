"""What every LongReward step shares: the prompts, the language, and one way to ask the judge.

A step either returns its typed output or raises :class:`StepFailed` with a short reason that
names the step; the dimension turns that into ``unscored``. Judge errors and unusable outputs are
the only failures caught: a bug propagates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from ...errors import JudgeError, ParseError
from ...prompts.base import Language, Prompt, data_block
from ...runtime.client import JudgeClient
from ...runtime.usage import UsageTracker
from .config import LongRewardConfig
from .outputs import (
    BatchSupportOut,
    CoverageOut,
    HelpfulnessOut,
    KeyPointsOut,
    LogicalityOut,
    StatementsOut,
    SupportOut,
)

Out = TypeVar("Out", bound=BaseModel)


class StepFailed(Exception):
    """A step could not produce a usable output; ``reason`` is ``<step>: <why>``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Prompts:
    """The prompt of each step, with the schema bounds the config asks for."""

    helpfulness: Prompt[HelpfulnessOut]
    logicality: Prompt[LogicalityOut]
    statements: Prompt[StatementsOut]
    support: Prompt[SupportOut]
    support_batch: Prompt[BatchSupportOut]
    key_points: Prompt[KeyPointsOut]
    coverage: Prompt[CoverageOut]

    @classmethod
    def build(cls, config: LongRewardConfig) -> Prompts:
        analysis = {"analysis": config.analysis_chars}
        short = {"analysis": config.statement_analysis_chars}
        tokens = config.max_tokens
        return cls(
            helpfulness=Prompt(
                "lr_helpfulness", HelpfulnessOut, max_tokens=tokens, max_chars=analysis
            ),
            logicality=Prompt(
                "lr_logicality", LogicalityOut, max_tokens=tokens, max_chars=analysis
            ),
            statements=Prompt("lr_statements", StatementsOut, max_tokens=tokens),
            support=Prompt("lr_support", SupportOut, max_tokens=tokens, max_chars=short),
            support_batch=Prompt(
                "lr_support_batch", BatchSupportOut, max_tokens=tokens, max_chars=short
            ),
            key_points=Prompt("lr_keypoints", KeyPointsOut, max_tokens=tokens),
            coverage=Prompt("lr_coverage", CoverageOut, max_tokens=tokens, max_chars=analysis),
        )


@dataclass
class StepContext:
    """One dimension's view of the judge: client, prompts, language and its own usage."""

    client: JudgeClient
    prompts: Prompts
    config: LongRewardConfig
    language: Language
    usage: UsageTracker = field(default_factory=UsageTracker)
    hashes: dict[str, str] = field(default_factory=dict)

    async def ask(
        self,
        step: str,
        prompt: Prompt[Out],
        values: dict[str, str],
        *,
        validate: Any = None,
        schema: dict[str, Any] | None = None,
        urgent: bool = False,
    ) -> Out:
        """Render, send (cached, retried) and parse one step; StepFailed on failure.

        ``validate(output)`` may raise ParseError to reject a well-formed but unusable output;
        the client then asks once more, bypassing the cache. ``urgent``: later calls wait on
        this one (the limiter serves it before the others that wait).
        """
        request = prompt.request(
            self.language,
            values,
            temperature=self.client.temperature,
            max_tokens=prompt.max_tokens,
            seed=self.client.seed,
            schema=schema,
        )
        self.hashes[step] = prompt.hash(self.language)

        def parse(response: Any) -> Out:
            output = prompt.parse(response)
            if validate is not None:
                validate(output)
            return output

        try:
            return await self.client.complete(
                request, step=step, parse=parse, usage=self.usage, urgent=urgent
            )
        except ParseError as exc:
            raise StepFailed(f"{step}: {exc}") from exc
        except JudgeError as exc:
            raise StepFailed(f"{step}: judge error: {exc}") from exc


def question_block(query: str) -> str:
    return data_block("QUESTION", query)


def answer_block(text: str) -> str:
    return data_block("ANSWER", text)


__all__ = ["Prompts", "StepContext", "StepFailed", "answer_block", "question_block"]
