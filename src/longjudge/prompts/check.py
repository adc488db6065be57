"""The smallest structured judge call: a yes/no question with an enum-only schema.

Used by ``longjudge check-judge`` and by the backend tests. An enum is the one constraint every
grammar engine enforces (llama.cpp ignores minimum/maximum), and the answer fits in a handful of
tokens, so even the packaged 270M model answers it within a 64-token budget.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..judges.base import JudgeRequest
from .base import Prompt, data_block


class CheckOut(BaseModel):
    """A yes/no answer."""

    model_config = ConfigDict(extra="forbid")

    answer: Literal["yes", "no"]


CHECK_PROMPT: Prompt[CheckOut] = Prompt("check", CheckOut, max_tokens=64)

DEFAULT_QUESTION = "Is Paris the capital of France?"


def check_request(question: str = DEFAULT_QUESTION, *, max_tokens: int = 64) -> JudgeRequest:
    """The check request for ``question`` (in English)."""
    return CHECK_PROMPT.request(
        "en", {"question": data_block("QUESTION", question)}, max_tokens=max_tokens
    )


__all__ = ["CHECK_PROMPT", "DEFAULT_QUESTION", "CheckOut", "check_request"]
