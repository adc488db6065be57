"""One set of rules for the text of an input record, used by the readers (``longjudge score``)
and by the reward server, so that a text refused by one is refused by the other.

A required text (context, query, response) is refused when it is blank, when it holds nothing
but invisible characters (whitespace, Unicode format characters such as U+200B ZERO WIDTH SPACE,
control characters, fillers), or when it holds a NUL character; and, with
:class:`~longjudge.config.RecordLimits`, when it is longer than the configured number of tokens
(counted with the offline regex tokenizer, so the count does not depend on the judge).
"""

from __future__ import annotations

import unicodedata

from ..config import RecordLimits

#: Characters that are not whitespace to ``str.isspace`` and not format characters, yet draw
#: nothing: Hangul fillers and the blank Braille pattern.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def is_invisible(char: str) -> bool:
    """Whether ``char`` draws nothing: whitespace, format, control or filler characters."""
    return (
        char.isspace()
        or char in _BLANK_LOOKING
        or unicodedata.category(char) in _INVISIBLE_CATEGORIES
    )


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be a required text, or None when it can."""
    if "\x00" in value:
        return "NUL character"
    if not value.strip():
        return "blank or whitespace only"
    if all(is_invisible(ch) for ch in value):
        shown = sorted({f"U+{ord(ch):04X}" for ch in value if not ch.isspace()})[:3]
        return f"only invisible characters ({', '.join(shown)})"
    return None


def count_tokens(value: str) -> int:
    """Tokens of ``value`` as the limits count them (the offline regex tokenizer)."""
    from ..text.tokenizer import RegexTokenizer

    return RegexTokenizer().count(value)


def over_limit(value: str, limit: int | None, setting: str) -> str | None:
    """Why ``value`` is too long for ``limit`` tokens (named by ``setting``), or None."""
    if limit is None or len(value) <= limit:  # a token is at least one character
        return None
    tokens = count_tokens(value)
    if tokens <= limit:
        return None
    return f"{tokens:,} tokens, over the limit of {limit:,} (limits.{setting})"


def item_problems(
    context: str,
    query: str,
    response: str | None,
    limits: RecordLimits | None = None,
) -> list[str]:
    """Every problem of one (context, query, response) item, ``field: reason`` each."""
    problems: list[str] = []
    texts = {"context": context, "query": query}
    if response is not None:
        texts["response"] = response
    for name, value in texts.items():
        problem = text_problem(value)
        if problem is not None:
            problems.append(f"{name}: {problem}")
    if limits is not None:
        checks: list[tuple[str, str | None, int | None, str]] = [
            ("context", context, limits.max_context_tokens, "max_context_tokens"),
            ("response", response, limits.max_response_tokens, "max_response_tokens"),
        ]
        for name, text, limit, setting in checks:
            if text is not None and not any(p.startswith(f"{name}:") for p in problems):
                long = over_limit(text, limit, setting)
                if long is not None:
                    problems.append(f"{name}: {long}")
    return problems


__all__ = ["count_tokens", "is_invisible", "item_problems", "over_limit", "text_problem"]
