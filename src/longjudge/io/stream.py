"""Reading chosen records of an input file again, after a first pass found where they are.

A streamed job reads its inputs twice: a first pass (:func:`~longjudge.io.readers.scan_records`)
checks every record and keeps only where the good ones are (line, and byte offset for plain
JSONL); the second reads each prompt's records when the prompt is scored. :class:`Reread` is
the second pass, in one of two ways:

- **by offset** (plain JSONL, the layout ``longjudge sample`` writes): each record is read
  with one seek, in whatever order the prompts ask for them. Nothing is read ahead, so memory
  holds the records of the prompts in flight, however the file is ordered.
- **in file order** (``.jsonl.gz``, ``.json``, Parquet, a dataset directory: no cheap random
  access): the file is read forward once; a wanted record met before it is asked for waits in
  a buffer. A file grouped by prompt in the prompts' order (sampling output) needs no buffer
  beyond the prompt being read; an unordered one can buffer up to all its wanted records, the
  memory of an eager read, never more.

A record that no longer reads as it did in the first pass (the file changed while the job
ran) is an :class:`~longjudge.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ..errors import InputError
from .fields import BadRecord
from .readers import convert_raw
from .sources import LineReader, Raw, iter_raw

R = TypeVar("R", bound=BaseModel)

#: Where a good record is: its line (or row) and its byte offset (None: not plain JSONL).
Position = tuple[int, int | None]


class Reread(Generic[R]):
    """Reads the records at given positions of ``path`` again, converted by ``convert``.

    ``wanted``: every line that will be asked for (for reading in file order: what to keep
    when met early). Close it after use (:meth:`close`, or ``with``).
    """

    def __init__(
        self,
        path: str | Path,
        convert: Callable[[dict[str, Any]], R],
        wanted: Iterable[int],
        located: bool,
    ) -> None:
        self.path = Path(path)
        self._convert = convert
        self._lines: LineReader | None = LineReader(path) if located else None
        self._rows: Iterator[Raw] | None = None if located else iter_raw(path)[1]
        self._wanted = set() if located else set(wanted)
        self._early: dict[int, R] = {}

    def take(self, positions: Iterable[Position]) -> list[R]:
        """The records at ``positions``, in that order."""
        return [self._one(line, offset) for line, offset in positions]

    def _one(self, line: int, offset: int | None) -> R:
        if self._lines is not None and offset is not None:
            return self._record(self._lines.read(offset, line), line)
        if line in self._early:
            return self._early.pop(line)
        assert self._rows is not None, "a located Reread was given a position without offset"
        for raw in self._rows:
            if raw.line == line:
                self._wanted.discard(line)
                return self._record(raw, line)
            if raw.line in self._wanted:
                self._wanted.discard(raw.line)
                self._early[raw.line] = self._record(raw, raw.line)
        raise InputError(f"{self.path} changed while it was read: {line} is gone")

    def _record(self, raw: Raw, line: int) -> R:
        try:
            if raw.error is not None:
                raise BadRecord(raw.error)
            return convert_raw(raw, self._convert)
        except BadRecord as bad:
            raise InputError(
                f"{self.path} changed while it was read: record {line} no longer reads "
                f"({bad.reason})"
            ) from None

    def close(self) -> None:
        if self._lines is not None:
            self._lines.close()
        if self._rows is not None:
            close = getattr(self._rows, "close", None)
            if close is not None:
                close()
        self._early.clear()

    def __enter__(self) -> Reread[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Position", "Reread"]
