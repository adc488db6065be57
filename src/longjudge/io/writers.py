"""Write records (pydantic models or dicts) as JSONL, Parquet or a Hugging Face dataset, and
read any of them back as plain dicts.

Parquet and datasets are tables: a column whose values are objects or arrays, or whose values
do not share one Arrow type, is stored as JSON text and listed in the file's metadata
(``longjudge.json_columns``; for datasets, in ``info.description``), so that nested records such
as ``Reward`` read back exactly as written. A key missing from some rows reads back as null.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel

from ..errors import ConfigError, InputError, MissingDependencyError
from .sources import HF_MARKER, PARQUET_JSON_COLUMNS, SUPPORTED, detect_format, iter_raw

Record = BaseModel | Mapping[str, Any]


def _as_dict(record: Record) -> dict[str, Any]:
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json")
    return dict(record)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def write_records(path: str | Path, records: Iterable[Record]) -> Path:
    """Write ``records`` to ``path``; the format follows the suffix.

    ``.jsonl`` (``.jsonl.gz``), ``.json`` (a list), ``.parquet``, or a path without a suffix: a
    directory written with ``datasets.Dataset.save_to_disk``. Files are replaced atomically.
    """
    path = Path(path)
    rows = [_as_dict(r) for r in records]
    if not path.suffix:
        _write_hf(path, rows)
        return path
    try:
        fmt = detect_format(path)
    except InputError:
        raise ConfigError(f"cannot write {path}: unknown format; use {SUPPORTED}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = _table(rows)
        with _atomic(path) as out:
            pq.write_table(table, out)
    elif fmt == "json":
        with _atomic(path) as out:
            out.write(_dumps(rows).encode("utf-8"))
    else:
        with _atomic(path) as out:
            lines = (_dumps(row) + "\n" for row in rows)
            if fmt == "jsonl.gz":
                with gzip.GzipFile(fileobj=out, mode="wb") as zipped:
                    zipped.writelines(line.encode("utf-8") for line in lines)
            else:
                out.writelines(line.encode("utf-8") for line in lines)
    return path


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read back a file or directory in any supported layout as plain dicts.

    Raises :class:`InputError` at the first record that cannot be read (with its position):
    use :func:`read_examples` / :func:`read_candidates` to skip and report bad records instead.
    """
    _, rows = iter_raw(path)
    out: list[dict[str, Any]] = []
    for raw in rows:
        where = f"{path}:{raw.line}" if raw.line is not None else str(path)
        if raw.error is not None:
            raise InputError(f"cannot read {where}: {raw.error}")
        if not isinstance(raw.value, dict):
            raise InputError(f"cannot read {where}: not a JSON object")
        out.append(raw.value)
    return out


@contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside ``path`` that replaces it only when writing succeeded."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return {name: [row.get(name) for row in rows] for name in names}


def _table(rows: list[dict[str, Any]]) -> Any:
    """An Arrow table; nested or mixed-type columns become JSON text (listed in metadata)."""
    import pyarrow as pa

    arrays: dict[str, Any] = {}
    as_json: list[str] = []
    for name, values in _columns(rows).items():
        array = None
        if not any(isinstance(v, (dict, list)) for v in values):
            try:
                array = pa.array(values)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                array = None
        if array is None:
            array = pa.array([None if v is None else _dumps(v) for v in values], pa.string())
            as_json.append(name)
        arrays[name] = array
    table = pa.table(arrays) if arrays else pa.table({})
    return table.replace_schema_metadata({PARQUET_JSON_COLUMNS: json.dumps(as_json).encode()})


def _write_hf(path: Path, rows: list[dict[str, Any]]) -> None:
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependencyError(
            "datasets", "hf", "Writing a Hugging Face dataset directory"
        ) from exc
    if path.exists() and not path.is_dir():
        raise ConfigError(f"cannot write a dataset directory at {path}: a file is there")
    table = _table(rows)
    as_json = json.loads(table.schema.metadata[PARQUET_JSON_COLUMNS])
    info = datasets.DatasetInfo(description=json.dumps({HF_MARKER: {"json_columns": as_json}}))
    datasets.Dataset(table.replace_schema_metadata(None), info=info).save_to_disk(str(path))


__all__ = ["read_records", "write_records"]
