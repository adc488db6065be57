"""Raw rows out of every supported input layout, each with its 1-based line or row.

A bad line (invalid UTF-8, invalid JSON, a truncated tail) is yielded as a :class:`Raw` with a
reason, never raised: the readers turn it into a ``RecordError`` and go on. Only a file that
cannot be opened at all raises :class:`~longjudge.errors.InputError`.

Text files are UTF-8 (a UTF-8 byte-order mark is skipped). A JSONL or JSON file that starts with
a UTF-16 or UTF-32 byte-order mark is decoded with that encoding; one in UTF-16/32 without a
mark is named as such in its lines' errors (rather than "NUL byte").
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple, cast

from ..errors import InputError, MissingDependencyError

Format = Literal["jsonl", "jsonl.gz", "json", "parquet", "hf"]

#: Parquet schema metadata key listing the columns that hold JSON text (see writers.py).
PARQUET_JSON_COLUMNS = b"longjudge.json_columns"
#: Key inside a saved dataset's ``info.description`` (itself JSON) with the same list.
HF_MARKER = "longjudge"

_BOM = b"\xef\xbb\xbf"
#: Byte-order marks of the wide encodings, UTF-32 first (its LE mark starts like UTF-16's).
_WIDE_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
_SUFFIXES: tuple[tuple[str, Format], ...] = (
    (".jsonl.gz", "jsonl.gz"),
    (".ndjson.gz", "jsonl.gz"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "json"),
    (".parquet", "parquet"),
    (".pq", "parquet"),
)
SUPPORTED = ".jsonl, .jsonl.gz, .json (a list), .parquet, or a datasets.save_to_disk directory"


class Raw(NamedTuple):
    """One decoded record (``value``, any JSON value) or the reason it could not be decoded."""

    line: int | None
    value: Any
    error: str | None = None


_JSON_TYPES = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}


def type_name_json(value: Any) -> str:
    """The JSON name of a decoded value's type (``array``, ``object``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def detect_format(path: Path) -> Format:
    """The layout of ``path`` from its suffix, or ``hf`` for a directory."""
    if path.is_dir():
        return "hf"
    name = path.name.lower()
    for suffix, fmt in _SUFFIXES:
        if name.endswith(suffix):
            return fmt
    raise InputError(f"cannot read {path}: unknown format; use {SUPPORTED}")


def unit_of(fmt: Format) -> str:
    """How a position is named in messages: ``line`` for JSONL, ``row`` otherwise."""
    return "line" if fmt in ("jsonl", "jsonl.gz") else "row"


def iter_raw(path: str | Path) -> tuple[Format, Iterator[Raw]]:
    """The format of ``path`` and an iterator over its raw records.

    The file is opened here, so that an unreadable file raises :class:`InputError` before any
    record is yielded.
    """
    fmt, rows = iter_raw_located(path)
    return fmt, (raw for _, raw in rows)


def iter_raw_located(path: str | Path) -> tuple[Format, Iterator[tuple[int | None, Raw]]]:
    """:func:`iter_raw` with each record's byte offset in the file, for plain (UTF-8,
    uncompressed) JSONL, where :class:`LineReader` can read it again; None in other layouts."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"cannot open {path}: no such file or directory")
    fmt = detect_format(path)
    if fmt == "hf":
        return fmt, _unlocated(_hf_rows(path))
    if fmt == "parquet":
        return fmt, _unlocated(_parquet_rows(path))
    try:
        if fmt == "json":
            layout, records = _json_file(path)
            return layout, _unlocated(records)
        # Opened here so that an unreadable file raises now; _jsonl closes it.
        if fmt == "jsonl.gz":
            zipped = gzip.open(path, "rb")
            try:
                zipped.peek(1)  # not gzip at all: BadGzipFile (an OSError) now, not mid-read
            except OSError:
                zipped.close()
                raise
            handle = cast("IO[bytes]", zipped)
        else:
            handle = path.open("rb")
        wide = wide_encoding(cast("io.BufferedReader", handle).peek(4)[:4])
    except OSError as exc:
        raise InputError(f"cannot open {path}: {exc.strerror or exc}") from exc
    if wide is not None:
        return fmt, _unlocated(_jsonl_wide(handle, *wide))
    located = _jsonl(handle)
    return fmt, (located if fmt == "jsonl" else ((None, raw) for _, raw in located))


def _unlocated(rows: Iterator[Raw]) -> Iterator[tuple[int | None, Raw]]:
    return ((None, raw) for raw in rows)


class LineReader:
    """Reads single lines of a plain JSONL file again, by the byte offset
    :func:`iter_raw_located` gave; one open handle until :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._handle: IO[bytes] = self.path.open("rb")
        except OSError as exc:
            raise InputError(f"cannot open {path}: {exc.strerror or exc}") from exc

    def read(self, offset: int, line: int) -> Raw:
        """The record of ``line`` (its number, for messages), which starts at ``offset``."""
        self._handle.seek(offset)
        raw = self._handle.readline()
        if line == 1:
            raw = raw.removeprefix(_BOM)
        return parse_line(line, raw)

    def close(self) -> None:
        self._handle.close()


def wide_encoding(head: bytes) -> tuple[int, str, str] | None:
    """``(mark length, codec, name)`` when ``head`` starts with a UTF-16/32 byte-order mark."""
    for bom, codec, name in _WIDE_BOMS:
        if head.startswith(bom):
            return len(bom), codec, name
    return None


def parse_line(number: int, raw: bytes) -> Raw:
    """Decode one JSONL line; a line without a final newline is the file's last."""
    terminated = raw.endswith(b"\n")
    body = raw.rstrip(b"\r\n")
    nul = body.find(b"\x00")
    if nul >= 0:
        if body.count(b"\x00") * 4 >= len(body):
            return Raw(
                number,
                None,
                "NUL bytes throughout the line: the file looks UTF-16 or UTF-32 encoded without "
                "a byte-order mark; save it as UTF-8",
            )
        return Raw(number, None, f"NUL byte in the line at byte {nul + 1}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Raw(number, None, f"invalid UTF-8 at byte {exc.start + 1} of the line")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        problem = _json_problem(exc)
        if terminated:
            return Raw(number, None, f"invalid JSON: {problem}")
        return Raw(number, None, f"truncated last line (no newline at the end): {problem}")
    if "\\u" in text or "\\U" in text:
        reason = unpaired_surrogate(value)
        if reason:
            return Raw(number, None, reason)
    return Raw(number, value)


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)  # e.g. an integer literal longer than Python converts


def unpaired_surrogate(value: Any) -> str | None:
    """A reason when ``value`` holds a string that cannot be written as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"invalid unicode: unpaired surrogate escape \\u{ord(exc.object[exc.start]):04x}"
    return None


def _jsonl(handle: IO[bytes]) -> Iterator[tuple[int | None, Raw]]:
    number = 0
    offset = 0
    with handle:
        try:
            for number, raw in enumerate(handle, start=1):
                start, offset = offset, offset + len(raw)
                if number == 1:
                    raw = raw.removeprefix(_BOM)
                if raw.strip():
                    yield start, parse_line(number, raw)
        except (OSError, EOFError, zlib.error) as exc:
            yield None, Raw(None, None, f"file ends early or is corrupt after line {number}: {exc}")


def _jsonl_wide(handle: IO[bytes], skip: int, codec: str, name: str) -> Iterator[Raw]:
    """JSONL in UTF-16/32 (after its byte-order mark), each line re-encoded as UTF-8."""
    number = 0
    handle.read(skip)
    # surrogatepass: an unpaired surrogate stays in its line (an error for that line only)
    # instead of failing the decoder's whole chunk.
    wrapper = io.TextIOWrapper(cast("io.BufferedReader", handle), codec, "surrogatepass")
    with wrapper as text:
        try:
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    raw = line.encode("utf-8")
                except UnicodeEncodeError:
                    yield Raw(number, None, f"invalid {name}: an unpaired surrogate in the line")
                    continue
                yield parse_line(number, raw)
        except UnicodeDecodeError as exc:
            yield Raw(number + 1, None, f"invalid {name} ({exc.reason}) after line {number}")
        except (OSError, EOFError, zlib.error) as exc:
            yield Raw(None, None, f"file ends early or is corrupt after line {number}: {exc}")


def _json_file(path: Path) -> tuple[Format, Iterator[Raw]]:
    """A ``.json`` file: a list of records, or (when it is not one JSON document) JSONL."""
    data = path.read_bytes()
    data = data.removeprefix(_BOM)
    wide = wide_encoding(data[:4])
    if wide is not None:
        skip, codec, name = wide
        try:
            data = data[skip:].decode(codec).encode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"cannot read {path}: starts with a {name} byte-order mark but is not valid "
                f"{name} ({exc.reason} at byte {exc.start + skip + 1})"
            ) from exc
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        if data.lstrip().startswith(b"["):
            problem = _json_problem(exc) if not isinstance(exc, UnicodeDecodeError) else exc
            raise InputError(
                f"cannot read {path}: a JSON list that does not parse: {problem}"
            ) from exc
        if wide is not None:
            return "jsonl", _jsonl_wide(path.open("rb"), *wide)
        return "jsonl", (raw for _, raw in _jsonl(path.open("rb")))
    if not isinstance(value, list):
        raise InputError(
            f"cannot read {path}: a .json input must hold a list of records, "
            f"not a JSON {type_name_json(value)}; one record per line belongs in a .jsonl file"
        )
    return "json", (_checked(i, item) for i, item in enumerate(value, start=1))


def _checked(number: int, item: Any) -> Raw:
    reason = unpaired_surrogate(item)
    return Raw(number, None, reason) if reason else Raw(number, item)


def _decode_json_columns(row: dict[str, Any], columns: list[str], number: int) -> Raw:
    for name in columns:
        text = row.get(name)
        if isinstance(text, str):
            try:
                row[name] = json.loads(text)
            except json.JSONDecodeError as exc:
                return Raw(number, None, f"invalid JSON in column '{name}': {exc.msg}")
    return Raw(number, row)


def _parquet_rows(path: Path) -> Iterator[Raw]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        metadata = parquet.schema_arrow.metadata or {}
        columns = json.loads(metadata.get(PARQUET_JSON_COLUMNS, b"[]"))
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InputError(f"cannot open {path} as Parquet: {exc}") from exc
    return _parquet_iter(parquet, columns if isinstance(columns, list) else [])


def _parquet_iter(parquet: Any, columns: list[str]) -> Iterator[Raw]:
    import pyarrow as pa

    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=512):
            try:
                rows: list[Any] = batch.to_pylist()
            except (ValueError, pa.ArrowException):
                rows = [None] * batch.num_rows  # convert row by row to isolate the bad ones
            for i, row in enumerate(rows):
                number += 1
                if row is None:
                    try:
                        row = batch.slice(i, 1).to_pylist()[0]
                    except (ValueError, pa.ArrowException) as exc:
                        yield Raw(number, None, f"unreadable row: {exc}")
                        continue
                yield _decode_json_columns(row, columns, number)
    except (OSError, ValueError, pa.ArrowException) as exc:
        yield Raw(None, None, f"file ends early or is corrupt after row {number}: {exc}")


def _hf_rows(path: Path) -> Iterator[Raw]:
    if not ((path / "state.json").exists() or (path / "dataset_dict.json").exists()):
        raise InputError(
            f"cannot read {path}: a directory, but not one written by datasets.save_to_disk"
        )
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependencyError(
            "datasets", "hf", "Reading a Hugging Face dataset directory"
        ) from exc
    try:
        dataset = datasets.load_from_disk(str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot open {path} as a Hugging Face dataset: {exc}") from exc
    if isinstance(dataset, datasets.DatasetDict):
        if len(dataset) != 1:
            raise InputError(
                f"cannot read {path}: it holds the splits {', '.join(dataset)}; "
                f"give one split's directory, e.g. {path / next(iter(dataset), 'train')}"
            )
        dataset = next(iter(dataset.values()))
    columns = hf_json_columns(dataset.info.description)
    return (
        _decode_json_columns(dict(row), columns, number)
        for number, row in enumerate(dataset, start=1)
    )


def hf_json_columns(description: str | None) -> list[str]:
    """The JSON-text columns recorded by ``write_records`` in a dataset's description."""
    try:
        marker = json.loads(description or "")
    except json.JSONDecodeError:
        return []
    ours = marker.get(HF_MARKER) if isinstance(marker, dict) else None
    columns = ours.get("json_columns") if isinstance(ours, dict) else None
    if isinstance(columns, list) and all(isinstance(c, str) for c in columns):
        return columns
    return []


__all__ = [
    "SUPPORTED",
    "Format",
    "LineReader",
    "Raw",
    "detect_format",
    "iter_raw",
    "iter_raw_located",
    "parse_line",
    "unit_of",
]
