"""Fingerprints: what produced a reward, and whether a stored reward may be reused.

Every reward written by a run carries a :class:`~longjudge.types.Fingerprint`: short sha256
digests of the example (context, query, reference), of the candidate's text, of the scorer's
settings that change its output, of the judge's identity (backend, model, endpoint or model
file, sampling) and of the prompt templates with their output schemas. The last three are the
run's :class:`Setup`, the same for every candidate of one invocation.

Resume (:func:`plan_resume`) reuses a stored reward only when its whole fingerprint equals the
one the candidate would get now (and, with ``retry_unscored``, only when it is scored);
everything else is scored again, and the reason is counted: "candidate text changed",
"judge changed" ... A run directory holds the results of one setup only: :func:`foreign_setups`
finds the stored rewards made under another one, which the job refuses to mix with.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..canon import canonical
from ..types import Candidate, Example, Fingerprint, Reward
from .stored import Digests, Entry, StoredIndex

#: Hex digits kept of each sha256 digest (64 bits: collisions are not a practical concern).
DIGEST_CHARS = 16

#: Why a stored reward is not reused, by the part of the fingerprint that differs.
CHANGE_REASONS: dict[str, str] = {
    "example": "example changed",
    "candidate": "candidate text changed",
    "config": "scoring config changed",
    "judge": "judge changed",
    "prompts": "prompts changed",
}
NO_FINGERPRINT = "no fingerprint (written by an older version)"
WAS_UNSCORED = "unscored before"


def digest(value: Any) -> str:
    """A short sha256 of ``value`` as canonical JSON (sorted keys, no whitespace)."""
    return hashlib.sha256(canonical(value)).hexdigest()[:DIGEST_CHARS]


#: The digests of the last few examples' texts, by the identity of the (immutable) strings:
#: every candidate of a prompt is stamped with its example's digest, and hashing a 128k-token
#: context once per candidate cost about as much as the rest of the stamp. An example whose
#: texts were replaced has other string objects, so it is hashed again.
_RECENT_EXAMPLES: deque[tuple[str, str, str | None, str]] = deque(maxlen=8)


def example_digest(example: Example) -> str:
    context, query, reference = example.context, example.query, example.reference
    for seen_context, seen_query, seen_reference, known in list(_RECENT_EXAMPLES):
        if seen_context is context and seen_query is query and seen_reference is reference:
            return known
    value = digest({"context": context, "query": query, "ref": reference})
    _RECENT_EXAMPLES.append((context, query, reference, value))
    return value


def text_digest(text: str) -> str:
    return digest({"text": text})


@dataclass(frozen=True)
class Setup:
    """The per-run half of a fingerprint: scorer settings, judge identity, prompts."""

    config: str
    judge: str
    prompts: str

    @classmethod
    def of(cls, settings: dict[str, Any], judge: dict[str, Any], prompts: dict[str, str]) -> Setup:
        return cls(digest(settings), digest(judge), digest(prompts))

    def fingerprint(self, example: Example, candidate: Candidate) -> Fingerprint:
        return Fingerprint(
            example=example_digest(example),
            candidate=text_digest(candidate.text),
            config=self.config,
            judge=self.judge,
            prompts=self.prompts,
        )

    def digests(self, example_digest: str, candidate_digest: str) -> Digests:
        """The fingerprint a candidate gets now, from its example's and its text's digests
        (what a streamed input keeps instead of the texts)."""
        return Digests(example_digest, candidate_digest, self.config, self.judge, self.prompts)

    def to_dict(self) -> dict[str, str]:
        return {"config": self.config, "judge": self.judge, "prompts": self.prompts}


#: A fingerprint in either form: the record's, or the compact index's digests.
AnyFingerprint = Fingerprint | Digests


def _index(stored: Iterable[Reward] | StoredIndex) -> StoredIndex:
    return stored if isinstance(stored, StoredIndex) else StoredIndex.of(stored)


def changes(stored: AnyFingerprint | None, current: AnyFingerprint) -> list[str]:
    """The reasons ``stored`` differs from ``current`` (empty: the same)."""
    if stored is None:
        return [NO_FINGERPRINT]
    return [
        reason
        for part, reason in CHANGE_REASONS.items()
        if getattr(stored, part) != getattr(current, part)
    ]


def setup_changes(stored: AnyFingerprint | None, setup: Setup) -> list[str]:
    """The setup parts (config, judge, prompts) in which ``stored`` differs from ``setup``."""
    if stored is None:
        return [NO_FINGERPRINT]
    return [
        CHANGE_REASONS[part]
        for part in ("config", "judge", "prompts")
        if getattr(stored, part) != getattr(setup, part)
    ]


def foreign_setups(rewards: Iterable[Reward] | StoredIndex, setup: Setup) -> Counter[str]:
    """Rewards made under another setup than ``setup``, counted by what differs (of a
    :class:`StoredIndex`: each candidate's latest reward)."""
    found: Counter[str] = Counter()
    fingerprints = (
        (e.fingerprint for e in rewards.entries())
        if isinstance(rewards, StoredIndex)
        else (r.fingerprint for r in rewards)
    )
    for fingerprint in fingerprints:
        for reason in setup_changes(fingerprint, setup):
            found[reason] += 1
    return found


@dataclass
class ResumePlan:
    """Which candidates to score, which stored rewards to reuse, and why others are redone."""

    todo: list[tuple[Example, Sequence[Candidate]]] = field(default_factory=list)
    reused: int = 0
    reused_unscored: int = 0
    rescored: Counter[str] = field(default_factory=Counter)
    rescored_candidates: int = 0

    @property
    def to_score(self) -> int:
        return sum(len(cands) for _, cands in self.todo)

    def decide(self, stored: Entry | None, current: AnyFingerprint, retry_unscored: bool) -> bool:
        """Whether to score a candidate whose latest stored reward is ``stored`` (None: it
        has none) and whose fingerprint is ``current`` now; counts the decision."""
        if stored is None:
            return True
        reasons = changes(stored.fingerprint, current)
        if not reasons and retry_unscored and not stored.scored:
            reasons = [WAS_UNSCORED]
        if reasons:
            self.rescored_candidates += 1
            self.rescored.update(reasons)
            return True
        self.reused += 1
        self.reused_unscored += not stored.scored
        return False


def plan_resume(
    stored: Iterable[Reward] | StoredIndex,
    groups: Sequence[tuple[Example, Sequence[Candidate]]],
    setup: Setup,
    retry_unscored: bool = False,
) -> ResumePlan:
    """Split ``groups`` into candidates to score and stored rewards to reuse.

    A stored reward is reused only when its fingerprint is the candidate's current one and,
    with ``retry_unscored``, it is scored. A candidate with no stored reward is simply new; a
    candidate whose stored reward is not reused counts once per reason in ``rescored``
    (:meth:`ResumePlan.decide`, which the streamed local engine calls per candidate too).
    """
    latest = _index(stored)
    plan = ResumePlan()
    for example, candidates in groups:
        left = [
            candidate
            for candidate in candidates
            if plan.decide(
                latest.get((example.id, candidate.id)),
                setup.fingerprint(example, candidate),
                retry_unscored,
            )
        ]
        if left:
            plan.todo.append((example, left))
    return plan


@dataclass
class RunState:
    """Where a run directory stands for one input, after a job.

    ``scored``/``unscored``: input candidates whose latest reward has the current fingerprint;
    ``stale``: those whose latest reward does not (a rescore that did not finish); ``missing``:
    those with no reward at all; ``others``/``others_unscored``: rewards of candidates that are
    not in this input.
    """

    candidates: int = 0
    scored: int = 0
    unscored: int = 0
    stale: int = 0
    missing: int = 0
    others: int = 0
    others_unscored: int = 0

    @property
    def complete(self) -> bool:
        """Every candidate in the directory and in the input is scored, under this setup."""
        return not (self.unscored or self.stale or self.missing or self.others_unscored)

    def count(self, stored: Entry | None, current: AnyFingerprint) -> None:
        """Count one input candidate by its latest stored reward (None: it has none)."""
        self.candidates += 1
        if stored is None:
            self.missing += 1
        elif changes(stored.fingerprint, current):
            self.stale += 1
        elif stored.scored:
            self.scored += 1
        else:
            self.unscored += 1

    def count_others(self, rest: StoredIndex) -> None:
        """Count the stored rewards left in ``rest`` (candidates not in the input)."""
        self.others = len(rest)
        self.others_unscored = sum(not e.scored for e in rest.entries())

    def to_dict(self) -> dict[str, int | bool]:
        return {
            "candidates": self.candidates,
            "scored": self.scored,
            "unscored": self.unscored,
            "stale": self.stale,
            "missing": self.missing,
            "others": self.others,
            "others_unscored": self.others_unscored,
            "complete": self.complete,
        }


def run_state(
    stored: Iterable[Reward] | StoredIndex,
    groups: Sequence[tuple[Example, Sequence[Candidate]]],
    setup: Setup,
) -> RunState:
    """Count the input's candidates by the state of their latest stored reward (a
    :class:`StoredIndex` passed in is consumed: its input candidates are taken out)."""
    latest = _index(stored)
    state = RunState()
    for example, candidates in groups:
        for candidate in candidates:
            key = (example.id, candidate.id)
            state.count(latest.pop(key), setup.fingerprint(example, candidate))
    state.count_others(latest)
    return state


def describe_counts(counts: dict[str, int]) -> str:
    """``{"judge changed": 3, ...}`` as ``"judge changed 3, ..."`` (largest first)."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{reason} {count}" for reason, count in items)


__all__ = [
    "CHANGE_REASONS",
    "DIGEST_CHARS",
    "NO_FINGERPRINT",
    "WAS_UNSCORED",
    "AnyFingerprint",
    "ResumePlan",
    "RunState",
    "Setup",
    "changes",
    "describe_counts",
    "digest",
    "example_digest",
    "foreign_setups",
    "plan_resume",
    "run_state",
    "setup_changes",
    "text_digest",
]
