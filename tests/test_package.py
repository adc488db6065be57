"""The package surface: __all__ matches the public API and the import stays light."""

from __future__ import annotations

import subprocess
import sys

import longjudge


def test_all_matches_public_names() -> None:
    public = {n for n in vars(longjudge) if not n.startswith("_") or n == "__version__"}
    modules = {n for n in public if type(getattr(longjudge, n)).__name__ == "module"}
    assert set(longjudge.__all__) == public - modules


def test_import_is_light() -> None:
    code = (
        "import sys, longjudge, longjudge.cli; "
        "print(','.join(m for m in ('torch','transformers','ray','sentence_transformers',"
        "'llama_cpp','datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
