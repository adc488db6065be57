"""FaithBench (Vectara, 2024) as human preferences, examples and candidates.

FaithBench is CC BY-NC-SA 4.0: it is read from where the user keeps it, never shipped here.
The converter reads ``data_for_release/batch_*.json``; each sample is one summary of one source
passage, with the spans that human annotators marked as hallucinated.

**The rule.** A summary's severity is the most severe label on any of its annotations, on
FaithBench's own scale::

    0 Consistent    no annotation at all
    1 Benign        a hallucination that does no harm
    2 Questionable  annotators were unsure
    3 Unwanted      ("Unwanted", "Unwanted.Intrinsic", "Unwanted.Extrinsic")

An annotation with several labels counts with its most severe one; an annotation with no label is
ignored. Its human score is ``3 - severity`` (3 = consistent ... 0 = unwanted), so of two
summaries of the same source the one with the less severe worst hallucination is preferred, and
two summaries with the same worst label are a human tie. This severity agrees with the
``worst-label`` column of ``FaithBench.csv`` on 746 of the 750 released summaries.

Each source is one :class:`~longjudge.types.Example` (context = the source, query = a fixed
summarisation instruction) and its summaries are the candidates, so that a run can score them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..types import Candidate, Example
from .human import HumanScores, pairs_of, write_human

#: The instruction every FaithBench example gets as its query.
SUMMARY_INSTRUCTION = (
    "Write a short summary of the passage above, in a few sentences, using only what the "
    "passage says."
)

SEVERITY: dict[str, int] = {"Consistent": 0, "Benign": 1, "Questionable": 2, "Unwanted": 3}
LABEL_OF: dict[int, str] = {v: k for k, v in SEVERITY.items()}

_BATCH = re.compile(r"batch_(\d+)\.json$")


def label_severity(labels: Sequence[str]) -> int | None:
    """The severity of one annotation's labels (most severe wins); None for no label.

    A label is ``Kind`` or ``Kind.Subkind``; an unknown kind raises ValueError.
    """
    found = []
    for label in labels:
        kind = label.split(".", 1)[0]
        if kind not in SEVERITY:
            raise ValueError(f"unknown FaithBench label {label!r}")
        found.append(SEVERITY[kind])
    return max(found) if found else None


@dataclass(frozen=True)
class FaithBenchSummary:
    """One released summary with its derived severity."""

    batch: int
    sample_id: int
    source: str
    summary: str
    summarizer: str
    severity: int
    annotations: int
    annotators: int

    @property
    def label(self) -> str:
        return LABEL_OF[self.severity]


def _summary(batch: int, sample: dict[str, Any]) -> FaithBenchSummary:
    severities = [label_severity(a.get("label") or []) for a in sample.get("annotations", [])]
    marked = [s for s in severities if s is not None]
    annotations = sample.get("annotations", [])
    return FaithBenchSummary(
        batch=batch,
        sample_id=int(sample["sample_id"]),
        source=str(sample["source"]),
        summary=str(sample["summary"]),
        summarizer=str(sample.get("metadata", {}).get("summarizer", "unknown")),
        severity=max(marked, default=0),
        annotations=len(marked),
        annotators=len({a.get("annotator_id") for a in annotations}),
    )


def read_faithbench(root: str | Path) -> list[FaithBenchSummary]:
    """Every summary of ``root/data_for_release/batch_*.json``, batches in numeric order."""
    folder = Path(root) / "data_for_release"
    files = sorted(
        (int(m.group(1)), p) for p in folder.glob("batch_*.json") if (m := _BATCH.search(p.name))
    )
    if not files:
        raise InputError(f"no FaithBench batch_*.json files under {folder}")
    out = []
    for batch, path in files:
        try:
            samples = json.loads(path.read_text(encoding="utf-8"))["samples"]
            out += [_summary(batch, s) for s in samples]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"cannot read FaithBench file {path}: {exc}") from exc
    return out


@dataclass
class FaithBenchSet:
    """FaithBench as longjudge records: one example per source, its summaries as candidates,
    and one human-scores record per source."""

    examples: list[Example]
    candidates: list[Candidate]
    human: list[HumanScores]

    def pair_counts(self) -> tuple[int, int]:
        """(human pairs, of which ties) that the human records give."""
        pairs = [p for record in self.human for p in pairs_of(record)]
        return len(pairs), sum(1 for p in pairs if p.winner == "tie")


def convert_faithbench(
    summaries: Sequence[FaithBenchSummary], instruction: str = SUMMARY_INSTRUCTION
) -> FaithBenchSet:
    """Group summaries by (batch, source); ids are ``fb-b<batch>-<k>`` (k-th source of the
    batch) and ``<example id>-s<sample id>``."""
    groups: dict[tuple[int, str], list[FaithBenchSummary]] = {}
    for s in summaries:
        groups.setdefault((s.batch, s.source), []).append(s)
    out = FaithBenchSet([], [], [])
    per_batch: dict[int, int] = {}
    for (batch, source), members in groups.items():
        k = per_batch.get(batch, 0)
        per_batch[batch] = k + 1
        example_id = f"fb-b{batch:02d}-{k}"
        meta = {"dataset": "FaithBench", "licence": "CC BY-NC-SA 4.0", "batch": batch}
        out.examples.append(Example(id=example_id, context=source, query=instruction, meta=meta))
        scores: dict[str, float] = {}
        labels: dict[str, str] = {}
        for s in members:
            cid = f"{example_id}-s{s.sample_id:02d}"
            out.candidates.append(
                Candidate(
                    id=cid,
                    example_id=example_id,
                    text=s.summary,
                    meta={"summarizer": s.summarizer, "human_label": s.label},
                )
            )
            scores[cid] = float(SEVERITY["Unwanted"] - s.severity)
            labels[cid] = s.label
        if len(scores) >= 2:
            out.human.append(
                HumanScores(
                    example_id=example_id,
                    scores=scores,
                    meta={"rule": "3 - worst label severity", "labels": labels},
                )
            )
    return out


def write_faithbench(data: FaithBenchSet, out_dir: str | Path) -> dict[str, Path]:
    """Write ``examples.jsonl``, ``candidates.jsonl`` and ``human.jsonl`` into ``out_dir``."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.jsonl" for name in ("examples", "candidates", "human")}
    for name, records in (("examples", data.examples), ("candidates", data.candidates)):
        with paths[name].open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(record.model_dump_json() + "\n")
    write_human(paths["human"], data.human)
    return paths


__all__ = [
    "LABEL_OF",
    "SEVERITY",
    "SUMMARY_INSTRUCTION",
    "FaithBenchSet",
    "FaithBenchSummary",
    "convert_faithbench",
    "label_severity",
    "read_faithbench",
    "write_faithbench",
]
