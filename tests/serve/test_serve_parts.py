"""Reward server parts: token resolution, constant-time check, OpenRLHF unpacking, limits, and
the `longjudge serve` command started for real in a subprocess."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from longjudge.errors import ConfigError
from longjudge.serve.auth import BearerAuth, resolve_token
from longjudge.serve.config import GetRewardConfig, ServeConfig
from longjudge.serve.limits import BodyTooLarge, RequestGate, RequestTimeout, read_limited
from longjudge.serve.requests import Unpacker
from longjudge.serve.server import load_configs

TOKEN = "a-long-enough-token-123456"


def test_token_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LONGJUDGE_API_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="--no-auth"):
        resolve_token(None, "LONGJUDGE_API_TOKEN", no_auth=False)
    assert resolve_token(None, "LONGJUDGE_API_TOKEN", no_auth=True) is None
    monkeypatch.setenv("LONGJUDGE_API_TOKEN", f"  {TOKEN}\n")
    assert resolve_token(None, "LONGJUDGE_API_TOKEN", no_auth=False) == TOKEN
    path = tmp_path / "token"
    path.write_text(f"{TOKEN}-file\n# comment\n")
    assert resolve_token(path, "LONGJUDGE_API_TOKEN", no_auth=False) == f"{TOKEN}-file"
    path.write_text("short\n")
    with pytest.raises(ConfigError, match="shorter") as info:
        resolve_token(path, "LONGJUDGE_API_TOKEN", no_auth=False)
    assert "short\n" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_token(tmp_path / "missing", "LONGJUDGE_API_TOKEN", no_auth=False)


def test_bearer_check() -> None:
    auth = BearerAuth(TOKEN)
    assert auth.check(f"Bearer {TOKEN}") and auth.check(f"bearer {TOKEN}")
    assert not auth.check(None) and not auth.check("") and not auth.check(f"Bearer {TOKEN[:-1]}")
    assert TOKEN not in repr(auth)
    assert BearerAuth(None).check(None)


def test_unpack_chat_templates_and_labels() -> None:
    unpack = Unpacker(GetRewardConfig()).unpack
    llama = (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nThe long document."
        "\n\nQuestion: What is it?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    got = unpack(llama + "It is a document.<|eot_id|>", llama, "the reference").item
    assert got is not None
    assert (got.context, got.query, got.response, got.reference) == (
        "The long document.", "What is it?", "It is a document.", "the reference"
    )
    # the last "Question:" line splits: a context may quote questions itself
    prompt = "Doc says\nQuestion: inner?\nmore text\nQuestion: outer?"
    got = unpack(prompt + " answer", prompt, None).item
    assert got is not None and got.query == "outer?" and "inner?" in got.context
    # no split point
    miss = unpack("whole text", "other prompt", None)
    assert miss.item is None and miss.reason and miss.reason.startswith("bad_request")
    assert unpack("no question here. answer", "no question here.", None).item is None
    # a separator takes over when prompts are absent
    sep = Unpacker(GetRewardConfig(response_separator="<|im_start|>assistant\n")).unpack
    text = "<|im_start|>user\nCtx.\nQuestion: Q?<|im_end|>\n<|im_start|>assistant\nA!<|im_end|>"
    got = sep(text, None, '{"reference": "R", "other": 1}').item
    assert got is not None and (got.context, got.query, got.response, got.reference) == (
        "Ctx.", "Q?", "A!", "R"
    )


def test_prompt_pattern_needs_both_groups() -> None:
    with pytest.raises(ValueError, match="named groups"):
        GetRewardConfig(prompt_pattern=r"(?P<context>.*)")


def test_serve_section_and_score_sections_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text("judge:\n  max_concurrency: 3\nserve:\n  max_batch_items: 5\n")
    score, serve = load_configs(path, {"judge": {"timeout": 9.0}})
    assert (score.judge.max_concurrency, score.judge.timeout) == (3, 9.0)
    assert serve == ServeConfig(max_batch_items=5)
    path.write_text("serve:\n  max_batch: 5\n")
    with pytest.raises(ConfigError, match="max_batch"):
        load_configs(path)


def test_read_limited_and_gate() -> None:
    async def stream(parts: list[bytes]) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async def run() -> None:
        assert await read_limited(stream([b"ab", b"cd"]), None, 4) == b"abcd"
        with pytest.raises(BodyTooLarge):
            await read_limited(stream([b"ab", b"cde"]), None, 4)
        with pytest.raises(BodyTooLarge):
            await read_limited(stream([]), "5", 4)
        gate = RequestGate(max_concurrent=1, timeout=0.2)
        assert await gate.run(lambda: asyncio.sleep(0, result=7)) == 7
        slow = asyncio.ensure_future(gate.run(lambda: asyncio.sleep(0.15)))
        await asyncio.sleep(0.01)
        with pytest.raises(RequestTimeout):  # waits for the only slot, then runs out of time
            await gate.run(lambda: asyncio.sleep(0.1))
        await slow

    asyncio.run(run())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LONGJUDGE_API_TOKEN"}
    code = "from longjudge.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "serve", "--judge", "mock/schema", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2
    assert "no API token" in done.stderr


def test_cli_serves_with_a_token_and_never_prints_it(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "LONGJUDGE_API_TOKEN": TOKEN, "LONGJUDGE_CACHE_DIR": str(tmp_path)}
    code = "from longjudge.cli import main; main()"
    config = tmp_path / "serve.yaml"
    config.write_text("longreward:\n  dimensions: [helpfulness, logicality]\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--judge", "mock/schema", "--port", str(port),
         "--config", str(config)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        item = {"context": "A short document.", "query": "What is it?", "response": "A doc."}
        refused = httpx.post(url + "/v1/rewards", json={"items": [item]})
        assert refused.status_code == 401
        headers = {"Authorization": f"Bearer {TOKEN}"}
        ok = httpx.post(url + "/v1/rewards", json={"items": [item]}, headers=headers, timeout=60)
        assert ok.status_code == 200
        (reward,) = ok.json()["rewards"]
        assert set(reward["dimensions"]) == {"helpfulness", "logicality"}
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "auth on" in output
    assert TOKEN not in output
