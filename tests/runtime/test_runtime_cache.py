"""The SQLite judge cache: hits, corrupt rows, keys, WAL and several processes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from longjudge.config import JudgeConfig
from longjudge.judges.base import JudgeResponse
from longjudge.judges.openai import OpenAIJudge
from longjudge.prompts.check import CHECK_PROMPT, check_request
from longjudge.runtime.cache import JudgeCache, cache_key
from tests.conftest import make_client

BASE = check_request()


def key(judge: dict[str, Any] | None = None, **request: Any) -> str:
    identity = judge or {"backend": "openai", "model": "m", "base_url": "http://a/v1"}
    return cache_key(identity, BASE.model_copy(update=request).cache_payload())


def test_a_second_identical_call_makes_zero_judge_calls(cache: JudgeCache) -> None:
    async def go() -> None:
        client = make_client(cache=cache)
        first = await client.complete(BASE, step="s", parse=CHECK_PROMPT.parse)
        second = await client.complete(BASE, step="s", parse=CHECK_PROMPT.parse)
        assert first == second
        assert client.judge.calls == 1  # type: ignore[attr-defined]
        usage = client.usage.total()
        assert (usage.calls, usage.cache_hits) == (1, 1)
        # A new client (a re-run) over the same file makes no call at all.
        rerun = make_client(["never used"], cache=JudgeCache(cache.path))
        assert await rerun.complete(BASE, step="s", parse=CHECK_PROMPT.parse) == first
        assert rerun.judge.calls == 0  # type: ignore[attr-defined]

    asyncio.run(go())


@pytest.mark.parametrize("garbage", ["{not json", '{"texts": 5}', "", "null"])
def test_a_corrupt_row_is_a_miss_and_is_replaced(cache: JudgeCache, garbage: str) -> None:
    client = make_client(['{"answer": "no"}'], cache=cache)
    k = cache_key(client.judge.identity(), BASE.cache_payload())
    cache.put(k, JudgeResponse(texts=['{"answer": "yes"}']))
    with sqlite3.connect(cache.path) as conn:
        conn.execute("UPDATE responses SET value = ? WHERE key = ?", (garbage, k))
    assert cache.get(k) is None
    out = asyncio.run(client.complete(BASE, step="s", parse=CHECK_PROMPT.parse))
    assert out.answer == "no" and client.judge.calls == 1  # type: ignore[attr-defined]
    fixed = cache.get(k)  # the good answer replaced the corrupt one
    assert fixed is not None and fixed.texts == ['{"answer": "no"}']


@pytest.mark.parametrize(
    "request_update",
    [
        {},
        {"temperature": 0.7, "top_p": 0.95, "seed": 3, "stop": ("\n\n",), "n": 4},
        {"temperature": 1e-5, "messages": ({"role": "user", "content": "é ‘q’ \u2028 \x00"},)},
        {"schema": {"type": "object", "properties": {"x": {"type": "number", "minimum": 0.5}}}},
    ],
)
def test_keys_are_those_of_earlier_versions(request_update: dict[str, Any]) -> None:
    # Caches written before the fast payload and JSON must still be hit: the key is sha256
    # over the sorted, compact JSON of the pydantic dump, as it always was.
    import hashlib
    import json

    request = BASE.model_copy(update=request_update)
    identity = {"backend": "openai", "model": "m", "base_url": "http://a/v1"}
    dumped = request.model_dump(by_alias=True, mode="json")
    blob = json.dumps(
        {"v": 1, "judge": identity, "request": dumped},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    assert cache_key(identity, request.cache_payload()) == hashlib.sha256(
        blob.encode("utf-8")
    ).hexdigest()
    assert set(request.cache_payload()) == set(dumped)


def test_keys_differ_exactly_when_an_output_changing_field_differs() -> None:
    base = key()
    variants = {
        "messages": key(messages=({"role": "user", "content": "other"},)),
        "temperature": key(temperature=0.7),
        "top_p": key(top_p=0.9),
        "max_tokens": key(max_tokens=65),
        "seed": key(seed=1),
        "n": key(n=2),
        "stop": key(stop=("END",)),
        "schema": key(schema_={"type": "object"}),
        "no schema": key(schema_=None),
        "schema name": key(schema_name="other"),
        "model": key({"backend": "openai", "model": "m2", "base_url": "http://a/v1"}),
        "base_url": key({"backend": "openai", "model": "m", "base_url": "http://b/v1"}),
        "backend": key({"backend": "local", "model": "m", "base_url": "http://a/v1"}),
    }
    assert base not in variants.values()
    assert len(set(variants.values())) == len(variants)
    assert key() == base  # stable


def test_timeouts_retries_and_key_names_do_not_change_the_key() -> None:
    def identity(**config: Any) -> dict[str, Any]:
        config.setdefault("base_url", "http://a/v1")
        return OpenAIJudge("m", JudgeConfig(**config)).identity()

    same = identity()
    assert identity(timeout=5.0) == same
    assert identity(max_concurrency=2, api_key_env="OTHER_KEY") == same
    assert identity(base_url="http://a/v1/") == same
    assert identity(base_url="http://b/v1") != same


def test_wal_mode(cache: JudgeCache) -> None:
    with sqlite3.connect(cache.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


WRITER = """
import sys
from longjudge.judges.base import JudgeResponse
from longjudge.runtime.cache import JudgeCache
cache = JudgeCache(sys.argv[1])
name = sys.argv[2]
for i in range(200):
    cache.put(f"{name}-{i}", JudgeResponse(texts=[f"{name} {i}"]))
    assert cache.get(f"{name}-{i // 2}") is not None
cache.close()
"""


def test_two_processes_write_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    JudgeCache(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name],
                              stderr=subprocess.PIPE) for name in ("a", "b")]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else b"") for p in procs]
    for proc in procs:
        if proc.stderr:
            proc.stderr.close()
    assert [code for code, _ in results] == [0, 0], results
    cache = JudgeCache(path)
    assert len(cache) == 400
    response = cache.get("b-199")
    assert response is not None and response.texts == ["b 199"] and response.cached
    cache.close()
