"""Request and response bodies of the reward server, and the unpacking of OpenRLHF's strings.

``/v1/rewards`` takes explicit items. ``/get_reward`` takes OpenRLHF's remote reward model body:
``query`` holds prompt + response as the policy saw and wrote them, ``prompts`` the prompts
alone, ``labels`` whatever the dataset's label key held. The context and the question are
recovered from the prompt with :class:`~longjudge.serve.config.GetRewardConfig`, or taken from a
label that is a JSON object (``{"context": ..., "query": ..., "reference": ...}``); a label that
is a plain string is the reference answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .config import GetRewardConfig


class RewardItem(BaseModel):
    """One response to score: the long context, the question, the response, a reference."""

    model_config = ConfigDict(extra="forbid")

    context: str = Field(description="The long document(s) the question is about.")
    query: str = Field(description="The question or instruction.")
    response: str = Field(description="The response to score.")
    reference: str | None = Field(default=None, description="A reference answer, if known.")


class RewardsRequest(BaseModel):
    """Body of ``POST /v1/rewards``."""

    model_config = ConfigDict(extra="forbid")

    items: list[RewardItem] = Field(description="The responses to score, answered in order.")


class GetRewardRequest(BaseModel):
    """Body of ``POST /get_reward`` (OpenRLHF); keys OpenRLHF adds in newer versions are ignored."""

    model_config = ConfigDict(extra="ignore")

    query: list[str] = Field(description="Prompt + response strings.")
    prompts: list[str] | None = Field(default=None, description="The prompts alone.")
    labels: list[Any] | None = Field(default=None, description="Per-item labels, if any.")


@dataclass(frozen=True)
class Unpacked:
    """An item recovered from OpenRLHF's strings, or the reason it could not be."""

    item: RewardItem | None
    reason: str | None = None


class Unpacker:
    """Turns one (query, prompt, label) of ``/get_reward`` into a :class:`RewardItem`."""

    def __init__(self, config: GetRewardConfig) -> None:
        self.config = config
        self._pattern = re.compile(config.prompt_pattern)
        self._strip = [re.compile(p) for p in config.strip_patterns]

    def _clean(self, text: str) -> str:
        for pattern in self._strip:
            text = pattern.sub("", text)
        return text.strip()

    def _split(self, query: str, prompt: str | None) -> tuple[str, str] | None:
        if prompt is not None and prompt and query.startswith(prompt):
            return prompt, query[len(prompt) :]
        sep = self.config.response_separator
        if sep and sep in query:
            head, _, tail = query.rpartition(sep)
            return head, tail
        return None

    def unpack(self, query: str, prompt: str | None, label: Any) -> Unpacked:
        fields = _label_fields(label)
        split = self._split(query, prompt)
        if split is None:
            return Unpacked(
                None,
                "bad_request: cannot split the query into prompt and response (send 'prompts' "
                "that prefix each query, or set get_reward.response_separator)",
            )
        raw_prompt, response = split
        context, question = fields.get("context"), fields.get("query")
        if context is None or question is None:
            match = self._pattern.match(self._clean(raw_prompt))
            if match is None:
                return Unpacked(None, "bad_request: the prompt does not match prompt_pattern")
            context = context if context is not None else match.group("context").strip()
            question = question if question is not None else match.group("query").strip()
        if not context.strip() or not question.strip():
            return Unpacked(None, "bad_request: empty context or question")
        item = RewardItem(
            context=context,
            query=question,
            response=self._clean(response),
            reference=fields.get("reference"),
        )
        return Unpacked(item)


def _label_fields(label: Any) -> dict[str, str]:
    """A JSON-object label gives context/query/reference; a plain string is the reference."""
    if isinstance(label, dict):
        data: Any = label
    elif isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            data = json.loads(label)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return {"reference": label} if label.strip() else {}
    elif isinstance(label, str):
        return {"reference": label} if label.strip() else {}
    else:
        return {}
    return {
        key: value
        for key in ("context", "query", "reference")
        if isinstance(value := data.get(key), str) and value.strip()
    }


__all__ = ["GetRewardRequest", "RewardItem", "RewardsRequest", "Unpacked", "Unpacker"]
