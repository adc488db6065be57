"""How longjudge builds llama.cpp (llama-cpp-python): a portable CPU baseline, never native.

llama.cpp's default build compiles for the CPU it is built on (``-march=native``) and switches on
every extension it finds there. Two things go wrong on users' machines:

- on a Xeon with AMX, the native build of llama-cpp-python 0.3.36 dies with SIGSEGV on the first
  decode of the packaged Gemma (AMX_INT8 kernels);
- a wheel built on one machine and used on another (a shared virtualenv, a Docker image, a pip
  wheel cache) dies with SIGILL when the second CPU lacks one of the first one's extensions.

So every install path of the project builds for a fixed baseline of its architecture:

======================  ===================================================================
x86-64 with AVX2        AVX, AVX2, FMA, F16C (x86-64-v3: nearly every x86 CPU since 2015);
                        AVX-512, AVX-VNNI and AMX off (absent on most AMD and client CPUs,
                        and AMX is the crash above)
x86-64 without AVX2     SSE only (old or emulated CPUs)
aarch64 and the rest    the compiler's portable default for the architecture (no native flag)
======================  ===================================================================

``LONGJUDGE_LLAMA_CMAKE_ARGS`` replaces the flags entirely (README, "Unusual CPUs").

This file imports nothing from longjudge: ``scripts/build-llama-wheel`` runs it as a plain script
(``python src/longjudge/judges/llama_build.py``) before longjudge is installed, and the ``local``
backend imports it to print the exact rebuild command when a build crashes.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from pathlib import Path

#: The llama-cpp-python release the project builds and tests.
LLAMA_CPP_VERSION = "0.3.36"

#: Extensions that are never compiled into the portable x86-64 build.
_X86_OFF = (
    "AVX512",
    "AVX512_VBMI",
    "AVX512_VNNI",
    "AVX512_BF16",
    "AVX_VNNI",
    "AMX_TILE",
    "AMX_INT8",
    "AMX_BF16",
)
_X86_V3 = ("AVX", "AVX2", "FMA", "F16C")


def cpu_flags() -> set[str]:
    """The CPU feature flags the kernel reports (empty where /proc/cpuinfo is unreadable)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def portable_cmake_args(machine: str | None = None, flags: set[str] | None = None) -> str:
    """The CMake flags of the portable build for ``machine`` (default: this one)."""
    override = os.environ.get("LONGJUDGE_LLAMA_CMAKE_ARGS", "").strip()
    if override:
        return override
    machine = (machine or platform.machine()).lower()
    if machine not in ("x86_64", "amd64"):
        return "-DGGML_NATIVE=OFF"
    flags = cpu_flags() if flags is None else flags
    state = "ON" if "avx2" in flags else "OFF"
    args = ["-DGGML_NATIVE=OFF"]
    args += [f"-DGGML_{name}={state}" for name in _X86_V3]
    args += [f"-DGGML_{name}=OFF" for name in _X86_OFF]
    return " ".join(args)


def rebuild_command(version: str = LLAMA_CPP_VERSION) -> str:
    """The one shell command that reinstalls llama-cpp-python portably, bypassing pip's cache."""
    return (
        f"CMAKE_ARGS={shlex.quote(portable_cmake_args())} FORCE_CMAKE=1 "
        "pip install --force-reinstall --no-deps --no-cache-dir --no-binary llama-cpp-python "
        f"'llama-cpp-python=={version}'"
    )


def notable_cpu_flags(flags: set[str] | None = None) -> list[str]:
    """The flags that decide which llama.cpp kernels run (AVX*, AMX*, FMA, F16C, NEON, SVE...)."""
    flags = cpu_flags() if flags is None else flags
    keep = ("avx", "amx", "fma", "f16c", "asimd", "sve", "neon")
    return sorted(flag for flag in flags if flag.startswith(keep))


if __name__ == "__main__":
    if sys.argv[1:] == ["--version"]:
        print(LLAMA_CPP_VERSION)
    elif sys.argv[1:] == ["--rebuild-command"]:
        print(rebuild_command())
    else:
        print(portable_cmake_args())
