"""Read examples and candidates record by record, and group candidates under their examples.

Every bad record becomes a :class:`RecordError` (source, line, id, reason) and the good records
go on; only a file that cannot be opened at all raises :class:`~longjudge.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from typing_extensions import Self

from ..config import RecordLimits
from ..types import Candidate, Example
from .fields import BadRecord, CandidateFields, ExampleFields, to_candidate, to_example
from .records import ReadResult, RecordError
from .sources import iter_raw, type_name_json, unit_of

R = TypeVar("R", bound=BaseModel)

Group = tuple[Example, list[Candidate]]


def read_examples(
    path: str | Path, fields: ExampleFields | None = None, limits: RecordLimits | None = None
) -> ReadResult[Example]:
    """Read examples from JSONL, ``.json``, Parquet or a ``save_to_disk`` directory.

    Duplicate ids: the first record is kept, each later one is reported. A context over
    ``limits.max_context_tokens`` is a bad record.
    """
    mapping = fields or ExampleFields()
    return _read(
        path,
        lambda row: to_example(row, mapping, limits),
        lambda e: e.id,
        lambda e: f"id '{e.id}'",
    )


def read_candidates(
    path: str | Path, fields: CandidateFields | None = None, limits: RecordLimits | None = None
) -> ReadResult[Candidate]:
    """Read candidates (responses); ids must be unique within their example. A response over
    ``limits.max_response_tokens`` is a bad record."""
    mapping = fields or CandidateFields()
    return _read(
        path,
        lambda row: to_candidate(row, mapping, limits),
        lambda c: (c.example_id, c.id),
        lambda c: f"id '{c.id}' for example '{c.example_id}'",
    )


def _read(
    path: str | Path,
    convert: Callable[[dict[str, Any]], R],
    key: Callable[[R], Hashable],
    describe: Callable[[R], str],
) -> ReadResult[R]:
    source = str(path)
    fmt, rows = iter_raw(path)
    unit = unit_of(fmt)
    result: ReadResult[R] = ReadResult(source=source)
    first_seen: dict[Hashable, int | None] = {}

    def reject(line: int | None, record_id: str | None, reason: str) -> None:
        result.errors.append(RecordError(source, line, record_id, reason))

    for raw in rows:
        if raw.error is not None:
            reject(raw.line, None, raw.error)
            continue
        if not isinstance(raw.value, dict):
            reject(raw.line, None, f"not a JSON object: got {type_name_json(raw.value)}")
            continue
        try:
            record = convert(raw.value)
        except BadRecord as bad:
            reject(raw.line, bad.record_id, bad.reason)
            continue
        except ValidationError as exc:  # a check the mapping layer does not make itself
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            reject(raw.line, None, f"invalid record: {problems}")
            continue
        k = key(record)
        if k in first_seen:
            where = first_seen[k]
            seen = f"first seen at {unit} {where}" if where is not None else "seen before"
            reject(raw.line, getattr(record, "id", None), f"duplicate {describe(record)}: {seen}")
            continue
        first_seen[k] = raw.line
        result.records.append(record)
        result.lines.append(raw.line)
    return result


class Grouping(tuple[list[Group], list[RecordError]]):
    """What :func:`group_candidates` returns: unpacks as ``(groups, errors)``.

    - ``groups``: ``(example, candidates)`` in example order, candidates in file order; only
      examples with at least one candidate.
    - ``errors``: one :class:`RecordError` per candidate whose example does not exist.
    - ``without_candidates``: the examples no candidate answers (not an error; for reporting).
    """

    without_candidates: list[Example]

    def __new__(
        cls,
        groups: list[Group],
        errors: list[RecordError],
        without_candidates: list[Example],
    ) -> Self:
        self = super().__new__(cls, (groups, errors))
        self.without_candidates = without_candidates
        return self

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickling (Ray, multiprocessing)
        return (self[0], self[1], self.without_candidates)

    @property
    def groups(self) -> list[Group]:
        return self[0]

    @property
    def errors(self) -> list[RecordError]:
        return self[1]


def group_candidates(
    examples: Sequence[Example] | ReadResult[Example],
    candidates: Sequence[Candidate] | ReadResult[Candidate],
) -> Grouping:
    """Group candidates under their examples.

    Pass the :class:`ReadResult` of :func:`read_candidates` (rather than its ``records``) and
    the error of a candidate without an example carries its source and line too.
    """
    example_list = examples.records if isinstance(examples, ReadResult) else list(examples)
    if isinstance(candidates, ReadResult):
        cand_list, source, lines = candidates.records, candidates.source, candidates.lines
    else:
        cand_list, source, lines = list(candidates), "candidates", [None] * len(candidates)
    by_example: dict[str, list[Candidate]] = {e.id: [] for e in example_list}
    errors: list[RecordError] = []
    for candidate, line in zip(cand_list, lines):
        bucket = by_example.get(candidate.example_id)
        if bucket is None:
            reason = f"no example with id '{candidate.example_id}' (candidate '{candidate.id}')"
            errors.append(RecordError(source, line, candidate.id, reason))
        else:
            bucket.append(candidate)
    groups: list[Group] = []
    without: list[Example] = []
    for example in example_list:
        found = by_example[example.id]
        if found:
            groups.append((example, found))
        else:
            without.append(example)
    return Grouping(groups, errors, without)


__all__ = ["Group", "Grouping", "group_candidates", "read_candidates", "read_examples"]
