"""The embedded judge on machines we cannot see: portable build flags, and a crash made an error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from longjudge.config import JudgeConfig
from longjudge.errors import ConfigError
from longjudge.judges import llama_probe
from longjudge.judges.llama_build import notable_cpu_flags, portable_cmake_args, rebuild_command

REPO = Path(__file__).resolve().parents[2]


def test_x86_baseline_is_v3_without_avx512_or_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LONGJUDGE_LLAMA_CMAKE_ARGS", raising=False)
    amx_cpu = {"avx2", "fma", "f16c", "avx512f", "avx512_vnni", "amx_int8", "amx_tile"}
    args = portable_cmake_args("x86_64", amx_cpu).split()
    assert "-DGGML_NATIVE=OFF" in args
    for on in ("AVX", "AVX2", "FMA", "F16C"):
        assert f"-DGGML_{on}=ON" in args
    for off in ("AVX512", "AVX512_VNNI", "AMX_INT8", "AMX_TILE", "AMX_BF16"):
        assert f"-DGGML_{off}=OFF" in args
    assert not any(arg.endswith("NATIVE=ON") for arg in args)


def test_x86_without_avx2_and_arm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LONGJUDGE_LLAMA_CMAKE_ARGS", raising=False)
    old = portable_cmake_args("x86_64", {"sse4_2", "avx"}).split()
    assert "-DGGML_AVX2=OFF" in old and "-DGGML_AVX=OFF" in old
    assert portable_cmake_args("aarch64", {"asimd", "sve"}) == "-DGGML_NATIVE=OFF"
    monkeypatch.setenv("LONGJUDGE_LLAMA_CMAKE_ARGS", "-DGGML_NATIVE=OFF -DGGML_AVX512=ON")
    assert portable_cmake_args("x86_64", set()) == "-DGGML_NATIVE=OFF -DGGML_AVX512=ON"
    assert "--no-cache-dir --no-binary llama-cpp-python" in rebuild_command()


def test_build_script_prints_the_same_flags() -> None:
    script = REPO / "src" / "longjudge" / "judges" / "llama_build.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == portable_cmake_args()


def _crashing_child(model_path: Path, n_threads: int) -> list[str]:
    # A real segmentation fault: read address 0 through ctypes.
    return [sys.executable, "-c", "import ctypes; ctypes.string_at(0)"]


@pytest.fixture
def probes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LONGJUDGE_PROBES_DIR", str(tmp_path / "probes"))
    return tmp_path / "probes"


def test_a_child_killed_by_a_signal_becomes_a_config_error(
    probes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("llama_cpp")
    from longjudge.judges.registry import create_judge

    monkeypatch.setattr(llama_probe, "probe_command", _crashing_child)
    with pytest.raises(ConfigError) as info:
        create_judge("local/gemma-3-270m", JudgeConfig(local={"n_ctx": 512, "n_threads": 1}))
    message = str(info.value)
    assert "SIGSEGV" in message
    assert "--no-binary llama-cpp-python" in message and "CMAKE_ARGS=" in message
    assert "This CPU reports:" in message
    flags = notable_cpu_flags()
    if flags:
        assert flags[0] in message
    assert not probes.exists() or not any(probes.iterdir())  # a failure is not remembered


def test_other_signals_are_named(probes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("llama_cpp")

    def aborting(model_path: Path, n_threads: int) -> list[str]:
        return [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]

    monkeypatch.setattr(llama_probe, "probe_command", aborting)
    model = probes.parent / "model.gguf"
    model.write_bytes(b"GGUF")
    with pytest.raises(ConfigError, match="SIGILL"):
        llama_probe.ensure_build_works(model, 1)


def test_a_proven_build_is_remembered(probes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("llama_cpp")
    from longjudge.judges.local import packaged_model_path

    model = packaged_model_path()
    llama_probe.ensure_build_works(model, 1)  # the real child: load + a few tokens
    records = list(probes.iterdir())
    assert len(records) == 1 and "system_info" in records[0].read_text()

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("a proven build was probed again")

    monkeypatch.setattr(llama_probe.subprocess, "run", no_child)
    llama_probe.ensure_build_works(model, 1)


def test_the_pinned_version_is_the_one_built() -> None:
    from longjudge.judges.llama_build import LLAMA_CPP_VERSION

    pyproject = (REPO / "pyproject.toml").read_text()
    assert f'"llama-cpp-python[server]=={LLAMA_CPP_VERSION}"' in pyproject
