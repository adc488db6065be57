"""The one exception tree of longjudge.

::

    LongJudgeError
    ├── ConfigError            a config or spec string is invalid (unknown key, bad value)
    ├── InputError             a whole input file cannot be read (bad records are reported)
    ├── RunDirError            a run directory is in use by another job, or holds results
    │                          made under another setup (judge, scoring config, prompts)
    ├── MissingDependencyError an optional extra is not installed; the message names it
    ├── PromptError            a prompt template is missing or cannot be rendered
    ├── ParseError             a judge output cannot be used (not JSON, wrong shape, out of range)
    └── JudgeError             a judge call failed; ``kind`` says how the retry loop treats it
        ├── RateLimitError     429 / quota: retried, honours ``retry_after``, slows the limiter
        ├── TransientJudgeError timeouts, 5xx, dropped connections: retried with backoff
        │   └── UnreachableJudgeError  no connection at all (refused, DNS): the server's
        │                              circuit breaker counts these
        └── FatalJudgeError    authentication, context too long, bad request: never retried

A bug (any other exception) is never caught by the retry loop.
"""

from __future__ import annotations

from enum import Enum


class LongJudgeError(Exception):
    """Base class of every error longjudge raises on purpose."""


class ConfigError(LongJudgeError):
    """A configuration value, file or spec string is invalid."""


class InputError(LongJudgeError):
    """An input file cannot be read at all."""


class RunDirError(LongJudgeError):
    """A run directory cannot be written: another job holds it, or its results were made
    under another setup and would be mixed with this job's."""


class MissingDependencyError(LongJudgeError, ImportError):
    """An optional dependency is missing; the message says which extra installs it."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional package '{package}': pip install 'longjudge[{extra}]'"
        )
        self.package = package
        self.extra = extra


class PromptError(LongJudgeError):
    """A prompt template is missing or cannot be rendered."""


class ParseError(LongJudgeError):
    """A judge output that cannot be used. ``reason`` is short and stable (for summaries)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ErrorKind(str, Enum):
    """How the retry loop treats a classified judge failure."""

    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    FATAL = "fatal"


class JudgeError(LongJudgeError):
    """A judge call that failed for a classified reason."""

    kind: ErrorKind = ErrorKind.FATAL

    def __init__(
        self, message: str, *, retry_after: float | None = None, overload: bool | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        #: Whether the failure says the server is overloaded (429, 5xx, time-out, dropped
        #: connection), so that the concurrency limiter backs off. Default: every retried kind.
        self.overload = self.kind is not ErrorKind.FATAL if overload is None else overload


class RateLimitError(JudgeError):
    """The server said 429 (or equivalent); retried after ``retry_after`` seconds at least."""

    kind = ErrorKind.RATE_LIMIT


class TransientJudgeError(JudgeError):
    """A failure that may pass: timeout, 5xx, dropped connection, truncated transfer."""

    kind = ErrorKind.TRANSIENT


class UnreachableJudgeError(TransientJudgeError):
    """The judge could not be reached at all (connection refused, name not resolved)."""


class FatalJudgeError(JudgeError):
    """A failure that will not pass by retrying: auth, context too long, unsupported request."""

    kind = ErrorKind.FATAL


__all__ = [
    "ConfigError",
    "ErrorKind",
    "FatalJudgeError",
    "InputError",
    "JudgeError",
    "LongJudgeError",
    "MissingDependencyError",
    "ParseError",
    "PromptError",
    "RateLimitError",
    "RunDirError",
    "TransientJudgeError",
    "UnreachableJudgeError",
]
