"""The run directory's appends: written at once and in order, made durable by a background
sync before anything reads them back, counts them in a summary or hands the directory on."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from longjudge.runtime import rundir as rundir_module
from longjudge.runtime.fingerprint import Setup
from longjudge.runtime.rundir import REWARDS, SUMMARY, RunDir
from longjudge.types import Candidate, Example, Reward

SETUP = Setup(config="c1", judge="j1", prompts="p1")
EXAMPLE = Example(id="e", context="The mill ground 40 sacks in 1901.", query="How many sacks?")


def reward(i: int) -> Reward:
    candidate = Candidate(id=f"e-{i}", example_id="e", text=f"It ground {i} sacks.")
    return Reward(
        example_id="e",
        candidate_id=candidate.id,
        method="longreward",
        status="scored",
        total=float(i % 10),
        fingerprint=SETUP.fingerprint(EXAMPLE, candidate),
    )


class SyncLog:
    """Records, in order, which files were fsynced and when the summary was written; each
    fsync is slowed down so that a reader that does not wait for it would overtake it."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.events: list[str] = []
        self.delay = delay
        self.fail = fail
        self._lock = threading.Lock()

    def fsync(self, fd: int) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise OSError(5, "Input/output error")
        name = Path(os.readlink(f"/proc/self/fd/{fd}")).name
        with self._lock:
            self.events.append(f"fsync {name}")

    def wrote(self, path: Path) -> None:
        with self._lock:
            self.events.append(f"write {path.name}")


@pytest.fixture
def synclog(monkeypatch: pytest.MonkeyPatch) -> SyncLog:
    log = SyncLog(delay=0.05)
    monkeypatch.setattr(rundir_module.os, "fsync", log.fsync)
    real_atomic = rundir_module._atomic_write

    def atomic(path: Path, text: str) -> None:
        log.wrote(path)
        real_atomic(path, text)

    monkeypatch.setattr(rundir_module, "_atomic_write", atomic)
    return log


def test_appends_are_in_order_and_visible_at_once(tmp_path: Path, synclog: SyncLog) -> None:
    run = RunDir(tmp_path)
    for i in range(50):
        run.append_reward(reward(i))
    # in the file before any sync (a crash of this process would still leave them there)
    lines = (tmp_path / REWARDS).read_text().splitlines()
    assert [json.loads(line)["candidate_id"] for line in lines] == [f"e-{i}" for i in range(50)]
    assert [r.candidate_id for r in run.rewards()] == [f"e-{i}" for i in range(50)]
    assert "fsync rewards.jsonl" in synclog.events  # rewards() waited for the sync


def test_the_summary_is_written_only_after_the_rewards_are_synced(
    tmp_path: Path, synclog: SyncLog
) -> None:
    run = RunDir(tmp_path)
    for i in range(20):
        run.append_reward(reward(i))
    run.add_invocation({"scored": 20})
    first_summary = synclog.events.index(f"write {SUMMARY}")
    assert "fsync rewards.jsonl" in synclog.events[:first_summary]
    # every descriptor handed to the syncer was synced or closed: nothing is left open
    assert run._syncer._synced == run._syncer._handed == 20


def test_leaving_the_lock_makes_every_append_durable(tmp_path: Path, synclog: SyncLog) -> None:
    run = RunDir(tmp_path)
    with run.lock():
        run.append_reward(reward(1))
        run.append_error({"kind": "input", "id": "x", "reason": "bad"})
    assert {"fsync rewards.jsonl", "fsync errors.jsonl"} <= set(synclog.events)
    assert run._syncer._synced == run._syncer._handed == 2


def test_a_failed_sync_is_raised_not_swallowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = SyncLog(fail=True)
    monkeypatch.setattr(rundir_module.os, "fsync", log.fsync)
    run = RunDir(tmp_path)
    run.append_reward(reward(1))
    with pytest.raises(OSError, match="Input/output error"):
        run.flush()
    with pytest.raises(OSError):  # and a summary that would count it is never written
        run.append_reward(reward(2))
        run.add_invocation({"scored": 2})
    assert not (tmp_path / SUMMARY).exists()


def test_a_torn_tail_is_still_cut_before_the_first_append(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.append_reward(reward(1))
    run.flush()
    with (tmp_path / REWARDS).open("a") as handle:
        handle.write('{"example_id": "e", "candid')  # a crash in the middle of a write
    again = RunDir(tmp_path)
    again.append_reward(reward(2))
    assert [r.candidate_id for r in again.rewards()] == ["e-1", "e-2"]
    assert (tmp_path / REWARDS).read_text().count("\n") == 2


def test_many_writers_threads_each_see_their_own_lines_synced(tmp_path: Path) -> None:
    runs = [RunDir(tmp_path / f"run{k}") for k in range(4)]

    def write(run: RunDir, k: int) -> None:
        for i in range(25):
            run.append_reward(reward(100 * k + i))
        run.flush()

    threads = [threading.Thread(target=write, args=(r, k)) for k, r in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k, run in enumerate(runs):
        assert [r.candidate_id for r in run.rewards()] == [
            f"e-{100 * k + i}" for i in range(25)
        ]
