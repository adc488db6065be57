"""Prove a llama.cpp build in a child process before the ``local`` backend uses it in-process.

A llama.cpp build that does not suit the CPU (see :mod:`longjudge.judges.llama_build`) does not
raise a Python error: it kills the process with SIGSEGV or SIGILL on the first decode, and the
user's job is gone without a word. So the first time a model file is loaded with a given build,
a child process loads it and generates a few grammar-constrained tokens. A child that exits
cleanly is remembered (a small JSON file keyed by the build's and the model's fingerprint), and
later loads skip the probe; a child killed by a signal becomes a :class:`ConfigError` in the
parent that says what happened, which CPU features are involved and the exact command that
rebuilds llama-cpp-python portably. Failures are not remembered: a rebuilt library changes the
fingerprint anyway, and a one-off kill (the OOM killer) must not stick.

Run as ``python -m longjudge.judges.llama_probe MODEL.gguf N_THREADS``: that is the child.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .llama_build import notable_cpu_flags, rebuild_command

#: Seconds a probe may take (load + a few tokens takes ~2 s on 2 cores; a busy machine is slower).
PROBE_TIMEOUT_S = 300.0


def probes_dir() -> Path:
    """Where proofs are remembered: $LONGJUDGE_PROBES_DIR or ~/.cache/longjudge/probes."""
    root = os.environ.get("LONGJUDGE_PROBES_DIR")
    return Path(root) if root else Path.home() / ".cache" / "longjudge" / "probes"


def _describe(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def build_fingerprint(model_path: Path) -> str:
    """What identifies (llama.cpp build, model file): the shared libraries and the GGUF's stat."""
    import llama_cpp

    package = Path(llama_cpp.__file__).parent
    libs = sorted(p for p in package.rglob("*") if p.suffix in (".so", ".dylib", ".dll"))
    parts = [str(getattr(llama_cpp, "__version__", "?")), *map(_describe, libs)]
    parts.append(_describe(model_path))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def probe_command(model_path: Path, n_threads: int) -> list[str]:
    """The child's command line (a function so that a test can make a child die for real)."""
    return [sys.executable, "-m", "longjudge.judges.llama_probe", str(model_path), str(n_threads)]


def ensure_build_works(model_path: Path, n_threads: int) -> None:
    """Probe ``model_path`` with this llama.cpp build once; raise ConfigError if the child dies."""
    record = probes_dir() / f"{build_fingerprint(model_path)}.json"
    if record.is_file():
        return
    command = probe_command(model_path, n_threads)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ConfigError(
            f"the llama.cpp build did not finish a {PROBE_TIMEOUT_S:.0f} s test generation with "
            f"{model_path.name} in a child process; if the machine is not simply overloaded, "
            f"rebuild llama-cpp-python portably:\n  {rebuild_command()}"
        ) from exc
    if done.returncode < 0:
        raise ConfigError(crash_message(model_path, -done.returncode, done.stderr))
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise ConfigError(
            f"loading {model_path.name} with llama.cpp failed in a test child process "
            f"(exit {done.returncode}):\n{tail}"
        )
    record.parent.mkdir(parents=True, exist_ok=True)
    partial = record.with_name(f"{record.name}.{os.getpid()}.part")
    partial.write_text(done.stdout.strip() or "{}")
    os.replace(partial, record)


def crash_message(model_path: Path, signum: int, stderr: str) -> str:
    """What the user reads when the child was killed by ``signum``."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    flags = ", ".join(notable_cpu_flags()) or "unknown"
    lines = [
        f"the embedded judge's llama.cpp build crashed ({name}) while loading and running "
        f"{model_path.name} in a test child process; longjudge did not load it in this process.",
        f"This CPU reports: {flags}.",
        "The usual cause is a llama.cpp compiled for another CPU or with native extensions that "
        "crash here (AMX, AVX-512). Rebuild llama-cpp-python for a portable baseline:",
        f"  {rebuild_command()}",
        "(README, 'Unusual CPUs', says how to choose other flags.)",
    ]
    tail = [line for line in stderr.strip().splitlines() if line.strip()][-3:]
    if tail:
        lines.append("Last lines of the child: " + " | ".join(tail))
    return "\n".join(lines)


def _child(model_path: str, n_threads: int) -> None:
    import faulthandler

    faulthandler.enable()  # a crash prints the Python stack to stderr before the signal kills us
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=model_path, n_ctx=512, n_threads=n_threads, logits_all=False, verbose=False
    )
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    out: Any = llm.create_chat_completion(
        messages=[{"role": "user", "content": 'Answer {"ok": true}.'}],
        max_tokens=8,
        temperature=0.0,
        response_format={"type": "json_object", "schema": schema},
    )
    info = llama_cpp.llama_print_system_info()
    print(
        json.dumps(
            {
                "llama_cpp": getattr(llama_cpp, "__version__", "?"),
                "system_info": info.decode() if isinstance(info, bytes) else str(info),
                "tokens": int(out.get("usage", {}).get("completion_tokens", 0)),
            }
        )
    )
    llm.close()


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]))
