"""``longjudge serve``: the reward server (LongReward or S2L-RM over HTTP) for online RL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import ConfigError
from .app import app, console, flag_layer


@app.command("serve")
def serve(
    judge: Annotated[str, typer.Option("--judge", "-j", help="Judge spec.")] = (
        "local/gemma-3-270m"
    ),
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible URL.")
    ] = None,
    method: Annotated[
        str, typer.Option("--method", "-m", help="longreward, s2l or longbench-chat.")
    ] = "longreward",
    rm: Annotated[
        str | None, typer.Option("--rm", help="S2L reward model: hf/PATH or http/URL.")
    ] = None,
    variant: Annotated[
        str | None, typer.Option("--variant", help="S2L: r(q,y), +ref, +ref+trust.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML config: the sections of `score` plus `serve:`."),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 8000,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="File whose first line is the token.")
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve WITHOUT authentication (trusted networks).")
    ] = False,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Judge requests in flight.")
    ] = None,
    allow_from: Annotated[
        str | None,
        typer.Option(
            "--allow-from",
            help="CIDR[,CIDR] or 'loopback': accept requests WITHOUT a token from these "
            "networks (OpenRLHF's client sends none); others still need the token.",
        ),
    ] = None,
) -> None:
    """Serve rewards over HTTP: /v1/rewards, /get_reward (OpenRLHF), /health, /metrics."""
    from ..serve.auth import resolve_token, token_file_is_private
    from ..serve.server import ServerSettings, access_summary, load_configs, run_server

    flags = flag_layer(
        judge__base_url=base_url,
        judge__max_concurrency=concurrency,
        judge__initial_concurrency=concurrency,
        s2l__rm=rm,
        s2l__variant=variant,
    )
    if allow_from is not None and not allow_from.strip():
        raise ConfigError("--allow-from needs networks (CIDR[,CIDR]) or the word 'loopback'")
    serve_flags = flag_layer(allow_from=[allow_from] if allow_from is not None else None)
    score_cfg, serve_cfg = load_configs(config, flags, serve_flags)
    token = resolve_token(token_file, serve_cfg.token_env, no_auth)
    access = access_summary(serve_cfg, token)
    if token_file is not None and token is not None and not token_file_is_private(token_file):
        console.print(f"[yellow]warning:[/yellow] {token_file} is readable by other users")
    settings = ServerSettings(judge, method, score_cfg, serve_cfg, host, port)
    console.print(
        f"serving {method} with judge {judge} on http://{host}:{port} "
        f"(auth {'on' if token else 'OFF'}: {access})"
    )
    run_server(settings, token)
