"""The result shapes of the readers: a reported bad record and a read result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RecordError:
    """One input record that was not loaded, and why.

    ``line`` is the 1-based line of a JSONL file, or the 1-based row of a Parquet file, a
    ``.json`` list or a Hugging Face dataset; ``None`` when the problem is not tied to one
    record (a file that ends early) or the record's position is unknown. ``id`` is the record's
    id when it could be read.
    """

    source: str
    line: int | None
    id: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """``{"source", "line", "id", "reason"}``, ready for ``errors.jsonl``."""
        return asdict(self)


@dataclass
class ReadResult(Generic[T]):
    """The records that loaded, in file order, and one :class:`RecordError` per bad record.

    ``lines[i]`` is the line (or row) that ``records[i]`` came from, so that later checks
    (:func:`longjudge.io.group_candidates`) can point back into the file.
    """

    records: list[T] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    source: str = ""
    lines: list[int | None] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no record was rejected."""
        return not self.errors


__all__ = ["ReadResult", "RecordError"]
