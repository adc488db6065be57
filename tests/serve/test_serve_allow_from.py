"""`serve.allow_from` / `--allow-from`: tokenless requests from trusted networks only.

OpenRLHF's remote reward client (openrlhf is not installable here: it pins deepspeed and
flash-attn) is replicated faithfully: ``openrlhf/utils/remote_rm_utils.py`` (releases up to
0.9) posts ``{"query", "prompts", "labels"}`` with ``requests.post(url, json=data,
headers={"Content-Type": "application/json"}, timeout=180)``, raises for the status and returns
``response.json()["rewards"]``; ``SingleTurnAgentExecutor._fetch_rewards_via_http`` in
``openrlhf/utils/agent.py`` (0.10+) posts the same body, one query at a time, with aiohttp's
``session.post(url, json=data)`` (again no header but the content type) and reads ``rewards``
(``scores`` when the server sends it). Neither can send a bearer token.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from pydantic import ValidationError
from typer.testing import CliRunner

from longjudge.cli import app as cli_app
from longjudge.errors import ConfigError
from longjudge.serve.app import create_app
from longjudge.serve.auth import BearerAuth
from longjudge.serve.config import ServeConfig
from longjudge.serve.network import AllowFrom, parse_networks
from longjudge.serve.server import access_summary, serve_in_thread
from longjudge.serve.service import RewardService
from tests.serve_data import PROMPTS, RESPONSES, TOKEN, make_scorer


def openrlhf_request_api_wrapper(url: str, data: dict[str, Any], score_key: str = "rewards") -> Any:
    """OpenRLHF's request, as its remote reward client sends it (a single try here)."""
    headers = {"Content-Type": "application/json"}
    response = requests.post(url=url, json=data, headers=headers, timeout=180)
    response.raise_for_status()
    body = response.json()
    assert score_key in body, f"{score_key} not in {body}"
    return body.get(score_key)


def openrlhf_single_query(url: str, query: str, prompt: str, label: str) -> Any:
    """OpenRLHF 0.10+'s per-rollout request: one query, no header but the content type."""
    payload = {"query": [query], "prompts": [prompt], "labels": [label]}
    with httpx.Client(timeout=180) as client:  # aiohttp upstream; same body, same headers
        response = client.post(url, json=payload)
        response.raise_for_status()
        info = response.json()
    score = info.get("scores")
    return score if score is not None else info.get("rewards")


def chatml(ctx: str, question: str) -> str:
    return f"<|im_start|>user\n{ctx}\n\nQuestion: {question}<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def scorer_service() -> RewardService:
    return RewardService(make_scorer())


@pytest.fixture
def server(request: pytest.FixtureRequest, scorer_service: RewardService) -> Iterator[str]:
    config = ServeConfig(allow_from=request.param)
    with serve_in_thread(create_app(scorer_service, config, BearerAuth(TOKEN))) as url:
        yield url


@pytest.mark.parametrize("server", [["loopback"]], indirect=True)
def test_openrlhf_client_gets_rewards_from_a_trusted_network(server: str) -> None:
    (ctx0, q0), (ctx1, q1) = PROMPTS[0], PROMPTS[1]
    prompts = [chatml(ctx0, q0), chatml(ctx1, q1)]
    queries = [p + r + "<|im_end|>" for p, r in zip(prompts, RESPONSES[:2])]
    rewards = openrlhf_request_api_wrapper(
        server + "/get_reward", {"query": queries, "prompts": prompts, "labels": ["", ""]}
    )
    assert len(rewards) == 2 and all(isinstance(r, float) for r in rewards)
    single = openrlhf_single_query(server + "/get_reward", queries[0], prompts[0], "")
    assert single == [rewards[0]]
    # a request that does send a token is checked as usual, even from a trusted network
    wrong = httpx.post(server + "/get_reward", json={"query": queries},
                       headers={"Authorization": "Bearer not-the-token-0123456789"})
    assert wrong.status_code == 401
    right = httpx.post(server + "/get_reward", json={"query": queries, "prompts": prompts},
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.json()["rewards"] == rewards


@pytest.mark.parametrize("server", [["10.0.0.0/8", "192.168.0.0/16"]], indirect=True)
def test_other_networks_still_need_the_token(server: str) -> None:
    with pytest.raises(requests.HTTPError, match="401"):
        openrlhf_request_api_wrapper(server + "/get_reward", {"query": ["x"], "prompts": ["x"]})
    assert httpx.get(server + "/metrics").status_code == 401
    authorized = httpx.post(server + "/get_reward", json={"query": ["x"], "prompts": ["x"]},
                            headers={"Authorization": f"Bearer {TOKEN}"})
    assert authorized.status_code == 200


@pytest.mark.parametrize("server", [[]], indirect=True)
def test_without_allow_from_every_tokenless_request_is_refused(server: str) -> None:
    response = requests.post(server + "/get_reward", json={"query": ["x"]},
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 401


def test_networks_parse_and_match() -> None:
    allow = AllowFrom(["loopback", "10.1.0.0/16,2001:db8::/32"])
    assert allow.describe() == "127.0.0.0/8, ::1/128, 10.1.0.0/16, 2001:db8::/32"
    for host in ("127.0.0.1", "127.9.9.9", "::1", "10.1.200.3", "2001:db8::5", "::ffff:127.0.0.1",
                 "::ffff:10.1.0.9"):
        assert allow.permits(host), host
    for host in ("10.2.0.1", "192.168.1.1", "::2", "2001:db9::1", None, "", "localhost",
                 "/tmp/socket"):
        assert not allow.permits(host), host
    assert not AllowFrom([]).permits("127.0.0.1")
    assert [str(n) for n in parse_networks(["10.0.0.7"])] == ["10.0.0.7/32"]
    with pytest.raises(ValueError, match=r"10\.0\.0\.1/8"):
        parse_networks(["10.0.0.1/8"])  # host bits set: say what was meant
    with pytest.raises(ValidationError, match="not a network"):
        ServeConfig(allow_from=["everyone"])
    assert ServeConfig(allow_from=["loopback"]).allow_from == ["127.0.0.0/8", "::1/128"]


def test_access_is_summarised_and_contradictions_refused() -> None:
    assert access_summary(ServeConfig(), TOKEN) == "bearer token required from every network"
    line = access_summary(ServeConfig(allow_from=["loopback"]), TOKEN)
    assert line.startswith("requests without a token accepted from 127.0.0.0/8, ::1/128")
    assert TOKEN not in line
    assert access_summary(ServeConfig(), None).startswith("authentication OFF")
    with pytest.raises(ConfigError, match="needs a token"):
        access_summary(ServeConfig(allow_from=["loopback"]), None)


def test_cli_flag_is_validated_before_serving() -> None:
    runner = CliRunner()
    result = runner.invoke(cli_app, ["serve", "--judge", "openai/x", "--no-auth",
                                     "--allow-from", "loopback"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError) or "needs a token" in result.output
    result = runner.invoke(cli_app, ["serve", "--judge", "openai/x", "--no-auth",
                                     "--allow-from", "not-a-net"])
    assert result.exit_code != 0
    assert "not a network" in (str(result.exception) + result.output)


def test_cli_serve_allow_from_end_to_end(tmp_path: Path) -> None:
    """`longjudge serve --allow-from loopback` in its own process: says who may call at start,
    and OpenRLHF's tokenless request from loopback gets rewards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "LONGJUDGE_API_TOKEN": TOKEN, "LONGJUDGE_CACHE_DIR": str(tmp_path)}
    config = tmp_path / "serve.yaml"
    config.write_text("longreward:\n  dimensions: [helpfulness, logicality]\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from longjudge.cli import main; main()", "serve", "--judge",
         "mock/schema", "--port", str(port), "--config", str(config), "--allow-from", "loopback"],
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
        ctx, question = PROMPTS[0]
        prompt = chatml(ctx, question)
        rewards = openrlhf_request_api_wrapper(
            url + "/get_reward", {"query": [prompt + RESPONSES[0]], "prompts": [prompt],
                                  "labels": [""]})
        assert len(rewards) == 1 and isinstance(rewards[0], float)
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    flat = " ".join(output.split())
    assert "requests without a token accepted from 127.0.0.0/8, ::1/128" in flat
    assert TOKEN not in output
