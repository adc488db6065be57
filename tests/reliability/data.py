"""Inputs and helpers shared by the reliability suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from longjudge.types import Reward

TOPICS = ["harbour", "bridge", "orchard", "railway", "library", "glacier", "market", "mill"]


def context_for(i: int, sentences: int = 12) -> str:
    topic = TOPICS[i % len(TOPICS)]
    return " ".join(
        f"The {topic} of district {i} recorded {i * 7 + k} visitors in year {2000 + k}."
        for k in range(sentences)
    )


def write_inputs(
    directory: Path, examples: int, candidates: int, sentences: int = 12
) -> tuple[Path, Path]:
    """``examples`` prompts with ``candidates`` answers each, in the public LongReward layout."""
    ex_path, cand_path = directory / "examples.jsonl", directory / "responses.jsonl"
    with ex_path.open("w") as ex, cand_path.open("w") as cand:
        for i in range(examples):
            query = f"How many visitors did district {i} record, and when?"
            ex.write(
                json.dumps({"idx": f"p{i}", "context": context_for(i, sentences), "query": query})
                + "\n"
            )
            for k in range(candidates):
                text = (
                    f"District {i} recorded {i * 7 + k} visitors in year {2000 + k}. "
                    f"It was busier than district {i + 1}."
                )
                cand.write(json.dumps({"idx": f"p{i}-{k}", "answer": text}) + "\n")
    return ex_path, cand_path


def write_config(path: Path, base_url: str, cache: Path, **sections: dict[str, Any]) -> Path:
    """A ScoreConfig YAML for the openai backend against a fake server."""
    config: dict[str, Any] = {
        "judge": {"base_url": base_url, "timeout": 5.0, "max_concurrency": 4},
        "cache": {"path": str(cache)},
        "retry": {"max_attempts": 4, "initial_backoff": 0.01, "max_backoff": 0.05, "jitter": 0.01},
        "run": {"max_examples_in_flight": 2, "progress": False},
        # BM25: these tests are about faults and bad input, not about retrieval quality
        "longreward": {"retrieval": {"method": "bm25"}},
    }
    for name, section in sections.items():
        config[name] = {**config.get(name, {}), **section}
    path.write_text(yaml.safe_dump(config))
    return path


def score_command(ex: Path, cand: Path, config: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "longjudge",
        "score",
        str(ex),
        "--responses",
        str(cand),
        "--judge",
        "openai/fake-judge",
        "--config",
        str(config),
        "--out",
        str(out),
    ]


def run_cli(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def said(process: subprocess.CompletedProcess[str]) -> str:
    """A command's stderr with the console's line wrapping undone (runs of spaces -> one)."""
    return " ".join(process.stderr.split())


def read_rewards(path: Path) -> list[Reward]:
    """Every line of a rewards file, parsed (a torn or invalid line fails the test)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Reward.model_validate_json(line) for line in lines]


def essence(reward: Reward) -> tuple[Any, ...]:
    """What must be equal between two runs of the same job."""
    dims = tuple(sorted((n, d.status, d.score) for n, d in reward.dimensions.items()))
    return (reward.example_id, reward.candidate_id, reward.status, reward.total, dims)


def latest(path: Path) -> dict[tuple[str, str], Reward]:
    """The last reward of each candidate in a rewards file."""
    return {(r.example_id, r.candidate_id): r for r in read_rewards(path)}


def error_lines(run: Path) -> list[dict[str, Any]]:
    path = run / "errors.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
