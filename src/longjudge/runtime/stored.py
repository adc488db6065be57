"""A compact index of a run directory's stored rewards: what resume and the run's state need.

Resume and the directory's state (:mod:`longjudge.runtime.fingerprint`) need, per candidate,
only its latest reward's fingerprint and status (and, for an unscored one, its reason, which
errors.jsonl lists). :class:`StoredIndex` keeps exactly that, read line by line from
rewards.jsonl (:meth:`StoredIndex.read`), so a resume never holds the whole results file: a
few short strings per candidate, the digests shared by every candidate that has them (the
setup's three are the same for a whole run, the example's for all its candidates).

The semantics are the file's: the last line per candidate wins, and the candidates keep their
first-written order; a line that is not a valid reward (another version's) is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ..types import Fingerprint, Reward, Status, check_outcome

M = TypeVar("M", bound=BaseModel)


class Digests(NamedTuple):
    """A fingerprint's five digests (the attribute names of :class:`Fingerprint`)."""

    example: str
    candidate: str
    config: str
    judge: str
    prompts: str


class Entry(NamedTuple):
    """One candidate's latest stored reward, compactly."""

    fingerprint: Digests | None
    scored: bool
    #: why it is unscored (None when scored)
    reason: str | None


Key = tuple[str, str]


def read_rewards(path: Path) -> Iterator[Reward]:
    """Every valid reward line of a rewards.jsonl file, in order, one at a time (a line from
    an incompatible version is skipped: ``RunDir.finished`` reports those)."""
    return _valid_lines(path, Reward)


def _valid_lines(path: Path, model: type[M]) -> Iterator[M]:
    """Each non-blank line of ``path`` read as ``model``; a line it rejects is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                yield model.model_validate_json(line)
            except ValidationError:
                continue


class StoredLine(BaseModel):
    """The part of a rewards.jsonl line the index keeps, checked as :class:`Reward` checks it.
    The rest of the line (dimensions, statements, meta) is parsed but never built: reading an
    index this way is about seven times faster than reading whole rewards."""

    model_config = ConfigDict(extra="ignore")

    example_id: str
    candidate_id: str
    method: str
    status: Status
    total: float | None = None
    reason: str | None = None
    fingerprint: Fingerprint | None = None

    @model_validator(mode="after")
    def _consistent(self) -> StoredLine:
        check_outcome(self.status, self.total, self.reason)
        return self


def read_lines(path: Path) -> Iterator[StoredLine]:
    """What the index needs of every valid reward line, in order (like :func:`read_rewards`)."""
    return _valid_lines(path, StoredLine)


class StoredIndex:
    """Per candidate ``(example id, candidate id)``: its latest stored reward's :class:`Entry`."""

    def __init__(self) -> None:
        self._latest: dict[Key, Entry] = {}
        self._strings: dict[str, str] = {}

    @classmethod
    def of(cls, rewards: Iterable[Reward]) -> StoredIndex:
        index = cls()
        for reward in rewards:
            index.add(reward)
        return index

    @classmethod
    def read(cls, path: Path) -> StoredIndex:
        """The index of a rewards.jsonl file, read one line at a time."""
        index = cls()
        for line in read_lines(path):
            index.add(line)
        return index

    def _shared(self, text: str) -> str:
        return self._strings.setdefault(text, text)

    def add(self, reward: Reward | StoredLine) -> None:
        """Record ``reward`` as its candidate's latest."""
        fp = reward.fingerprint
        digests = None
        if fp is not None:
            shared = self._shared
            digests = Digests(
                shared(fp.example), fp.candidate, shared(fp.config), shared(fp.judge),
                shared(fp.prompts),
            )
        key = (self._shared(reward.example_id), reward.candidate_id)
        scored = reward.status == "scored"
        entry = Entry(digests, scored, None if scored else reward.reason)
        self._latest[key] = entry  # an existing key keeps its first-written place

    def get(self, key: Key) -> Entry | None:
        return self._latest.get(key)

    def pop(self, key: Key) -> Entry | None:
        return self._latest.pop(key, None)

    def __len__(self) -> int:
        return len(self._latest)

    def items(self) -> Iterator[tuple[Key, Entry]]:
        return iter(self._latest.items())

    def entries(self) -> Iterator[Entry]:
        return iter(self._latest.values())


__all__ = ["Digests", "Entry", "Key", "StoredIndex", "StoredLine", "read_lines", "read_rewards"]
