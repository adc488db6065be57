"""The openai backend against a real OpenAI-compatible server: llama-cpp-python's server on the
packaged Gemma GGUF, started on a free loopback port and stopped after."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from longjudge.config import JudgeConfig
from longjudge.judges.base import JudgeRequest
from longjudge.judges.openai import OpenAIJudge
from longjudge.prompts.check import CHECK_PROMPT, check_request
from longjudge.runtime.cache import JudgeCache
from longjudge.runtime.client import JudgeClient
from tests.conftest import FAST_RETRY

pytest.importorskip("llama_cpp.server")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``python -m llama_cpp.server``; yield its base URL (ending in /v1).

    One thread: on a busy 2-core machine llama.cpp's two threads spin against each other and a
    64-token answer takes 20 s instead of 1 s.
    """
    from longjudge.judges.local import packaged_model_path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_model_path()),
         "--chat_format", "gemma", "--n_ctx", "2048", "--n_threads", "1",
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not come up within 120 s")
            time.sleep(0.25)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_auto_dialect_ends_on_json_object_and_the_output_validates(
    llama_server: str, tmp_path: Path
) -> None:
    judge = OpenAIJudge("gemma", JudgeConfig(base_url=llama_server, timeout=60))
    client = JudgeClient(judge, retry=FAST_RETRY, cache=JudgeCache(tmp_path / "c.sqlite"))

    async def go() -> None:
        try:
            out = await client.complete(check_request(), step="check", parse=CHECK_PROMPT.parse)
            assert out.answer in ("yes", "no")
            again = await client.complete(check_request(), step="check",
                                          parse=CHECK_PROMPT.parse)
            assert again == out
        finally:
            await client.aclose()

    asyncio.run(go())
    assert judge.dialect == "json_object"  # the server answered json_schema with a 500
    usage = client.usage.total()
    assert (usage.calls, usage.cache_hits) == (1, 1)
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0


def test_plain_completion_from_the_real_server(llama_server: str) -> None:
    judge = OpenAIJudge("gemma", JudgeConfig(base_url=llama_server, timeout=60))
    request = JudgeRequest(messages=({"role": "user", "content": "Say hello."},),
                           max_tokens=8)

    async def go() -> None:
        try:
            response = await judge.generate(request)
        finally:
            await judge.aclose()
        assert not response.structured
        assert response.finish_reasons[0] in ("stop", "length")
        assert response.completion_tokens > 0

    asyncio.run(go())
