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

from ..runtime.client import JudgeClient
from ..types import Candidate, Example, Reward


class Scorer(abc.ABC):
    """A reward method. Judge failures become ``unscored`` rewards, never exceptions."""

    method: str = ""

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
        """Score every candidate of one example; per-prompt work is done once."""
        prepared = await self.prepare(example)
        return list(
            await asyncio.gather(*(self.score_candidate(example, c, prepared) for c in candidates))
        )

    def score_sync(self, example: Example, candidates: Sequence[Candidate]) -> list[Reward]:
        """:meth:`score` for code that is not async."""
        return asyncio.run(self.score(example, candidates))

    def describe(self) -> dict[str, Any]:
        """The resolved settings written to the run directory's config."""
        return {"method": self.method}

    def stats(self) -> dict[str, Any]:
        """Counters for the run summary (e.g. truncated reward-model inputs). Default: none."""
        return {}


__all__ = ["Scorer"]
