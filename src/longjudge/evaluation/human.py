"""Human preferences: one documented JSONL format, its loader and writer.

Each line is one of two forms (``docs/evaluation.md`` has the full description):

* **scores**: people scored several candidates of one prompt (higher is better)::

    {"example_id": "11", "scores": {"11-0": 7, "11-3": 4, "11-5": 7}}

  Every pair of the listed candidates becomes one human pair; equal scores are a human tie.

* **choice**: people compared two candidates of one prompt::

    {"example_id": "11", "a": "11-0", "b": "11-3", "winner": "a"}      # "a", "b" or "tie"
    {"example_id": "11", "chosen": "11-0", "rejected": "11-3"}          # the same, shorter

  Several lines for the same pair (several annotators) are several judgements.

Candidate ids are those of the responses file the run scored. Any other key (``meta`` or not)
is kept in :attr:`HumanScores.meta` / :attr:`HumanChoice.meta`. A bad line is reported as a
:class:`~longjudge.io.records.RecordError`, never raised.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..io.records import RecordError
from ..io.sources import iter_raw
from .metrics import Preference


class _Human(BaseModel):
    model_config = ConfigDict(extra="forbid")

    example_id: str = Field(min_length=1, description="Id of the prompt (the examples file's).")
    meta: dict[str, Any] = Field(default_factory=dict, description="Free metadata, kept as is.")


class HumanScores(_Human):
    """Human scores of several candidates of one prompt; higher is better."""

    form: Literal["scores"] = "scores"
    scores: dict[str, float] = Field(
        min_length=2, description="Candidate id -> human score (any scale, higher is better)."
    )


class HumanChoice(_Human):
    """One human comparison of two candidates of one prompt."""

    form: Literal["choice"] = "choice"
    a: str = Field(min_length=1, description="First candidate id.")
    b: str = Field(min_length=1, description="Second candidate id.")
    winner: Preference = Field(description="'a', 'b' or 'tie'.")

    @model_validator(mode="after")
    def _two(self) -> HumanChoice:
        if self.a == self.b:
            raise ValueError("a and b must be two different candidates")
        return self


HumanRecord = Union[HumanScores, HumanChoice]


@dataclass(frozen=True)
class HumanPair:
    """One human judgement of a pair of candidates of one prompt."""

    example_id: str
    a: str
    b: str
    winner: Preference


@dataclass
class HumanPreferences:
    """What a human file holds: its records, the pairs they give, and the bad lines."""

    records: list[HumanRecord] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)

    @property
    def pairs(self) -> list[HumanPair]:
        return [pair for record in self.records for pair in pairs_of(record)]


def pairs_of(record: HumanRecord) -> list[HumanPair]:
    """The human pairs one record gives: every pair of a scores record, in listed order."""
    if isinstance(record, HumanChoice):
        return [HumanPair(record.example_id, record.a, record.b, record.winner)]
    out = []
    for (a, sa), (b, sb) in combinations(record.scores.items(), 2):
        winner: Preference = "tie" if sa == sb else "a" if sa > sb else "b"
        out.append(HumanPair(record.example_id, a, b, winner))
    return out


_KNOWN = {"example_id", "meta", "form", "scores", "a", "b", "winner", "chosen", "rejected"}


def parse_human(value: Any) -> HumanRecord:
    """One decoded line as a human record; ValueError or TypeError with a short reason when
    it is not one."""
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    row = dict(value)
    meta = row.pop("meta", None) or {}
    if not isinstance(meta, dict):
        raise TypeError("'meta' must be an object")
    meta = {**meta, **{k: v for k, v in row.items() if k not in _KNOWN}}
    row = {k: v for k, v in row.items() if k in _KNOWN}
    if isinstance(row.get("example_id"), int) and not isinstance(row["example_id"], bool):
        row["example_id"] = str(row["example_id"])
    if "chosen" in row or "rejected" in row:
        if "winner" in row or "a" in row or "b" in row:
            raise ValueError("use either chosen/rejected or a/b/winner, not both")
        row["a"], row["b"], row["winner"] = row.pop("chosen", None), row.pop("rejected", None), "a"
    form = row.pop("form", None)
    try:
        if "scores" in row and form in (None, "scores"):
            return HumanScores(**row, meta=meta)
        if "winner" in row and form in (None, "choice"):
            return HumanChoice(**row, meta=meta)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise ValueError(f"{where}: {first['msg']}") from exc
    raise ValueError("neither a 'scores' record nor a choice ('a', 'b', 'winner') record")


def read_human(path: str | Path) -> HumanPreferences:
    """Load a human-preference file (JSONL, JSON list, Parquet or a saved dataset)."""
    _, rows = iter_raw(path)
    out = HumanPreferences()
    for raw in rows:
        if raw.error is not None:
            out.errors.append(RecordError(str(path), raw.line, None, raw.error))
            continue
        try:
            out.records.append(parse_human(raw.value))
        except (ValueError, TypeError) as exc:
            ident = raw.value.get("example_id") if isinstance(raw.value, dict) else None
            out.errors.append(
                RecordError(str(path), raw.line, None if ident is None else str(ident), str(exc))
            )
    return out


def write_human(path: str | Path, records: Iterable[HumanRecord]) -> int:
    """Write records as JSONL (no ``form`` key: the fields say it; ``meta`` last, when not
    empty). Returns the number of lines."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as handle:
        for record in records:
            row = record.model_dump(exclude={"form", "meta"})
            if record.meta:
                row["meta"] = record.meta
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def example_ids(pairs: Sequence[HumanPair]) -> list[str]:
    """The prompts the pairs are about, in first-seen order."""
    return list(dict.fromkeys(p.example_id for p in pairs))


__all__ = [
    "HumanChoice",
    "HumanPair",
    "HumanPreferences",
    "HumanRecord",
    "HumanScores",
    "example_ids",
    "pairs_of",
    "parse_human",
    "read_human",
    "write_human",
]
