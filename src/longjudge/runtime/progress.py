"""A rich progress bar with counts, ETA, judge calls and tokens; silent when not a terminal."""

from __future__ import annotations

import sys
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


class Progress:
    """Counts finished candidates; shows judge calls and tokens from ``usage``."""

    def __init__(self, total: int, usage: UsageTracker, enabled: bool = True) -> None:
        self.usage = usage
        self.enabled = enabled and sys.stderr.isatty() and total > 0
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self.total = total

    def __enter__(self) -> Progress:
        if self.enabled:
            self._bar = RichProgress(
                TextColumn("scoring"),
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
            self._task = self._bar.add_task("score", total=self.total, stats="")
        return self

    def advance(self) -> None:
        if self._bar is not None and self._task is not None:
            total = self.usage.total()
            stats = (
                f"calls {total.calls}  cached {total.cache_hits}  "
                f"tokens {total.prompt_tokens + total.completion_tokens:,}"
            )
            self._bar.update(self._task, advance=1, stats=stats)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)


__all__ = ["Progress"]
