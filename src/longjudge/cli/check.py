"""``longjudge check-judge``: one real structured call, to see that a judge is reachable and
whether it enforces the JSON schema, before a long job depends on it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..config import JudgeConfig, load_config
from ..errors import LongJudgeError, ParseError
from ..judges.base import Judge, JudgeRequest, JudgeResponse
from ..judges.registry import create_judge
from ..prompts.base import new_nonce, with_verdict_block
from ..prompts.check import CHECK_PROMPT, DEFAULT_QUESTION, CheckOut, check_request
from ..serve.config import ServeFile
from .app import app, console, out


async def _send(judge: Judge, request: JudgeRequest, nonce: str | None) -> JudgeResponse:
    """One call, with the verdict block asked for when ``nonce`` is set (as the client does)."""
    sent = request if nonce is None else with_verdict_block(request, nonce)
    try:
        response = await judge.generate(sent)
    except Exception as exc:
        classified = judge.classify_error(exc)
        if classified is None:
            raise  # a bug, not a judge failure
        raise classified from exc
    return response.model_copy(update={"verdict_nonce": nonce})


@dataclass
class CheckResult:
    """What one check call showed."""

    latency: float
    response: JudgeResponse
    dialect: str
    answer: CheckOut | None
    problem: str | None


def describe_dialect(judge: Judge, response: JudgeResponse) -> str:
    """How the schema was sent: the openai backend's dialect, or the local grammar."""
    if not response.structured:
        return "none (prompt only, verdict read from a nonce-marked block)"
    dialect = getattr(judge, "dialect", None)
    if isinstance(dialect, str):
        return dialect
    return "json_object (grammar)" if judge.backend == "local" else "backend-specific"


async def run_check(judge: Judge, question: str, max_tokens: int) -> CheckResult:
    """Send the check request once (no cache, no retry) and parse the answer."""
    request = check_request(question, max_tokens=max_tokens)
    start = time.perf_counter()
    try:
        nonce = None if judge.enforces_schema() else new_nonce()
        response = await _send(judge, request, nonce)
        if nonce is None and not judge.enforces_schema():
            # ``auto`` fell back to plain prompting during the call: ask as a real job would.
            nonce = new_nonce()
            response = await _send(judge, request, nonce)
    finally:
        latency = time.perf_counter() - start
    try:
        answer: CheckOut | None = CHECK_PROMPT.parse(response)
        problem = None
    except ParseError as exc:
        answer, problem = None, str(exc)
    return CheckResult(latency, response, describe_dialect(judge, response), answer, problem)


def _judge_config(config_file: Path | None, flags: dict[str, Any]) -> JudgeConfig:
    """The judge section of a score or server config file (validated whole) under ``flags``."""
    given = {k: v for k, v in flags.items() if v is not None}
    return load_config(ServeFile, config_file, {"judge": given}).judge


def _print(spec: str, result: CheckResult) -> None:
    response = result.response
    enforced = "yes" if response.structured else "no"
    rows = [
        ("judge", spec),
        ("latency", f"{result.latency:.2f} s"),
        ("structured", f"{enforced}, dialect {result.dialect}"),
        ("tokens", f"prompt {response.prompt_tokens}, completion {response.completion_tokens}"),
        ("finish", ", ".join(str(r) for r in response.finish_reasons) or "unknown"),
        ("answer", result.answer.model_dump_json() if result.answer else "(unusable)"),
    ]
    for name, value in rows:
        out.print(f"{name:<11} {escape(value)}")


@app.command("check-judge")
def check_judge(
    judge: Annotated[str, typer.Option("--judge", help="Judge spec, e.g. openai/<model>.")],
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible base URL.")
    ] = None,
    structured_output: Annotated[
        str | None,
        typer.Option(
            "--structured-output", help="Schema dialect: auto, json_schema, json_object or none."
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option("--api-key-env", help="Environment variable that holds the API key."),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds before the call is abandoned.")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file; its judge: section is used.")
    ] = None,
    question: Annotated[str, typer.Option("--question", help="The yes/no question.")] = (
        DEFAULT_QUESTION
    ),
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Completion budget.")] = 64,
) -> None:
    """Make one real structured call: latency, schema enforcement, tokens and the answer."""
    try:
        judge_config = _judge_config(
            config,
            {
                "base_url": base_url,
                "structured_output": structured_output,
                "api_key_env": api_key_env,
                "timeout": timeout,
            },
        )
        backend = create_judge(judge, judge_config)
    except LongJudgeError as exc:
        console.print(f"[red]check failed:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None

    async def go() -> CheckResult:
        try:
            return await run_check(backend, question, max_tokens)
        finally:
            await backend.aclose()

    try:
        result = asyncio.run(go())
    except LongJudgeError as exc:
        console.print(f"[red]check failed:[/red] the judge call failed: {escape(str(exc))}")
        raise typer.Exit(1) from None
    _print(judge, result)
    if result.problem is not None:
        raw = result.response.text[:200]
        console.print(
            f"[red]check failed:[/red] the judge answered, but the output is unusable "
            f"({escape(result.problem)}); raw output: {escape(raw)!r}"
        )
        raise typer.Exit(1)
    if not result.response.structured:
        console.print(
            "[yellow]note:[/yellow] the schema was not enforced by the server; verdicts are "
            "read from a nonce-marked block and more of them may end unscored"
        )


__all__ = ["CheckResult", "check_judge", "describe_dialect", "run_check"]
