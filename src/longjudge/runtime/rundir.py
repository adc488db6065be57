"""The run directory: the resolved config, results as JSONL, errors, and a usage summary.

::

    runs/NAME/
      config.yaml     the resolved config of the last invocation (no secrets)
      rewards.jsonl   one Reward per line, appended as each candidate finishes
      errors.jsonl    bad input records and failures: kind, id, line, reason
      summary.json    counts, usage per step and wall time, one entry per invocation

Re-running into the same directory resumes: candidates with a line in ``rewards.jsonl`` are not
scored again (unscored ones are, with ``retry_unscored``). A line torn by a crash is cut off
before appending, and when a candidate has several lines the last one wins.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..types import Reward

REWARDS = "rewards.jsonl"
ERRORS = "errors.jsonl"
SUMMARY = "summary.json"
CONFIG = "config.yaml"


class RunDir:
    """Reads and appends the files of one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        for name in (REWARDS, ERRORS):
            _repair_tail(self.path / name)

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
        latest: dict[tuple[str, str], Reward] = {}
        path = self.path / REWARDS
        if not path.exists():
            return []
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    reward = Reward.model_validate_json(line)
                except ValidationError:
                    continue  # a line from an incompatible version: reported by `finished`
                latest[(reward.example_id, reward.candidate_id)] = reward
        return list(latest.values())

    def finished(self, retry_unscored: bool = False) -> set[tuple[str, str]]:
        """(example id, candidate id) of candidates that need no more work."""
        return {
            (r.example_id, r.candidate_id)
            for r in self.rewards()
            if r.status == "scored" or not retry_unscored
        }

    def append_reward(self, reward: Reward) -> None:
        _append_line(self.path / REWARDS, reward.model_dump_json())

    def append_error(self, record: dict[str, Any]) -> None:
        _append_line(self.path / ERRORS, json.dumps(record, ensure_ascii=False, default=str))

    def errors(self) -> list[dict[str, Any]]:
        path = self.path / ERRORS
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

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
        """Append one invocation's counts and usage to ``summary.json``."""
        summary = self.read_summary()
        summary.setdefault("invocations", []).append({"finished_at": time.time(), **entry})
        _atomic_write(self.path / SUMMARY, json.dumps(summary, indent=2, ensure_ascii=False))


def _append_line(path: Path, line: str) -> None:
    # One write() of a whole line on an O_APPEND descriptor, then fsync: a crash leaves at most
    # a torn last line, which _repair_tail removes on the next open.
    data = (line.replace("\n", " ") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


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


__all__ = ["RunDir"]
