"""``python -m longjudge.testing.fake_judge``: run the fake judge server in the foreground."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config import build_config, load_yaml
from ..errors import ConfigError
from .fake_config import FakeJudgeConfig


def parse_mix(text: str) -> dict[str, float]:
    """``rate_limit=2,drop=1`` -> ``{"rate_limit": 2.0, "drop": 1.0}``."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition("=")
        try:
            mix[name.strip()] = float(weight) if sep else 1.0
        except ValueError as exc:
            raise ConfigError(f"--fault-mix: bad weight in {part!r}") from exc
    return mix


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m longjudge.testing.fake_judge",
        description="A fake OpenAI-compatible judge server with latency, capacity and faults.",
    )
    p.add_argument("--host", default="127.0.0.1", help="Address to bind (default loopback).")
    p.add_argument("--port", type=int, default=8099, help="Port to listen on (0: any free).")
    p.add_argument("--port-file", help="Write the bound port to this file once listening.")
    p.add_argument("--config", help="YAML file with FakeJudgeConfig fields.")
    p.add_argument("--model", help="Model name listed by /v1/models.")
    p.add_argument("--latency", type=float, help="Seconds each request holds a serving slot.")
    p.add_argument("--capacity", type=int, help="Requests served at once.")
    p.add_argument("--overflow", choices=["queue", "reject"],
                   help="Past capacity: queue requests (default) or answer 429 at once.")
    p.add_argument("--latency-per-load", type=float,
                   help="Extra latency per other request in service (latency grows with load).")
    p.add_argument("--fault-rate", type=float, help="Share of requests that get a fault (0-1).")
    p.add_argument("--fault-mix", help="Weights per fault kind, e.g. rate_limit=2,drop=1.")
    p.add_argument("--max-faults", type=int, help="Stop injecting faults after this many.")
    p.add_argument("--seed", type=int, help="Seed of the fault generator.")
    p.add_argument("--retry-after", type=float, help="Retry-After seconds of a 429.")
    p.add_argument("--hang-seconds", type=float, help="How long a hang lasts at most.")
    p.add_argument("--reject-json-schema", action="store_true", default=None,
                   help="Answer 500 to response_format json_schema, like llama.cpp's server.")
    p.add_argument("--log-file", help="Append one JSON line per request to this file.")
    return p


def config_from_args(args: argparse.Namespace) -> FakeJudgeConfig:
    flags: dict[str, Any] = {
        key: getattr(args, key)
        for key in ("model", "latency", "capacity", "overflow", "latency_per_load", "fault_rate",
                    "max_faults", "seed", "retry_after", "hang_seconds", "reject_json_schema",
                    "log_file")
        if getattr(args, key) is not None
    }
    if args.fault_mix:
        flags["fault_mix"] = parse_mix(args.fault_mix)
    file_layer = load_yaml(args.config) if args.config else None
    return build_config(FakeJudgeConfig, file_layer, flags)


def main(argv: list[str] | None = None) -> None:
    import socket
    from pathlib import Path

    import uvicorn

    from .fake_app import FakeJudgeApp, uvicorn_config

    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))  # bound here so that --port 0 can report its port
    port = int(sock.getsockname()[1])
    app = FakeJudgeApp(config)
    server = uvicorn.Server(uvicorn_config(app, args.host, port))
    print(f"fake judge on http://{args.host}:{port}/v1", file=sys.stderr, flush=True)
    if args.port_file:
        Path(args.port_file).write_text(str(port), encoding="utf-8")
    try:
        server.run(sockets=[sock])
    finally:
        app.close()
        sock.close()


__all__ = ["build_parser", "config_from_args", "main", "parse_mix"]
