"""Shared by the benchmarks: the bundled example and a realistic scripted judge for the fake
server. Run benchmarks from the repository root."""

from __future__ import annotations

import json
import re
import sys
import zlib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.lr_script, the scripted LongReward judge

from longjudge.io import group_candidates, read_candidates, read_examples  # noqa: E402
from longjudge.types import Candidate, Example  # noqa: E402
from tests.lr_script import LRScript  # noqa: E402
from tests.lr_script import server_script as as_server_script  # noqa: E402

EXAMPLES = REPO / "examples" / "longreward" / "sft.jsonl"
RESPONSES = REPO / "examples" / "longreward" / "sampled_responses.jsonl"


def bundled() -> tuple[Example, list[Candidate]]:
    """The bundled LongReward example: one prompt and its ten sampled responses."""
    examples = read_examples(EXAMPLES)
    groups, _ = group_candidates(examples.records, read_candidates(RESPONSES))
    example, candidates = groups[0]
    return example, list(candidates)


def sentences(text: str) -> list[str]:
    """A realistic decomposition: the answer's sentences and list items of some length."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip(" -*") for p in parts if len(p.strip(" -*")) > 25]


def server_script(unsupported_every: int = 0) -> Any:
    """The scripted LongReward judge (tests/lr_script.py) behind the fake server's hook.

    ``unsupported_every``: judge about one statement in that many unsupported ("none", picked
    by a hash of its text), so that the faithfulness second look has work to do.
    """
    script = LRScript(statements=sentences)
    if unsupported_every:
        every = unsupported_every
        script.support = lambda s: "none" if zlib.crc32(s.encode()) % every == 0 else "full"
    return as_server_script(script)


def chars_over_4(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", ""))) for m in messages) // 4


#: Statements the statement-rich scripted judge finds in every response.
STATEMENTS_PER_RESPONSE = 15


def fifteen_statements(text: str) -> list[str]:
    """A statement-rich decomposition: the answer's sentences, cycled to exactly 15."""
    parts = sentences(text) or [text.strip() or "The answer is empty."]
    return [
        parts[i % len(parts)] + ("" if i < len(parts) else f" (restated {i // len(parts)})")
        for i in range(STATEMENTS_PER_RESPONSE)
    ]


def statement_rich_script() -> Any:
    """The scripted judge with 15 statements per response (``FakeJudgeConfig.script`` factory:
    ``_common:statement_rich_script`` with ``bench/`` on the server's path)."""
    return as_server_script(LRScript(statements=fifteen_statements))


def write_copies(tmp: Path, prompts: int) -> tuple[Path, Path]:
    """The bundled prompt under ``prompts`` ids, in the public LongReward layout. Each copy's
    question names the copy, so that no two copies send the same judge request."""
    example = json.loads(EXAMPLES.read_text().splitlines()[0])
    responses = [json.loads(line) for line in RESPONSES.read_text().splitlines()]
    ex_path, resp_path = tmp / "examples.jsonl", tmp / "responses.jsonl"
    with ex_path.open("w") as ex, resp_path.open("w") as resp:
        for p in range(prompts):
            idx = f"{example['idx']}p{p}"
            query = f"{example['query']} (copy {p})"
            ex.write(json.dumps({**example, "idx": idx, "query": query}) + "\n")
            for r in responses:
                number = str(r["idx"]).rsplit("-", 1)[1]
                resp.write(json.dumps({**r, "idx": f"{idx}-{number}"}) + "\n")
    return ex_path, resp_path


def copies_job(
    tmp: Path,
    examples: Path,
    responses: Path,
    base_url: str,
    *,
    retrieval: str = "bm25",
    concurrency: int | None = None,
    engine: str = "local",
) -> Any:
    """The ``ScoreJob`` ``longjudge score`` runs on the copies (LongReward at its defaults,
    a fresh SQLite cache in ``tmp``, the run directory ``tmp/run``, no progress bar);
    ``concurrency`` is ``--concurrency``."""
    from longjudge.config import ScoreConfig, build_config
    from longjudge.scoring import ScoreJob

    judge: dict[str, Any] = {"base_url": base_url}
    if concurrency is not None:  # as --concurrency sets them: the ceiling and the start
        judge["max_concurrency"] = judge["initial_concurrency"] = concurrency
    layers = {
        "judge": judge,
        "cache": {"path": str(tmp / "cache.sqlite")},
        "run": {"progress": False},
        "longreward": {"retrieval": {"method": retrieval}},
    }
    config = build_config(ScoreConfig, layers)
    return ScoreJob(examples, responses, "openai/fake-judge", "longreward", config,
                    tmp / "run", engine=engine)
