"""Progress of a long command: a rich bar in a terminal, plain lines elsewhere.

In a terminal the bar shows counts, elapsed time, ETA, judge calls and tokens. When stderr is not
a terminal (CI logs, ``nohup``, a pipe) one plain line is written every
:func:`log_interval` seconds (10 by default; ``LONGJUDGE_PROGRESS_INTERVAL`` changes it), from a
timer, so a line comes even while a single slow judge call is in flight::

    scoring: 12/40 candidates (30%), 1m05s elapsed, eta 2m31s; judge calls 53, cached 0, ...
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

from .usage import UsageTracker

#: Seconds between two plain progress lines when stderr is not a terminal.
DEFAULT_LOG_INTERVAL = 10.0


def log_interval() -> float:
    """:data:`DEFAULT_LOG_INTERVAL`, or ``$LONGJUDGE_PROGRESS_INTERVAL`` when set (> 0)."""
    raw = os.environ.get("LONGJUDGE_PROGRESS_INTERVAL", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_LOG_INTERVAL
    return value if value > 0 else DEFAULT_LOG_INTERVAL


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """Counts finished items (candidates, prompts ...); shows judge usage from ``usage``.

    ``mode`` is ``bar`` (stderr is a terminal), ``log`` (it is not) or ``off`` (disabled, or
    nothing to do).
    """

    def __init__(
        self,
        total: int,
        usage: UsageTracker | None = None,
        enabled: bool = True,
        *,
        label: str = "scoring",
        unit: str = "candidates",
    ) -> None:
        self.usage = usage
        self.total = total
        self.label = label
        self.unit = unit
        self.done = 0
        self.mode = "off"
        if enabled and total > 0:
            self.mode = "bar" if sys.stderr.isatty() else "log"
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._lines = 0

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if self.mode == "bar":
            self._bar = RichProgress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[stats]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=self.total, stats="")
        elif self.mode == "log":
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()
        return self

    def stats(self) -> str:
        """Judge calls, cache hits and tokens so far ('' without a usage tracker)."""
        if self.usage is None:
            return ""
        total = self.usage.total()
        return (
            f"judge calls {total.calls}, cached {total.cache_hits}, "
            f"tokens {total.prompt_tokens + total.completion_tokens:,}"
        )

    def line(self) -> str:
        """The plain progress line written in ``log`` mode."""
        elapsed = time.monotonic() - self._started
        share = self.done / self.total if self.total else 1.0
        eta = ""
        if 0 < self.done < self.total:
            eta = f", eta {_duration(elapsed / self.done * (self.total - self.done))}"
        stats = self.stats()
        return (
            f"{self.label}: {self.done}/{self.total} {self.unit} ({share:.0%}), "
            f"{_duration(elapsed)} elapsed{eta}" + (f"; {stats}" if stats else "")
        )

    def _write(self) -> None:
        sys.stderr.write(self.line() + "\n")
        sys.stderr.flush()
        self._lines += 1

    def _tick(self) -> None:
        interval = log_interval()
        while not self._stop.wait(interval):
            self._write()

    def advance(self, count: int = 1) -> None:
        self.update(self.done + count)

    def update(self, done: int) -> None:
        """Set the number of finished items."""
        self.done = done
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done, stats=self.stats())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            if self._lines:  # a long run: close the log with where it ended
                self._write()


__all__ = ["DEFAULT_LOG_INTERVAL", "Progress", "log_interval"]
