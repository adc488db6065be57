"""The fake OpenAI-compatible judge server, over real HTTP on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from longjudge.errors import ConfigError
from longjudge.testing.fake_cli import build_parser, config_from_args, parse_mix
from longjudge.testing.fake_config import FakeJudgeConfig, FaultPlan
from longjudge.testing.fake_judge import FakeJudgeProcess, FakeJudgeServer
from tests.judge_helpers import fault_config


class Verdict(BaseModel):
    analysis: str
    score: int
    label: str


SCHEMA = Verdict.model_json_schema()
MESSAGES = [{"role": "user", "content": "Grade this answer, please."}]


def body(fmt: str | None = "json_schema", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"model": "m", "messages": MESSAGES, **extra}
    if fmt == "json_schema":
        out["response_format"] = {"type": "json_schema",
                                  "json_schema": {"name": "v", "schema": SCHEMA}}
    elif fmt == "json_object":
        out["response_format"] = {"type": "json_object", "schema": SCHEMA}
    return out


def post(server: FakeJudgeServer, payload: dict[str, Any], timeout: float = 5.0) -> httpx.Response:
    return httpx.post(f"{server.base_url}/chat/completions", json=payload, timeout=timeout)


def content(response: httpx.Response, index: int = 0) -> str:
    return str(response.json()["choices"][index]["message"]["content"])


def test_structured_answers_are_schema_valid_and_deterministic() -> None:
    with FakeJudgeServer() as server:
        first, again = post(server, body()), post(server, body())
        other = post(server, body(messages=[{"role": "user", "content": "Another request."}]))
        as_object = post(server, body("json_object"))
    assert first.status_code == 200
    Verdict.model_validate_json(content(first))
    Verdict.model_validate_json(content(as_object))
    assert content(first) == content(again)
    assert content(first) != content(other)
    choice = first.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"


def test_usage_is_chars_over_four() -> None:
    long_text = "x" * 400
    with FakeJudgeServer() as server:
        data = post(server, body(messages=[{"role": "user", "content": long_text}])).json()
    usage = data["usage"]
    assert usage["prompt_tokens"] == 100
    assert usage["completion_tokens"] == len(data["choices"][0]["message"]["content"]) // 4
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_n_choices_and_plain_text() -> None:
    with FakeJudgeServer() as server:
        several = post(server, body(n=3)).json()
        plain = post(server, body(None))
    assert [c["index"] for c in several["choices"]] == [0, 1, 2]
    for choice in several["choices"]:
        Verdict.model_validate_json(choice["message"]["content"])
    assert plain.status_code == 200
    text = content(plain)
    assert text and not text.lstrip().startswith("{")


def test_models_health_and_unknown_route() -> None:
    with FakeJudgeServer(FakeJudgeConfig(model="judge-x")) as server:
        models = httpx.get(f"{server.base_url}/models").json()
        health = httpx.get(server.base_url.removesuffix("/v1") + "/health")
        missing = httpx.get(f"{server.base_url}/nothing")
        bad = httpx.post(f"{server.base_url}/chat/completions", content=b"not json")
        stats = httpx.get(server.base_url.removesuffix("/v1") + "/stats").json()
    assert [(r["path"], r["status"]) for r in server.requests] == [
        ("/v1/models", 200), ("/v1/nothing", 404), ("/v1/chat/completions", 400)]
    assert stats["requests"] == 3  # /health and /stats are not logged
    assert [m["id"] for m in models["data"]] == ["judge-x"]
    assert health.json() == {"status": "ok"}
    assert missing.status_code == 404
    assert bad.status_code == 400


def test_scripted_outputs_see_the_request() -> None:
    seen: list[dict[str, Any]] = []

    def script(request: dict[str, Any]) -> str:
        seen.append(request)
        return '{"scripted": true}'

    with FakeJudgeServer(script=script) as server:
        response = post(server, body())
    assert content(response) == '{"scripted": true}'
    assert seen[0]["messages"] == MESSAGES


def test_reject_json_schema_like_llama_cpp() -> None:
    with FakeJudgeServer(FakeJudgeConfig(reject_json_schema=True)) as server:
        rejected = post(server, body("json_schema"))
        accepted = post(server, body("json_object"))
    assert rejected.status_code == 500
    assert "response_format" in rejected.json()["error"]["message"]
    assert accepted.status_code == 200
    Verdict.model_validate_json(content(accepted))


def test_rate_limit_fault_sends_retry_after() -> None:
    with FakeJudgeServer(fault_config("rate_limit", retry_after=2.5)) as server:
        response = post(server, body())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2.5"


@pytest.mark.parametrize("kind,status", [("server_error", 500), ("auth", 401)])
def test_status_faults(kind: str, status: int) -> None:
    with FakeJudgeServer(fault_config(kind)) as server:  # type: ignore[arg-type]
        response = httpx.post(f"{server.base_url}/chat/completions", json=body(),
                              headers={"Authorization": "Bearer tok-123"})
    assert response.status_code == status
    if kind == "auth":  # a careless server echoes the key: the client must scrub it
        assert "tok-123" in response.json()["error"]["message"]


def test_drop_closes_the_connection_without_a_response() -> None:
    with FakeJudgeServer(fault_config("drop")) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            post(server, body())
        assert server.requests[0]["fault"] == "drop"
        assert server.requests[0]["status"] is None


def test_hang_outlasts_the_client_timeout_and_stop_releases_it() -> None:
    server = FakeJudgeServer(fault_config("hang")).start()
    try:
        with pytest.raises(httpx.ReadTimeout):
            post(server, body(), timeout=0.3)
        # A second hanging request still open when the server stops is released, not leaked.
        errors: list[BaseException] = []

        def hang() -> None:
            try:
                post(server, body(), timeout=30)
            except httpx.HTTPError as exc:
                errors.append(exc)

        thread = threading.Thread(target=hang)
        thread.start()
        while len(server.requests) < 2:
            time.sleep(0.01)
    finally:
        server.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert errors and isinstance(errors[0], httpx.RemoteProtocolError)


def test_malformed_truncated_and_schema_invalid_outputs() -> None:
    with FakeJudgeServer(fault_config("malformed_json")) as server:
        malformed = post(server, body())
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.content)

    with FakeJudgeServer(fault_config("truncated")) as server:
        truncated = post(server, body()).json()
    assert truncated["choices"][0]["finish_reason"] == "length"
    with pytest.raises(ValueError):
        json.loads(truncated["choices"][0]["message"]["content"])

    with FakeJudgeServer(fault_config("schema_invalid")) as server:
        invalid = post(server, body())
    data = json.loads(content(invalid))  # valid JSON ...
    with pytest.raises(ValidationError):  # ... that the schema rejects
        Verdict.model_validate(data)


def test_fault_rate_mix_seed_and_max_faults() -> None:
    config = FakeJudgeConfig(fault_rate=0.5, fault_mix={"rate_limit": 1, "server_error": 3},
                             seed=7)
    plan_a, plan_b = FaultPlan(config), FaultPlan(config)
    seq_a = [plan_a.draw() for _ in range(400)]
    assert seq_a == [plan_b.draw() for _ in range(400)]  # seeded
    faults = [k for k in seq_a if k is not None]
    assert 120 < len(faults) < 280
    assert set(faults) == {"rate_limit", "server_error"}
    assert faults.count("server_error") > faults.count("rate_limit")
    capped = FaultPlan(FakeJudgeConfig(fault_rate=1.0, max_faults=3))
    assert [capped.draw() is not None for _ in range(5)] == [True, True, True, False, False]
    assert FaultPlan(FakeJudgeConfig()).draw() is None


def test_config_validation() -> None:
    with pytest.raises(ValidationError):
        FakeJudgeConfig(fault_rate=0.5, fault_mix={"drop": 0})
    with pytest.raises(ValidationError):
        FakeJudgeConfig(fault_mix={"not_a_fault": 1})  # type: ignore[dict-item]
    with pytest.raises(ValidationError):
        FakeJudgeConfig(latency=1, unknown=2)  # type: ignore[call-arg]


def test_capacity_bounds_requests_in_service() -> None:
    config = FakeJudgeConfig(capacity=2, latency=0.1)
    with FakeJudgeServer(config) as server:
        threads = [threading.Thread(target=post, args=(server, body())) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = server.stats
    assert stats["requests"] == 6
    assert stats["peak_in_service"] == 2
    assert stats["in_service"] == 0 and stats["waiting"] == 0


def test_request_log_in_memory_and_jsonl(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    config = FakeJudgeConfig(fault_rate=1.0, fault_mix={"rate_limit": 1}, max_faults=1,
                             log_file=str(log), record_bodies=True)
    with FakeJudgeServer(config) as server:
        post(server, body())
        post(server, body("json_object"))
        stats = server.stats
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["fault"], r["status"], r["response_format"]) for r in lines] == [
        ("rate_limit", 429, "json_schema"), (None, 200, "json_object")]
    assert all({"time", "path", "model"} <= set(r) and "body" not in r for r in lines)
    assert server.requests[0]["body"]["messages"] == MESSAGES
    assert stats["by_status"] == {"429": 1, "200": 1}
    assert stats["faults"] == {"rate_limit": 1}


def test_cli_flags_and_mix_parsing(tmp_path: Path) -> None:
    assert parse_mix("rate_limit=2, drop") == {"rate_limit": 2.0, "drop": 1.0}
    with pytest.raises(ConfigError):
        parse_mix("drop=lots")
    yaml_file = tmp_path / "fake.yaml"
    yaml_file.write_text("latency: 0.5\ncapacity: 4\n")
    args = build_parser().parse_args(
        ["--config", str(yaml_file), "--capacity", "9", "--fault-mix", "hang=1",
         "--fault-rate", "0.1", "--reject-json-schema"])
    config = config_from_args(args)
    assert (config.latency, config.capacity, config.fault_rate) == (0.5, 9, 0.1)
    assert config.fault_mix == {"hang": 1.0} and config.reject_json_schema
    with pytest.raises(ConfigError):
        config_from_args(build_parser().parse_args(["--fault-mix", "nonsense=1",
                                                    "--fault-rate", "0.1"]))


def test_module_runs_as_a_server_process(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "log.jsonl"
    output = (tmp_path / "server.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "longjudge.testing.fake_judge", "--port", str(port),
         "--log-file", str(log), "--model", "cli-judge"],
        stdout=output, stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        answer = httpx.post(f"{base}/v1/chat/completions", json=body(), timeout=5)
        Verdict.model_validate_json(content(answer))
        models = httpx.get(f"{base}/v1/models").json()
        assert models["data"][0]["id"] == "cli-judge"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        output.close()
    assert f"127.0.0.1:{port}/v1" in (tmp_path / "server.out").read_text()
    assert json.loads(log.read_text().splitlines()[0])["status"] == 200


def test_fake_judge_process_for_benchmarks(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    config = FakeJudgeConfig(model="proc-judge", capacity=3, log_file=str(log))
    with FakeJudgeProcess(config) as server:
        answer = httpx.post(f"{server.base_url}/chat/completions", json=body(), timeout=5)
        Verdict.model_validate_json(content(answer))
        models = httpx.get(f"{server.base_url}/models").json()
        stats = server.stats
    assert models["data"][0]["id"] == "proc-judge"
    assert stats["requests"] == 2 and stats["by_status"] == {"200": 2}
    assert [json.loads(line)["path"] for line in log.read_text().splitlines()] == [
        "/v1/chat/completions", "/v1/models"]
    with pytest.raises(httpx.HTTPError):  # stopped
        httpx.get(f"{server.base_url}/models", timeout=1)


def test_connections_disable_nagle() -> None:
    """Without TCP_NODELAY every answer stalls ~40 ms on a delayed ACK: C/L would be a lie."""
    import socket

    with FakeJudgeServer() as server, httpx.Client() as client:
        client.get(f"{server.base_url}/models")  # keep-alive: the connection stays open
        connections = list(server._server.server_state.connections)
        assert connections
        for connection in connections:
            sock = connection.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
