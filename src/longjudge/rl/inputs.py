"""From a trainer's arguments to :class:`~longjudge.rl.scoring.RewardInput` items.

Completions come as strings or as conversations (TRL's conversational format: a list of
``{"role", "content"}`` messages, content a string or a list of ``{"type": "text", "text"}``
parts). Context, question and reference come from dataset columns, one value per completion.
A completion or row that cannot be read becomes ``None`` with a reason (the item is unscored);
a column that does not reach the reward function at all is a configuration error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigError
from .options import RewardColumns
from .scoring import RewardInput


def content_text(content: Any) -> str | None:
    """A message's content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        texts: list[str] = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and part.get("type") == "text":
                text = part.get("text")
                if not isinstance(text, str):
                    return None
                texts.append(text)
        return "".join(texts)
    return None


def completion_text(completion: Any) -> str | None:
    """The text a policy wrote: a string as is; of a conversation, the assistant messages'
    contents (all messages' when none has a role), joined by newlines. None: not text."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if not isinstance(completion, Sequence) or not completion:
        return None
    messages = list(completion)
    if not all(isinstance(m, Mapping) for m in messages):
        return None
    chosen = [m for m in messages if m.get("role") == "assistant"] or messages
    parts = [content_text(m.get("content")) for m in chosen]
    if any(p is None for p in parts):
        return None
    return "\n".join(p for p in parts if p is not None)


def _column(columns: Mapping[str, Any], name: str, size: int, required: bool) -> list[Any]:
    if name not in columns:
        if not required:
            return [None] * size
        given = sorted(k for k in columns if k not in ("trainer_state", "completion_ids"))
        raise ConfigError(
            f"the dataset column {name!r} did not reach the reward function (columns given: "
            f"{', '.join(given) or 'none'}); name it with columns={{...}}"
        )
    values = columns[name]
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ConfigError(f"column {name!r} must hold one value per completion")
    if len(values) != size:
        raise ConfigError(f"column {name!r} has {len(values)} values for {size} completions")
    return list(values)


def build_inputs(
    completions: Sequence[Any], columns: Mapping[str, Any], names: RewardColumns
) -> tuple[list[RewardInput | None], list[str]]:
    """One item per completion (None where unusable) and, for those, the reason."""
    size = len(completions)
    contexts = _column(columns, names.context, size, required=True)
    queries = _column(columns, names.query, size, required=True)
    references = _column(columns, names.reference, size, required=False)
    items: list[RewardInput | None] = []
    reasons: list[str] = []
    for completion, context, query, reference in zip(completions, contexts, queries, references):
        response = completion_text(completion)
        reason = ""
        if response is None:
            reason = "bad_request: the completion is neither a string nor a conversation of text"
        elif not isinstance(context, str) or not context.strip():
            reason = f"bad_request: empty or non-text {names.context!r}"
        elif not isinstance(query, str) or not query.strip():
            reason = f"bad_request: empty or non-text {names.query!r}"
        if reason or response is None:
            items.append(None)
            reasons.append(reason)
            continue
        ref = reference if isinstance(reference, str) and reference.strip() else None
        items.append(RewardInput(context=context, query=query, response=response, reference=ref))
        reasons.append("")
    return items, reasons


__all__ = ["build_inputs", "completion_text", "content_text"]
