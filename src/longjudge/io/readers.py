"""Read examples and candidates record by record, and group candidates under their examples.

Every bad record becomes a :class:`RecordError` (source, line, id, reason) and the good records
go on; only a file that cannot be opened at all raises :class:`~longjudge.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from typing_extensions import Self

from ..config import RecordLimits
from ..types import Candidate, Example
from .fields import BadRecord, CandidateFields, ExampleFields, to_candidate, to_example
from .records import ReadResult, RecordError
from .sources import Raw, iter_raw_located, type_name_json, unit_of

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
    result: ReadResult[R] = ReadResult(source=str(path))
    for record, line, _ in scan_records(path, convert, key, describe, result.errors):
        result.records.append(record)
        result.lines.append(line)
    return result


def scan_records(
    path: str | Path,
    convert: Callable[[dict[str, Any]], R],
    key: Callable[[R], Hashable],
    describe: Callable[[R], str],
    errors: list[RecordError],
) -> Iterator[tuple[R, int | None, int | None]]:
    """Every good record of ``path`` with its line (or row) and its byte offset (plain JSONL
    only, else None), one at a time; each bad record is appended to ``errors`` instead.

    The one reading loop of :func:`read_examples`, :func:`read_candidates` and the streamed
    scoring input: a record is bad for the same reasons, with the same message, in all of
    them. The file is opened before the first record is asked for (an unreadable file raises
    :class:`~longjudge.errors.InputError` at the call).
    """
    source = str(path)
    fmt, rows = iter_raw_located(path)
    return _scan(source, unit_of(fmt), rows, convert, key, describe, errors)


def _scan(
    source: str,
    unit: str,
    rows: Iterator[tuple[int | None, Raw]],
    convert: Callable[[dict[str, Any]], R],
    key: Callable[[R], Hashable],
    describe: Callable[[R], str],
    errors: list[RecordError],
) -> Iterator[tuple[R, int | None, int | None]]:
    first_seen: dict[Hashable, int | None] = {}

    def reject(line: int | None, record_id: str | None, reason: str) -> None:
        errors.append(RecordError(source, line, record_id, reason))

    for offset, raw in rows:
        if raw.error is not None:
            reject(raw.line, None, raw.error)
            continue
        try:
            record = convert_raw(raw, convert)
        except BadRecord as bad:
            reject(raw.line, bad.record_id, bad.reason)
            continue
        k = key(record)
        if k in first_seen:
            where = first_seen[k]
            seen = f"first seen at {unit} {where}" if where is not None else "seen before"
            reject(raw.line, getattr(record, "id", None), f"duplicate {describe(record)}: {seen}")
            continue
        first_seen[k] = raw.line
        yield record, raw.line, offset


def convert_raw(raw: Raw, convert: Callable[[dict[str, Any]], R]) -> R:
    """``convert`` of a decoded record; a record that is not a JSON object, or that fails a
    check, raises :class:`BadRecord` with the reason."""
    if not isinstance(raw.value, dict):
        raise BadRecord(f"not a JSON object: got {type_name_json(raw.value)}")
    try:
        return convert(raw.value)
    except ValidationError as exc:  # a check the mapping layer does not make itself
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadRecord(f"invalid record: {problems}") from exc


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


__all__ = [
    "Group",
    "Grouping",
    "convert_raw",
    "group_candidates",
    "read_candidates",
    "read_examples",
    "scan_records",
]
