"""Field mapping: which keys of an input record hold each field of an Example or Candidate.

Each mapping entry is one key or a list of keys tried in order; the first key present with a
non-null value wins. Every key not used (including the unused alternatives) goes to ``meta``;
a ``meta`` key holding an object is merged into ``meta`` rather than nested.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, field_validator, model_validator

from ..config import RecordLimits, StrictModel
from ..types import Candidate, Example
from .sources import type_name_json
from .validation import over_limit, text_problem


class BadRecord(Exception):
    """A record that cannot become an Example or Candidate (internal to the readers)."""

    def __init__(self, reason: str, record_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.record_id = record_id


def _key_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _check_keys(model: StrictModel, names: tuple[str, ...]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        for key in getattr(model, name):
            if not key:
                raise ValueError(f"{name}: a key name must not be empty")
            if key in seen and seen[key] != name:
                raise ValueError(f"key '{key}' is mapped to both '{seen[key]}' and '{name}'")
            seen[key] = name


class ExampleFields(StrictModel):
    """Where the fields of an :class:`~longjudge.types.Example` are in an input record.

    The defaults read the public LongReward layout (``idx``, ``context``, ``query``,
    ``answer``) as well as longjudge's own (``id``, ``context``, ``query``, ``reference``).
    """

    id: list[str] = Field(
        default_factory=lambda: ["id", "idx"],
        min_length=1,
        description="Key(s) of the example id; strings or integers (integers become strings).",
    )
    context: list[str] = Field(
        default_factory=lambda: ["context"],
        min_length=1,
        description="Key(s) of the long context: a non-empty string.",
    )
    query: list[str] = Field(
        default_factory=lambda: ["query", "question", "input"],
        min_length=1,
        description="Key(s) of the query: a non-empty string.",
    )
    reference: list[str] = Field(
        default_factory=lambda: ["reference", "answer"],
        description="Key(s) of the optional reference answer; [] never reads one.",
    )

    _lists = field_validator("id", "context", "query", "reference", mode="before")(_key_list)

    @model_validator(mode="after")
    def _distinct(self) -> ExampleFields:
        _check_keys(self, ("id", "context", "query", "reference"))
        return self


class CandidateFields(StrictModel):
    """Where the fields of a :class:`~longjudge.types.Candidate` are in an input record.

    The defaults read LongReward's sampled responses (``idx`` like ``"11-3"``, the response in
    ``answer``): with no example id key, the example id is the id cut at its last ``-``.
    """

    id: list[str] = Field(
        default_factory=lambda: ["id", "idx"],
        min_length=1,
        description="Key(s) of the candidate id; unique within its example.",
    )
    example_id: list[str] = Field(
        default_factory=lambda: ["example_id"],
        min_length=1,
        description="Key(s) of the id of the example the candidate answers.",
    )
    text: list[str] = Field(
        default_factory=lambda: ["text", "response", "answer", "output"],
        min_length=1,
        description="Key(s) of the response text: a non-empty string.",
    )
    example_id_from_id: bool = Field(
        True,
        description=(
            "When no example id key is present, derive it from the candidate id by cutting at "
            "the last '-' ('11-3' answers example '11')."
        ),
    )

    _lists = field_validator("id", "example_id", "text", mode="before")(_key_list)

    @model_validator(mode="after")
    def _distinct(self) -> CandidateFields:
        _check_keys(self, ("id", "example_id", "text"))
        return self


def _label(name: str, key: str) -> str:
    return f"'{name}'" if key == name else f"'{name}' (key '{key}')"


class _Picker:
    """Takes fields out of one raw record and remembers which keys it used."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.used: set[str] = set()
        self.record_id: str | None = None

    def fail(self, reason: str) -> BadRecord:
        return BadRecord(reason, self.record_id)

    def pick(self, keys: list[str]) -> tuple[str, Any] | None:
        present = [k for k in keys if k in self.row]
        if not present:
            return None
        key = next((k for k in present if self.row[k] is not None), present[0])
        self.used.add(key)
        return key, self.row[key]

    def text(self, name: str, keys: list[str]) -> str:
        """A required string field: present, not null, not blank."""
        got = self.pick(keys)
        if got is None:
            raise self.fail(f"missing field '{name}' (looked for: {', '.join(keys)})")
        key, value = got
        if value is None:
            raise self.fail(f"null field {_label(name, key)}")
        value = self._string(name, key, value)
        problem = text_problem(value)
        if problem is not None:
            raise self.fail(f"empty field {_label(name, key)}: {problem}")
        return value

    def limited(self, name: str, value: str, limit: int | None, setting: str) -> str:
        """``value``, unless it is longer than ``limit`` tokens."""
        problem = over_limit(value, limit, setting)
        if problem is not None:
            raise self.fail(f"field '{name}' too long: {problem}")
        return value

    def optional_text(self, name: str, keys: list[str]) -> str | None:
        """An optional string field: missing, null and blank are None."""
        got = self.pick(keys)
        if got is None or got[1] is None:
            return None
        value = self._string(name, got[0], got[1])
        return value if value.strip() else None

    def _string(self, name: str, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(
                f"wrong type for {_label(name, key)}: {type_name_json(value)}, expected string"
            )
        if "\x00" in value:
            raise self.fail(f"NUL character in {_label(name, key)}")
        return value

    def ident(self, name: str, keys: list[str], got: tuple[str, Any] | None = None) -> str:
        """An id: a non-empty string, or an integer (an integral float too) made a string."""
        got = got or self.pick(keys)
        if got is None:
            raise self.fail(f"missing field '{name}' (looked for: {', '.join(keys)})")
        key, value = got
        if value is None:
            raise self.fail(f"null field {_label(name, key)}")
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)  # pandas stores an integer column with nulls as floats
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            got_type = type_name_json(value)
            raise self.fail(
                f"wrong type for {_label(name, key)}: {got_type}, expected string or integer"
            )
        if not value.strip():
            raise self.fail(f"empty field {_label(name, key)}: blank or whitespace only")
        if "\x00" in value:
            raise self.fail(f"NUL character in {_label(name, key)}")
        return value

    def meta(self) -> dict[str, Any]:
        extra = {k: v for k, v in self.row.items() if k not in self.used}
        nested = extra.get("meta")
        if isinstance(nested, dict):
            del extra["meta"]
            return {**nested, **extra}
        return extra


def to_example(
    row: dict[str, Any], fields: ExampleFields, limits: RecordLimits | None = None
) -> Example:
    """Build an Example from a raw record, or raise :class:`BadRecord` with the reason."""
    p = _Picker(row)
    p.record_id = p.ident("id", fields.id)
    context = p.text("context", fields.context)
    if limits is not None:
        p.limited("context", context, limits.max_context_tokens, "max_context_tokens")
    query = p.text("query", fields.query)
    reference = p.optional_text("reference", fields.reference) if fields.reference else None
    return Example(id=p.record_id, context=context, query=query, reference=reference, meta=p.meta())


def to_candidate(
    row: dict[str, Any], fields: CandidateFields, limits: RecordLimits | None = None
) -> Candidate:
    """Build a Candidate from a raw record, or raise :class:`BadRecord` with the reason."""
    p = _Picker(row)
    p.record_id = cid = p.ident("id", fields.id)
    got = p.pick(fields.example_id)
    if got is not None:
        example_id = p.ident("example_id", fields.example_id, got)
    elif not fields.example_id_from_id:
        raise p.fail(f"missing field 'example_id' (looked for: {', '.join(fields.example_id)})")
    else:
        example_id, _, tail = cid.rpartition("-")
        if not example_id.strip() or not tail:
            raise p.fail(
                f"missing field 'example_id' (looked for: {', '.join(fields.example_id)}), "
                f"and the id '{cid}' is not of the form '<example id>-<n>' to derive it from"
            )
    text = p.text("text", fields.text)
    if limits is not None:
        p.limited("text", text, limits.max_response_tokens, "max_response_tokens")
    return Candidate(id=cid, example_id=example_id, text=text, meta=p.meta())


__all__ = ["BadRecord", "CandidateFields", "ExampleFields", "to_candidate", "to_example"]
