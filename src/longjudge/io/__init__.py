"""Inputs and outputs: examples and candidates from JSONL, ``.json``, Parquet or Hugging Face
dataset directories, with a field mapping for other layouts and per-record validation.

A bad record never stops a read: it becomes a :class:`RecordError` (source, line, id, reason)
in ``ReadResult.errors`` and the good records go on. Only a file that cannot be opened at all
raises :class:`~longjudge.errors.InputError`. The layouts and every reason are described in
``docs/data-formats.md``.

::

    examples = read_examples("sft.jsonl")                      # ReadResult[Example]
    candidates = read_candidates("sampled_responses.jsonl")    # ReadResult[Candidate]
    groups, orphans = group_candidates(examples.records, candidates)

Other record kinds can reuse the layouts and the per-line error reporting through
:func:`iter_raw`, which yields each raw record (or the reason it is unreadable) with its line.
"""

from __future__ import annotations

from .fields import CandidateFields, ExampleFields
from .readers import Group, Grouping, group_candidates, read_candidates, read_examples
from .records import ReadResult, RecordError
from .sources import Raw, iter_raw
from .writers import read_records, write_records

__all__ = [
    "CandidateFields",
    "ExampleFields",
    "Group",
    "Grouping",
    "Raw",
    "ReadResult",
    "RecordError",
    "group_candidates",
    "iter_raw",
    "read_candidates",
    "read_examples",
    "read_records",
    "write_records",
]
