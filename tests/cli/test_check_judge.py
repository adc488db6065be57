"""``longjudge check-judge`` against the fake server (typer's CliRunner)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from longjudge.cli import app
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from tests.judge_helpers import fault_config


def check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["check-judge", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())


def test_a_healthy_server_passes_and_the_report_is_complete() -> None:
    with FakeJudgeServer() as server:
        code, output = check("--judge", "openai/fake-judge", "--base-url", server.base_url)
    assert code == 0, output
    assert "latency" in output and " s " in output
    assert "structured yes, dialect json_schema" in output
    request = server.requests[0]
    assert request["response_format"] == "json_schema" and request["model"] == "fake-judge"
    assert "tokens prompt" in output and "completion" in output
    assert '"answer":"yes"' in output or '"answer":"no"' in output


def test_auto_ends_on_json_object_against_a_llama_cpp_like_server() -> None:
    with FakeJudgeServer(FakeJudgeConfig(reject_json_schema=True)) as server:
        code, output = check("--judge", "openai/fake-judge", "--base-url", server.base_url)
    assert code == 0, output
    assert "dialect json_object" in output


def _answer_in_block(body: dict[str, Any]) -> str:
    """A judge that follows the verdict-block instruction, and then chats on."""
    import re

    (nonce,) = re.findall(r"<<<VERDICT (\w+)>>>", body["messages"][-1]["content"])
    block = f'<<<VERDICT {nonce}>>>\n{{"answer": "no"}}\n<<<END VERDICT {nonce}>>>'
    return block + '\nOr {"answer": "yes"}?'


def test_prompt_only_dialect_is_reported_as_not_enforced() -> None:
    with FakeJudgeServer(script=_answer_in_block) as server:
        code, output = check("--judge", "openai/fake-judge", "--base-url", server.base_url,
                             "--structured-output", "none")
    assert code == 0, output
    assert "structured no" in output and "not enforced" in output
    assert '{"answer":"no"}' in output.replace(" ", "")
    assert server.requests[0]["response_format"] is None


def test_config_file_judge_section(tmp_path: Path) -> None:
    with FakeJudgeServer(FakeJudgeConfig(reject_json_schema=True)) as server:
        config = tmp_path / "c.yaml"
        config.write_text(f"judge:\n  base_url: {server.base_url}\n"
                          "  structured_output: json_object\n")
        code, output = check("--judge", "openai/fake-judge", "--config", str(config))
    assert code == 0, output
    assert [r["response_format"] for r in server.requests] == ["json_object"]


@pytest.mark.parametrize("config,expected", [
    (fault_config("server_error"), "the judge call failed"),
    (fault_config("auth"), "Incorrect API key"),
    (fault_config("schema_invalid"), "output is unusable (schema_invalid"),
    (fault_config("truncated"), "output is unusable (truncated_output"),
    (FakeJudgeConfig(reject_json_schema=True), "structured_output"),
])
def test_failures_exit_1_with_a_clear_message(config: FakeJudgeConfig, expected: str) -> None:
    extra = ["--structured-output", "json_schema"] if config.reject_json_schema else []
    with FakeJudgeServer(config) as server:
        code, output = check("--judge", "openai/fake-judge", "--base-url", server.base_url,
                             *extra)
    assert code == 1
    assert "check failed" in output and expected in output
    assert len(server.requests) == 1  # one call, never retried


def test_unreachable_server_and_bad_spec_exit_1() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, output = check("--judge", "openai/x", "--base-url", f"http://127.0.0.1:{port}/v1",
                         "--timeout", "5")
    assert code == 1 and "connection error" in output.lower()
    code, output = check("--judge", "no-slash-here")
    assert code == 1 and "backend/model" in output
    code, output = check("--judge", "openai/x", "--structured-output", "xml")
    assert code == 1 and "structured_output" in output


# run_check and JudgeClient.ask directly: the call a job makes, once, without the CLI.

def test_run_check_against_the_fake_server_reports_the_dialect_that_worked() -> None:
    import asyncio

    from longjudge.config import JudgeConfig
    from longjudge.judges.registry import create_judge
    from longjudge.prompts.check import DEFAULT_QUESTION
    from longjudge.runtime.check import run_check

    async def go(judge: Any) -> Any:
        try:
            return await run_check(judge, DEFAULT_QUESTION, 64)
        finally:
            await judge.aclose()

    with FakeJudgeServer(FakeJudgeConfig(reject_json_schema=True)) as server:
        judge = create_judge("openai/fake-judge", JudgeConfig(base_url=server.base_url))
        result = asyncio.run(go(judge))
    assert result.dialect == "json_object" == judge.schema_dialect()
    assert result.answer is not None and result.problem is None
    assert result.response.verdict_nonce is None and result.latency > 0
    # json_schema refused (500), then json_object: the backend's own fallback, no retry
    assert [r["response_format"] for r in server.requests] == ["json_schema", "json_object"]


def test_run_check_without_schema_enforcement_reads_the_verdict_block() -> None:
    import asyncio

    from longjudge.judges.mock import MockJudge
    from longjudge.runtime.check import run_check

    def answer(request: Any) -> str:
        import re

        (nonce,) = re.findall(r"<<<VERDICT (\w+)>>>", request.messages[-1]["content"])
        block = f'<<<VERDICT {nonce}>>>{{"answer": "no"}}<<<END VERDICT {nonce}>>>'
        return '{"answer": "yes"} ' + block

    judge = MockJudge(answer, structured=False)
    result = asyncio.run(run_check(judge, "Is it?", 64))
    assert result.response.verdict_nonce is not None
    assert result.answer is not None and result.answer.answer == "no"
    assert result.dialect.startswith("none") and judge.schema_dialect() == "none"
    assert judge.calls == 1


def test_run_check_raises_a_judge_error_after_one_attempt() -> None:
    import asyncio

    from longjudge.errors import TransientJudgeError
    from longjudge.judges.mock import MockJudge
    from longjudge.runtime.check import run_check

    judge = MockJudge([TransientJudgeError("busy"), '{"answer": "yes"}'])
    with pytest.raises(TransientJudgeError, match="busy"):
        asyncio.run(run_check(judge, "Is it?", 64))
    assert judge.calls == 1  # never retried
    assert judge.schema_dialect() == "backend-specific"


def test_an_unusable_answer_is_a_problem_not_an_exception() -> None:
    import asyncio

    from longjudge.judges.mock import MockJudge
    from longjudge.runtime.check import run_check

    result = asyncio.run(run_check(MockJudge(['{"answer": "maybe"}']), "Is it?", 64))
    assert result.answer is None and result.problem is not None
