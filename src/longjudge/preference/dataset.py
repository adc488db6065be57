"""Preference pairs as a TRL conversational preference dataset, on disk and back.

One row per pair::

    prompt    [{"role": "user", "content": <context + query>}]   (a system turn first, if set)
    chosen    [{"role": "assistant", "content": <chosen response>}]
    rejected  [{"role": "assistant", "content": <rejected response>}]
    example_id, chosen_id, rejected_id, chosen_score, rejected_score, margin, strategy,
    score_field, context_start, context_end

``context_start`` / ``context_end`` are the character offsets of the example's context inside
the content of the last prompt message (the user turn), so that training can shorten the
context, and only the context, of a pair too long for its ``max_length`` while the file keeps
the full texts. They are null when the template holds ``{context}`` more than once; files
written before they existed simply lack them (see :func:`context_bounds`).

``DPOTrainer`` takes it unchanged (it keeps ``prompt``/``chosen``/``rejected`` and drops the
metadata columns after tokenising). Written as ``.jsonl``, ``.parquet`` (messages stay nested
Arrow lists, not JSON text) or, for a path without a suffix, ``datasets.save_to_disk``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError, MissingDependencyError
from ..types import Example, PreferencePair
from .sampling import _PLACEHOLDER, PromptConfig, render_prompt

SUFFIXES = (".jsonl", ".parquet")


def _schema() -> Any:
    import pyarrow as pa

    message = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    return pa.schema(
        [
            ("prompt", message),
            ("chosen", message),
            ("rejected", message),
            ("example_id", pa.string()),
            ("chosen_id", pa.string()),
            ("rejected_id", pa.string()),
            ("chosen_score", pa.float64()),
            ("rejected_score", pa.float64()),
            ("margin", pa.float64()),
            ("strategy", pa.string()),
            ("score_field", pa.string()),
            ("context_start", pa.int64()),
            ("context_end", pa.int64()),
        ]
    )


def context_span(template: str, context: str, query: str) -> tuple[int, int] | None:
    """Where ``context`` lands in the user turn rendered from ``template`` (one pass, as
    :func:`render_prompt` does), or None when the template places it more than once."""
    matches = list(_PLACEHOLDER.finditer(template))
    if sum(m.group(0) == "{context}" for m in matches) != 1:
        return None
    position, last = 0, 0
    for match in matches:
        position += match.start() - last
        if match.group(0) == "{context}":
            return position, position + len(context)
        position += len(query)
        last = match.end()
    return None  # unreachable: one {context} was counted above


def context_bounds(row: Mapping[str, Any]) -> tuple[int, int] | None:
    """The context's offsets in the user turn of a pairs row, or None if unknown.

    Rows written by :func:`trl_rows` carry them. For rows without them (older files, other
    TRL datasets) the user turn is read as the default template lays it out: the context is
    everything before its last blank line, the query what follows. A user turn without a
    blank line has no context that can be told apart (None).
    """
    content = str(row["prompt"][-1]["content"])
    start, end = row.get("context_start"), row.get("context_end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(content):
        return start, end
    if "context_start" in row and row.get("context_start") is None and "context_end" in row:
        return None  # written by trl_rows with an ambiguous template
    cut = content.rfind("\n\n")
    return (0, cut) if cut > 0 else None


def trl_rows(
    pairs: Iterable[PreferencePair],
    examples: Mapping[str, Example],
    prompt: PromptConfig | None = None,
) -> list[dict[str, Any]]:
    """One conversational preference row per pair (the prompt rendered as for sampling)."""
    prompt = prompt or PromptConfig()
    rows = []
    for pair in pairs:
        example = examples[pair.example_id]
        span = context_span(prompt.prompt_template, example.context, example.query)
        rows.append(
            {
                "prompt": render_prompt(example, prompt),
                "chosen": [{"role": "assistant", "content": pair.chosen}],
                "rejected": [{"role": "assistant", "content": pair.rejected}],
                "example_id": pair.example_id,
                "chosen_id": pair.chosen_id,
                "rejected_id": pair.rejected_id,
                "chosen_score": pair.chosen_score,
                "rejected_score": pair.rejected_score,
                "margin": pair.margin,
                "strategy": pair.strategy,
                "score_field": str(pair.meta.get("score_field", "total")),
                "context_start": span[0] if span else None,
                "context_end": span[1] if span else None,
            }
        )
    return rows


def _atomic_bytes(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_pairs(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write preference rows as JSONL, Parquet or a ``save_to_disk`` directory."""
    path = Path(path)
    if path.suffix == ".jsonl":
        lines = b"".join(
            (json.dumps(dict(row), ensure_ascii=False) + "\n").encode("utf-8") for row in rows
        )
        _atomic_bytes(path, lambda handle: handle.write(lines))
        return path
    if path.suffix and path.suffix not in SUFFIXES:
        raise ConfigError(
            f"cannot write pairs to {path}: use .jsonl, .parquet or a directory (no suffix)"
        )
    import pyarrow as pa

    table = pa.Table.from_pylist([dict(r) for r in rows], schema=_schema())
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        _atomic_bytes(path, lambda handle: pq.write_table(table, handle))
        return path
    datasets = _datasets("Writing pairs as a dataset directory")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"cannot write a dataset directory at {path}: a file is there")
    features = datasets.Features.from_arrow_schema(table.schema)
    datasets.Dataset.from_list(table.to_pylist(), features=features).save_to_disk(str(path))
    return path


def load_pairs(path: str | Path) -> Any:
    """A ``datasets.Dataset`` from a file or directory written by :func:`write_pairs`
    (or any TRL preference dataset in those layouts)."""
    path = Path(path)
    datasets = _datasets("Loading preference pairs")
    if not path.exists():
        raise InputError(f"pairs not found: {path}")
    if path.is_dir():
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if "train" not in loaded:
                raise InputError(f"{path} holds splits {list(loaded)} but no 'train'")
            loaded = loaded["train"]
        return loaded
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        features = datasets.Features.from_arrow_schema(table.schema)
        return datasets.Dataset.from_list(table.to_pylist(), features=features)
    if path.suffix == ".jsonl":
        rows = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise InputError(f"{path}:{number}: not JSON: {exc}") from exc
        return datasets.Dataset.from_list(rows)
    raise InputError(f"cannot read pairs from {path}: use .jsonl, .parquet or a directory")


def _datasets(feature: str) -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependencyError("datasets", "hf", feature) from exc
    return datasets


__all__ = ["context_bounds", "context_span", "load_pairs", "trl_rows", "write_pairs"]
