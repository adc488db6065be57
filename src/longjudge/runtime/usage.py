"""Usage accounting: judge calls, tokens and cache hits, per step and in total."""

from __future__ import annotations

from typing import Any

from ..types import Usage


def estimate_tokens(text: str) -> int:
    """The documented rough estimate used where a server reports no usage: characters / 4."""
    return (len(text) + 3) // 4


class UsageTracker:
    """Adds usage per named step (``faithfulness.verify``, ``completeness.extract`` ...)."""

    def __init__(self) -> None:
        self.steps: dict[str, Usage] = {}

    def record(self, step: str, usage: Usage) -> None:
        self.steps.setdefault(step, Usage()).add(usage)

    def total(self) -> Usage:
        out = Usage()
        for usage in self.steps.values():
            out.add(usage)
        return out

    def merge(self, other: UsageTracker) -> None:
        for step, usage in other.steps.items():
            self.record(step, usage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total().model_dump(),
            "steps": {k: v.model_dump() for k, v in sorted(self.steps.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UsageTracker:
        tracker = cls()
        for step, usage in data.get("steps", {}).items():
            tracker.record(step, Usage.model_validate(usage))
        return tracker


__all__ = ["UsageTracker", "estimate_tokens"]
