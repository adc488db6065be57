"""The run directory: the resolved config, results as JSONL, errors, and a usage summary.

::

    runs/NAME/
      config.yaml     the resolved config of the last invocation (no secrets) and the setup
                      fingerprint every result in the directory was made under
      rewards.jsonl   one Reward per line (with its fingerprint), appended as each finishes
      errors.jsonl    bad input records, failures and every unscored candidate: kind, id, reason
      summary.json    counts, usage per step and wall time, one entry per invocation
      .lock           held (flock) by the job writing the directory; its holder's pid and host
      superseded/     results moved aside by ``rescore`` (one folder per move)

Re-running into the same directory resumes: a candidate whose stored reward has its current
fingerprint is not scored again (an unscored one is, with ``retry_unscored``); everything else
is (:mod:`longjudge.runtime.fingerprint`). A directory holds the results of one setup only: a job
with another judge, scoring config or prompts is refused (:class:`RunDirError`) unless it asks
to ``rescore``, which moves the old results to ``superseded/`` first. A line torn by a crash is
cut off before the first append, and when a candidate has several lines the last one wins.

Durability without blocking the event loop: an append is one ``write`` of the whole line on
the calling thread (so it is in the file, in order, for every reader at once), and the
``fsync`` that makes it survive a power cut is done by a background thread that syncs all the
lines written since its last pass at once (an ``fsync`` costs 1-10 ms, a write microseconds).
:meth:`RunDir.flush` waits until every line appended so far is synced (or raises the
``OSError`` the sync met); every method that reads the results, writes the summary or moves
files, and leaving :meth:`RunDir.lock`, flushes first: a reward the summary counts is durable.
A crash can lose only lines not yet synced, which were never counted in a summary; their
candidates are scored again on resume.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, RunDirError
from ..types import Reward
from .fingerprint import Setup, describe_counts, foreign_setups
from .stored import StoredIndex, read_rewards

REWARDS = "rewards.jsonl"
ERRORS = "errors.jsonl"
SUMMARY = "summary.json"
CONFIG = "config.yaml"
LOCK = ".lock"
SUPERSEDED = "superseded"
#: ``kind`` of the errors.jsonl line of an unscored candidate.
UNSCORED = "unscored"


class RunDir:
    """Reads and appends the files of one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._repaired: set[str] = set()  # files whose torn tail was cut (before appending)
        self._syncer = _Syncer()

    @classmethod
    def existing(cls, path: str | Path) -> RunDir:
        """A run directory to read from: InputError when ``path`` holds no rewards."""
        if not (Path(path) / REWARDS).exists():
            raise InputError(f"{path} is not a run directory: no {REWARDS}")
        return cls(path)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the directory for one writing job; :class:`RunDirError` when another holds it.

        ``flock`` on ``.lock``: the kernel drops the lock when its process dies, so a lock left
        by a killed job never blocks the next one. The file names the holder for the message.
        """
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown"
                raise RunDirError(
                    f"run directory {self.path} is being written by another job ({holder}); "
                    "wait for it to finish or choose another --out"
                ) from None
            started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            os.ftruncate(fd, 0)
            holder = f"pid {os.getpid()} on {socket.gethostname()} since {started}"
            os.pwrite(fd, holder.encode(), 0)
            yield
        finally:
            try:
                self.flush()  # durable before the next job may take the directory
            finally:
                os.close(fd)  # releases the flock

    def claim(self, setup: Setup, rescore: bool = False) -> str | None:
        """Make the directory hold ``setup``'s results only, before a job writes into it.

        With ``rescore`` every earlier result moves to ``superseded/`` (returned); otherwise a
        directory with results of another setup is a :class:`RunDirError`.
        """
        self.flush()
        if rescore and any((self.path / name).exists() for name in (REWARDS, ERRORS)):
            return self.supersede()
        self.check_setup(setup)
        return None

    def check_setup(self, setup: Setup, stored: StoredIndex | None = None) -> None:
        """:class:`RunDirError` when a stored reward was made under another setup (``stored``:
        the directory's :meth:`stored` index, when the caller has read it already)."""
        foreign = foreign_setups(stored if stored is not None else self.stored(), setup)
        if foreign:
            raise RunDirError(
                f"run directory {self.path} holds results made under another setup "
                f"({describe_counts(foreign)}); score into a new --out, or pass --rescore to "
                f"move them to {self.path / SUPERSEDED}/ and score every candidate again"
            )

    def supersede(self) -> str:
        """Move the results, errors, config and summary to ``superseded/<time>/``."""
        self.flush()
        target = self.path / SUPERSEDED / time.strftime("%Y%m%d-%H%M%S")
        suffix = 0
        while target.exists():
            suffix += 1
            target = target.with_name(f"{target.name.split('.')[0]}.{suffix}")
        target.mkdir(parents=True)
        for name in (REWARDS, ERRORS, CONFIG, SUMMARY):
            if (self.path / name).exists():
                os.replace(self.path / name, target / name)
        self._repaired.clear()
        return str(target)

    def write_config(self, config: dict[str, Any]) -> None:
        text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        _atomic_write(self.path / CONFIG, text)

    def read_config(self) -> dict[str, Any]:
        path = self.path / CONFIG
        if not path.exists():
            return {}
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def rewards(self) -> list[Reward]:
        """Every candidate's latest reward, in first-written order."""
        self.flush()
        latest: dict[tuple[str, str], Reward] = {}
        for reward in read_rewards(self.path / REWARDS):
            latest[(reward.example_id, reward.candidate_id)] = reward
        return list(latest.values())

    def stored(self) -> StoredIndex:
        """The compact index of every candidate's latest reward (fingerprint, status, reason),
        read line by line: what resume and the directory's state need, without holding the
        rewards themselves."""
        self.flush()
        return StoredIndex.read(self.path / REWARDS)

    def flush(self) -> None:
        """Wait until every line appended so far is on disk (fsynced); raise the ``OSError``
        a background sync met, if any."""
        self._syncer.wait()

    def append_reward(self, reward: Reward) -> None:
        self._append(REWARDS, reward.model_dump_json())

    def append_error(self, record: dict[str, Any]) -> None:
        self._append(ERRORS, json.dumps(record, ensure_ascii=False, default=str))

    def append_unscored(self, reward: Reward) -> None:
        """The errors.jsonl line of an unscored candidate: its ids and reason."""
        self.append_error(unscored_error(reward.example_id, reward.candidate_id, reward.reason))

    def settle_errors(self, stored: StoredIndex | None = None) -> None:
        """Rewrite errors.jsonl so that its unscored lines are exactly the candidates whose
        latest reward is unscored, each once with its latest reason (other lines stay).
        ``stored``: the directory's index, if the caller has just read it."""
        current = [
            unscored_error(*key, entry.reason)
            for key, entry in (stored if stored is not None else self.stored()).items()
            if not entry.scored
        ]
        kept = [e for e in self.errors() if e.get("kind") != UNSCORED]
        if not current and not kept and not (self.path / ERRORS).exists():
            return
        lines = [json.dumps(e, ensure_ascii=False, default=str) for e in [*kept, *current]]
        _atomic_write(self.path / ERRORS, "".join(line.replace("\n", " ") + "\n" for line in lines))

    def _append(self, name: str, line: str) -> None:
        if name not in self._repaired:  # the first append of this writer cuts a torn tail
            _repair_tail(self.path / name)
            self._repaired.add(name)
        self._syncer.check()
        self._syncer.sync_later(_append_line(self.path / name, line))

    def errors(self) -> list[dict[str, Any]]:
        self.flush()
        path = self.path / ERRORS
        if not path.exists():
            return []
        found = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue  # a line torn by a crash: cut before the next append
        return [e for e in found if isinstance(e, dict)]

    def read_summary(self) -> dict[str, Any]:
        path = self.path / SUMMARY
        if not path.exists():
            return {"invocations": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return {"invocations": []}
        return data if isinstance(data, dict) else {"invocations": []}

    def add_invocation(self, entry: dict[str, Any]) -> None:
        """Append one invocation's counts and usage to ``summary.json`` (after every appended
        line is durable: the summary never counts a reward a crash could still lose)."""
        self.flush()
        summary = self.read_summary()
        summary.setdefault("invocations", []).append({"finished_at": time.time(), **entry})
        _atomic_write(self.path / SUMMARY, json.dumps(summary, indent=2, ensure_ascii=False))


def unscored_error(example_id: str, candidate_id: str, reason: str | None) -> dict[str, Any]:
    return {
        "kind": UNSCORED,
        "id": candidate_id,
        "example_id": example_id,
        "candidate_id": candidate_id,
        "reason": reason,
    }


def _append_line(path: Path, line: str) -> int:
    # One write() of a whole line on an O_APPEND descriptor: a crash leaves at most a torn last
    # line, which _repair_tail removes on the next open. Returns the open descriptor, for the
    # syncer to fsync and close.
    data = (line.replace("\n", " ") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    except BaseException:
        os.close(fd)
        raise
    return fd


#: Seconds a syncer thread with nothing to do waits before it ends (a later append starts one).
SYNC_IDLE_EXIT = 1.0


class _Syncer:
    """fsyncs (and closes) the descriptors of appended lines in a background thread.

    Each pass takes every descriptor handed over since the last one, fsyncs one per file (an
    fsync covers every earlier write to the file) and closes them all. :meth:`wait` blocks
    until the passes have covered everything handed over before it was called.
    """

    def __init__(self) -> None:
        _LIVE.add(self)
        self._cond = threading.Condition()
        self._pending: list[int] = []
        self._handed = 0  # descriptors handed over
        self._synced = 0  # of which synced and closed
        self._error: OSError | None = None
        self._thread: threading.Thread | None = None

    def sync_later(self, fd: int) -> None:
        with self._cond:
            self._pending.append(fd)
            self._handed += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="longjudge-rundir-sync", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def check(self) -> None:
        """Raise the error a sync met (once), so that appends stop being acknowledged."""
        with self._cond:
            error, self._error = self._error, None
        if error is not None:
            raise error

    def wait(self) -> None:
        with self._cond:
            target = self._handed
            while self._synced < target and self._error is None:
                self._cond.wait()
        self.check()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    if not self._cond.wait(SYNC_IDLE_EXIT) and not self._pending:
                        self._thread = None
                        return
                batch, self._pending = self._pending, []
            error = _sync_and_close(batch)
            with self._cond:
                self._synced += len(batch)
                if error is not None and self._error is None:
                    self._error = error
                self._cond.notify_all()


#: Every syncer, so that a process that exits without flushing (a Ray actor writing a shard)
#: still syncs what it appended.
_LIVE: weakref.WeakSet[_Syncer] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for syncer in list(_LIVE):
        with contextlib.suppress(OSError):
            syncer.wait()


def _sync_and_close(fds: list[int]) -> OSError | None:
    error: OSError | None = None
    synced: set[tuple[int, int]] = set()
    for fd in fds:
        try:
            stat = os.fstat(fd)
            inode = (stat.st_dev, stat.st_ino)
            if inode not in synced:
                os.fsync(fd)
                synced.add(inode)
        except OSError as exc:
            error = error or exc
        finally:
            os.close(fd)
    return error


def _repair_tail(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        data = handle.read()
        if data.endswith(b"\n"):
            return
        handle.truncate(data.rfind(b"\n") + 1)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


__all__ = ["RunDir", "unscored_error"]
