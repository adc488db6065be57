"""``longjudge check-judge``: one real structured call, to see that a judge is reachable and
whether it enforces the JSON schema, before a long job depends on it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..config import JudgeConfig, load_config
from ..errors import LongJudgeError
from ..judges.registry import create_judge
from ..prompts.check import DEFAULT_QUESTION
from ..runtime.check import CheckResult, run_check
from ..serve.config import ServeFile
from .app import app, console, out


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


__all__ = ["check_judge"]
