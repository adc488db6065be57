"""What fitting pairs to ``max_length`` did: counts, the longest prompt, and the refusal text
when nothing is left (see :mod:`longjudge.train.fit`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Reasons a pair is dropped, in the order reports list them: over max_length with
#: ``truncation: drop``; its context cannot be told from its question; the question and the
#: longer response do not fit even without any context.
DROP_REASONS: tuple[str, ...] = ("too_long", "no_context", "no_room")


@dataclass
class FitReport:
    """What fitting did to the pairs (every count is of pairs, except ``tokens_removed``)."""

    max_length: int | None
    truncation: str
    pairs: int = 0
    kept: int = 0
    cut: int = 0
    tokens_removed: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    longest_prompt: int = 0
    longest_prompt_id: str | None = None
    longest_pair: int = 0
    shortest_need: int | None = None

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_length": self.max_length,
            "truncation": self.truncation,
            "pairs_read": self.pairs,
            "pairs_trained": self.kept,
            "pairs_cut": self.cut,
            "tokens_removed": self.tokens_removed,
            "pairs_dropped": self.dropped_total,
            "dropped_by_reason": dict(self.dropped),
            "longest_prompt_tokens": self.longest_prompt,
            "longest_prompt_id": self.longest_prompt_id,
            "longest_pair_tokens": self.longest_pair,
        }

    def summary(self) -> str:
        """One line: pairs kept, cut and dropped, with reasons."""
        text = f"{self.kept} of {self.pairs} pairs kept"
        if self.cut:
            text += (
                f"; context cut in {self.cut} ({self.truncation}, {self.tokens_removed:,} tokens "
                f"removed)"
            )
        if self.dropped_total:
            reasons = ", ".join(f"{k} {v}" for k, v in self.dropped.items())
            text += f"; {self.dropped_total} dropped ({reasons})"
        return text

    def refusal(self) -> str:
        """Why nothing is left to train on, and what to change."""
        lines = [
            f"no pair left to train on at max_length {self.max_length} "
            f"(truncation {self.truncation}): {self.summary()}.",
            f"The longest prompt has {self.longest_prompt:,} tokens (pair "
            f"{self.longest_prompt_id}); the longest prompt + response {self.longest_pair:,}.",
        ]
        hints = []
        if self.dropped.get("too_long"):
            hints.append(
                "let the context be cut (--truncation relevant or middle) or raise --max-length "
                f"to {self.longest_pair}"
            )
        if self.dropped.get("no_room") and self.shortest_need is not None:
            hints.append(
                "the question and the longer response alone need "
                f"{self.shortest_need:,} tokens: raise --max-length to at least that"
            )
        if self.dropped.get("no_context"):
            hints.append(
                "the context cannot be found in the prompt: write the pairs again with "
                "`longjudge pairs` (it records where the context is) or raise --max-length"
            )
        if self.pairs == 0:
            hints = ["the pairs file is empty: check `longjudge pairs`' summary"]
        lines.append("To change: " + "; ".join(hints or ["raise --max-length"]) + ".")
        return "\n".join(lines)


__all__ = ["DROP_REASONS", "FitReport"]
