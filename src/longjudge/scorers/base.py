"""The scorer contract shared by LongReward and S2L-RM.

Work that depends only on the prompt (retrieval index, completeness key points, ...) is done once
in :meth:`Scorer.prepare` and shared by every candidate of that prompt; :meth:`score_candidate`
does the per-response work. The runner calls them so that each reward is written as soon as it
is ready.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Sequence
from typing import Any

from ..prompts.base import Prompt
from ..runtime.client import JudgeClient
from ..runtime.fingerprint import Setup
from ..types import Candidate, Example, Reward


class Scorer(abc.ABC):
    """A reward method. Judge failures become ``unscored`` rewards, never exceptions."""

    method: str = ""

    _setup: Setup | None = None

    def __init__(self, client: JudgeClient) -> None:
        self.client = client

    async def prepare(self, example: Example) -> Any:
        """Per-prompt work shared by all candidates. The default has none."""
        return None

    @abc.abstractmethod
    async def score_candidate(
        self, example: Example, candidate: Candidate, prepared: Any
    ) -> Reward:
        """Score one candidate, given what :meth:`prepare` returned for its example."""

    async def score(self, example: Example, candidates: Sequence[Candidate]) -> list[Reward]:
        """Score every candidate of one example; per-prompt work is done once. Each reward
        carries its fingerprint."""
        prepared = await self.prepare(example)
        rewards = await asyncio.gather(
            *(self.score_candidate(example, c, prepared) for c in candidates)
        )
        return [self.stamp(example, c, r) for c, r in zip(candidates, rewards, strict=True)]

    def score_sync(self, example: Example, candidates: Sequence[Candidate]) -> list[Reward]:
        """:meth:`score` for code that is not async."""
        return asyncio.run(self.score(example, candidates))

    def describe(self) -> dict[str, Any]:
        """The resolved settings written to the run directory's config."""
        return {"method": self.method}

    def fingerprint_settings(self) -> dict[str, Any]:
        """Everything besides the judge and the prompts that changes the scorer's output.
        Default: :meth:`describe`; override when ``describe`` summarises an input."""
        return self.describe()

    def prompt_hashes(self) -> dict[str, str]:
        """Hash of every prompt template (and output schema) the scorer may use, by name."""
        return {}

    def setup(self) -> Setup:
        """The per-run half of every reward's fingerprint: :meth:`fingerprint_settings`, the
        judge's identity with the sampling parameters, and the prompt hashes."""
        if self._setup is None:
            judge = {
                **self.client.judge.identity(),
                "temperature": self.client.temperature,
                "seed": self.client.seed,
            }
            self._setup = Setup.of(self.fingerprint_settings(), judge, self.prompt_hashes())
        return self._setup

    def stamp(self, example: Example, candidate: Candidate, reward: Reward) -> Reward:
        """``reward`` with the fingerprint of what produced it."""
        fingerprint = self.setup().fingerprint(example, candidate)
        return reward.model_copy(update={"fingerprint": fingerprint})

    def stats(self) -> dict[str, Any]:
        """Counters for the run summary (e.g. truncated reward-model inputs). Default: none."""
        return {}

    def input_errors(self) -> list[dict[str, Any]]:
        """Bad records of the scorer's own input files (``source``, ``line``, ``reason``),
        recorded by a job with its input errors. Default: none."""
        return []


def hash_prompts(prompts: Sequence[Prompt[Any]]) -> dict[str, str]:
    """``name.lang`` -> hash of each prompt in both languages (for :meth:`Scorer.prompt_hashes`)."""
    return {f"{p.name}.{lang}": p.hash(lang) for p in prompts for lang in ("en", "zh")}


__all__ = ["Scorer", "hash_prompts"]
