"""The persistent judge cache: SQLite (stdlib), WAL mode, safe for several processes.

The key is a hash of exactly what changes a judge's output: the backend's identity (backend,
model, base URL or model file) and the request (messages, sampling parameters, schema). Timeouts,
retries and API keys are not part of it. A corrupt or unreadable entry is a miss. Only outputs
that parsed and validated are stored, so a failed output is never served as a valid one.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..canon import canonical
from ..judges.base import JudgeResponse

SCHEMA_VERSION = 1


def default_cache_path() -> Path:
    root = os.environ.get("LONGJUDGE_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "longjudge"
    return base / "judge.sqlite"


def cache_key(identity: dict[str, Any], request: dict[str, Any]) -> str:
    """sha256 over canonical JSON of the judge identity and the request."""
    blob = canonical({"v": SCHEMA_VERSION, "judge": identity, "request": request})
    return hashlib.sha256(blob).hexdigest()


class JudgeCache:
    """A key -> JudgeResponse store. Thread-safe within a process, WAL across processes."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
            )
            self._conn.commit()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> JudgeResponse | None:
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT value FROM responses WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.DatabaseError:
                row = None
        if row is None:
            self.misses += 1
            return None
        try:
            response = JudgeResponse.model_validate_json(row[0])
        except (ValidationError, ValueError, TypeError):
            self.misses += 1  # a corrupt entry is a miss; the next good answer replaces it
            return None
        self.hits += 1
        return response.model_copy(update={"cached": True})

    def put(self, key: str, response: JudgeResponse) -> None:
        value = response.model_copy(update={"cached": False}).model_dump_json()
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
                (key, value, time.time()),
            )
            self._conn.commit()

    def delete(self, key: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM responses WHERE key = ?", (key,))
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


__all__ = ["JudgeCache", "cache_key", "default_cache_path"]
