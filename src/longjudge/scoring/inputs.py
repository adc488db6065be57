"""A job's input as a stream: prompts read when they are scored, not all at the start.

The ``local`` engine reads its inputs in two passes, so that memory holds the prompts in
flight rather than the job:

1. :func:`scan_input` reads both files once, record by record, with the readers' own loop
   (:func:`~longjudge.io.readers.scan_records`: every bad record, duplicate and orphan is
   reported exactly as :func:`~longjudge.scoring.job.load_groups` reports it, in the same
   order). Of each good record it keeps only where it is (line, and byte offset for plain
   JSONL), its id and the digest its fingerprint needs (the example's context, query and
   reference; the candidate's text): a :class:`PromptRef` per example with candidates, in
   example order, its :class:`CandidateRef` s in file order (as columns,
   :class:`CandidateRefs`).
2. :func:`plan_input` decides from those digests and the run directory's compact index
   (:meth:`~longjudge.runtime.rundir.RunDir.stored`) which candidates to score, with the same
   decisions and counts as :func:`~longjudge.scoring.runner.plan_run`; :func:`iter_groups`
   then reads each prompt's example and candidates again when the runner admits the prompt
   (:class:`~longjudge.io.stream.Reread`: by offset for plain JSONL, in file order otherwise),
   and the runner drops them once the prompt's rewards are written.

At the end :func:`input_state` counts the directory's state for this input from the same refs.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, overload

from ..config import ScoreConfig, build_config
from ..io import CandidateFields, ExampleFields, RecordError
from ..io.fields import to_candidate, to_example
from ..io.readers import scan_records
from ..io.stream import Reread
from ..runtime.fingerprint import (
    DIGEST_CHARS,
    ResumePlan,
    RunState,
    Setup,
    example_digest,
    text_digest,
)
from ..runtime.rundir import RunDir
from ..runtime.stored import StoredIndex
from ..types import Candidate, Example
from .runner import Group, RunResult


class CandidateRef(NamedTuple):
    """Where one good candidate is, and its text's digest."""

    id: str
    line: int
    offset: int | None
    digest: str


class CandidateRefs(Sequence[CandidateRef]):
    """One prompt's :class:`CandidateRef` s, kept as columns: the ids in a list, lines and
    offsets in arrays, the fixed-width digests in one byte string. A job keeps these for
    every candidate from its first pass to its end; as columns they take about 100 bytes a
    candidate instead of 360 as tuples (2 MB rather than 7 at 20,000 candidates)."""

    __slots__ = ("_digests", "_ids", "_lines", "_offsets")

    def __init__(self, refs: Iterable[CandidateRef] = ()) -> None:
        self._ids: list[str] = []
        self._lines = array("q")
        self._offsets = array("q")  # -1: no offset (not plain JSONL)
        self._digests = bytearray()
        for ref in refs:
            self.append(ref)

    def append(self, ref: CandidateRef) -> None:
        digest = ref.digest.encode("ascii")
        if len(digest) != DIGEST_CHARS:
            raise ValueError(f"a digest of {DIGEST_CHARS} characters was expected: {ref.digest!r}")
        self._ids.append(ref.id)
        self._lines.append(ref.line)
        self._offsets.append(-1 if ref.offset is None else ref.offset)
        self._digests += digest

    def _ref(self, i: int) -> CandidateRef:
        offset = self._offsets[i]
        digest = self._digests[i * DIGEST_CHARS : (i + 1) * DIGEST_CHARS].decode("ascii")
        return CandidateRef(self._ids[i], self._lines[i], None if offset < 0 else offset, digest)

    def subset(self, keep: Iterable[int]) -> CandidateRefs:
        """The refs at positions ``keep``, in that order."""
        return CandidateRefs(self._ref(i) for i in keep)

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, i: int) -> CandidateRef: ...

    @overload
    def __getitem__(self, i: slice) -> list[CandidateRef]: ...

    def __getitem__(self, i: int | slice) -> CandidateRef | list[CandidateRef]:
        if isinstance(i, slice):
            return [self._ref(j) for j in range(*i.indices(len(self)))]
        return self._ref(range(len(self))[i])

    def __iter__(self) -> Iterator[CandidateRef]:
        return (self._ref(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CandidateRefs):
            return NotImplemented
        return list(self) == list(other)

    def __repr__(self) -> str:
        return f"CandidateRefs({list(self)!r})"


@dataclass
class PromptRef:
    """Where one example with candidates is, its digest, and its candidates."""

    id: str
    line: int
    offset: int | None
    digest: str
    candidates: CandidateRefs = field(default_factory=CandidateRefs)


@dataclass
class StreamedInput:
    """The first pass over a job's inputs: the prompts by position, and every bad record."""

    job_config: ScoreConfig
    examples_path: str
    responses_path: str
    prompts: list[PromptRef]
    errors: list[dict[str, Any]]

    @property
    def candidates(self) -> int:
        return sum(len(p.candidates) for p in self.prompts)


def _fields(config: ScoreConfig) -> tuple[ExampleFields, CandidateFields]:
    return (
        build_config(ExampleFields, config.example_fields),
        build_config(CandidateFields, config.candidate_fields),
    )


def scan_input(input: str | Path, responses: str | Path, config: ScoreConfig) -> StreamedInput:
    """Pass 1 over the examples (``input``) and candidates (``responses``) files."""
    limits = config.limits
    example_fields, candidate_fields = _fields(config)
    example_errors: list[RecordError] = []
    candidate_errors: list[RecordError] = []
    orphans: list[RecordError] = []
    by_id: dict[str, PromptRef] = {}
    for example, line, offset in scan_records(
        input,
        lambda row: to_example(row, example_fields, limits),
        lambda e: e.id,
        lambda e: f"id '{e.id}'",
        example_errors,
    ):
        assert line is not None  # a good record always has its line
        by_id[example.id] = PromptRef(example.id, line, offset, example_digest(example))
    source = str(responses)
    for candidate, line, offset in scan_records(
        responses,
        lambda row: to_candidate(row, candidate_fields, limits),
        lambda c: (c.example_id, c.id),
        lambda c: f"id '{c.id}' for example '{c.example_id}'",
        candidate_errors,
    ):
        assert line is not None
        prompt = by_id.get(candidate.example_id)
        if prompt is None:
            reason = f"no example with id '{candidate.example_id}' (candidate '{candidate.id}')"
            orphans.append(RecordError(source, line, candidate.id, reason))
            continue
        prompt.candidates.append(
            CandidateRef(candidate.id, line, offset, text_digest(candidate.text))
        )
    errors = [
        {"kind": "input", **e.to_dict()} for e in [*example_errors, *candidate_errors, *orphans]
    ]
    prompts = [p for p in by_id.values() if p.candidates]
    return StreamedInput(config, str(input), source, prompts, errors)


def plan_input(
    setup: Setup, inputs: StreamedInput, rundir: RunDir | None, retry_unscored: bool
) -> tuple[list[PromptRef], RunResult]:
    """What is left to score of ``inputs`` and a result counting what resume decided: the
    decisions of :func:`~longjudge.scoring.runner.plan_run`, from digests and the
    directory's compact index. A directory with another setup's results is refused."""
    stored = StoredIndex()
    if rundir is not None:
        stored = rundir.stored()
        rundir.check_setup(setup, stored)
    plan = ResumePlan()
    todo: list[PromptRef] = []
    for prompt in inputs.prompts:
        left = [
            i
            for i, c in enumerate(prompt.candidates)
            if plan.decide(
                stored.get((prompt.id, c.id)),
                setup.digests(prompt.digest, c.digest),
                retry_unscored,
            )
        ]
        if len(left) == len(prompt.candidates):
            todo.append(prompt)
        elif left:
            todo.append(replace(prompt, candidates=prompt.candidates.subset(left)))
    result = RunResult()
    result.take_plan(plan)
    return todo, result


def iter_groups(inputs: StreamedInput, todo: list[PromptRef]) -> Iterator[Group]:
    """Each prompt of ``todo`` read again as ``(example, candidates)``, one at a time, when
    the consumer asks for it (the runner: when it admits the prompt)."""
    limits = inputs.job_config.limits
    example_fields, candidate_fields = _fields(inputs.job_config)
    examples: Reread[Example] = Reread(
        inputs.examples_path,
        lambda row: to_example(row, example_fields, limits),
        (p.line for p in todo),
        located=all(p.offset is not None for p in todo),
    )
    candidates: Reread[Candidate] = Reread(
        inputs.responses_path,
        lambda row: to_candidate(row, candidate_fields, limits),
        (c.line for p in todo for c in p.candidates),
        located=all(c.offset is not None for p in todo for c in p.candidates),
    )
    with examples, candidates:
        for prompt in todo:
            (example,) = examples.take([(prompt.line, prompt.offset)])
            yield example, candidates.take((c.line, c.offset) for c in prompt.candidates)


def input_state(stored: StoredIndex, inputs: StreamedInput, setup: Setup) -> RunState:
    """:func:`~longjudge.runtime.fingerprint.run_state` for a streamed input (``stored`` is
    consumed)."""
    state = RunState()
    for prompt in inputs.prompts:
        for c in prompt.candidates:
            state.count(stored.pop((prompt.id, c.id)), setup.digests(prompt.digest, c.digest))
    state.count_others(stored)
    return state


__all__ = [
    "CandidateRef",
    "CandidateRefs",
    "PromptRef",
    "StreamedInput",
    "input_state",
    "iter_groups",
    "plan_input",
    "scan_input",
]
