"""The Ray engine on a local Ray instance (2 CPUs) against the fake OpenAI-compatible judge
server: the same rewards as the single-process engine, usage summed over workers, resume."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from longjudge.config import CacheConfig, JudgeConfig, RunConfig, ScoreConfig
from longjudge.distributed import ray_engine
from longjudge.distributed.ray_engine import ShardWorker
from longjudge.errors import ConfigError
from longjudge.runtime.rundir import RunDir
from longjudge.scoring import JobOutcome, ScoreJob, run_job_sync
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer

PROMPTS, CANDIDATES = 4, 3


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudgeServer]:
    # a little latency so that requests overlap and the concurrency limit is exercised
    with FakeJudgeServer(FakeJudgeConfig(latency=0.02, capacity=64)) as server:
        yield server


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("inputs")
    examples, responses = root / "examples.jsonl", root / "responses.jsonl"
    with examples.open("w") as ex, responses.open("w") as rs:
        for i in range(PROMPTS):
            context = " ".join(
                f"Note {i}.{j}: the mill by river {j} ground {i + j * 7} sacks in spring."
                for j in range(20)
            )
            row = {"idx": str(i), "context": context, "query": f"How much did mills grind ({i})?"}
            ex.write(json.dumps(row) + "\n")
            for k in range(CANDIDATES):
                text = f"River {k} ground {i + k * 7} sacks. Mill {k} was busy in spring."
                rs.write(json.dumps({"idx": f"{i}-{k}", "answer": text}) + "\n")
    return examples, responses


def job(inputs: tuple[Path, Path], url: str, out: Path, cache: Path, **kw: Any) -> ScoreJob:
    config = ScoreConfig(
        judge=JudgeConfig(base_url=url, max_concurrency=4, structured_output="json_schema"),
        cache=CacheConfig(path=str(cache)),
        run=RunConfig(progress=False),
    )
    return ScoreJob(inputs[0], inputs[1], "openai/fake-judge", config=config, out=out, **kw)


def table(out: Path) -> list[tuple[str, str, str, float | None]]:
    return sorted(
        (r.example_id, r.candidate_id, r.status, r.total) for r in RunDir(out).rewards()
    )


def test_ray_engine_matches_local_engine_and_resumes(
    ray_instance: Any, judge: FakeJudgeServer, inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    judge_url = judge.base_url
    local = run_job_sync(job(inputs, judge_url, tmp_path / "local", tmp_path / "a.sqlite"))
    far = job(inputs, judge_url, tmp_path / "ray", tmp_path / "b.sqlite", engine="ray")
    distributed: JobOutcome = run_job_sync(far)

    expected = table(tmp_path / "local")
    assert len(expected) == PROMPTS * CANDIDATES
    assert table(tmp_path / "ray") == expected
    assert not (tmp_path / "ray" / "shards").exists()
    assert (distributed.result.scored, distributed.result.unscored) == (
        local.result.scored, local.result.unscored
    )
    # usage summed over the workers: the same judge calls as one process (separate caches)
    assert distributed.usage["total"]["calls"] == local.usage["total"]["calls"] > 0
    (entry,) = RunDir(tmp_path / "ray").read_summary()["invocations"]
    assert entry["engine"] == "ray" and entry["workers"] == 2
    assert entry["chunk_prompts"] == 1  # streamed: 4 chunks of one prompt, 2 per worker
    assert sum(entry["concurrency"]) == 4  # the judge's limit, split over the workers
    assert 2 <= judge.stats["peak_in_service"] <= 4  # ... and never exceeded in total
    assert entry["usage"] == distributed.usage
    (local_entry,) = RunDir(tmp_path / "local").read_summary()["invocations"]
    timing = {"evidence_index_seconds"}  # wall time, differs between runs
    assert {k: v for k, v in entry["scorer"].items() if k not in timing} == {
        k: v for k, v in local_entry.get("scorer", {}).items() if k not in timing
    }
    assert RunDir(tmp_path / "ray").read_config()["method"] == "longreward"

    # resume: drop some results, run again; only those are scored, nothing is duplicated
    rewards_file = tmp_path / "ray" / "rewards.jsonl"
    lines = rewards_file.read_text().splitlines()
    rewards_file.write_text("\n".join(lines[:5]) + "\n")
    again = run_job_sync(far)
    assert (again.result.skipped, again.result.scored + again.result.unscored) == (5, 7)
    assert table(tmp_path / "ray") == expected
    assert len(rewards_file.read_text().splitlines()) == PROMPTS * CANDIDATES

    # nothing left: no worker is started, every candidate is skipped
    done = run_job_sync(far)
    assert done.result.skipped == PROMPTS * CANDIDATES and done.usage["total"]["calls"] == 0
    assert RunDir(tmp_path / "ray").read_summary()["invocations"][-1]["workers"] == 0

    # every reward carries the setup config.yaml states; a changed text is scored again
    stated = RunDir(tmp_path / "ray").read_config()["fingerprint"]
    setups = {
        (f.config, f.judge, f.prompts)
        for f in (r.fingerprint for r in RunDir(tmp_path / "ray").rewards())
        if f
    }
    assert setups == {(stated["config"], stated["judge"], stated["prompts"])}
    rows = [json.loads(line) for line in inputs[1].read_text().splitlines()]
    rows[0]["answer"] += " The river flooded in autumn."
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    moved = job(
        (inputs[0], changed), judge_url, tmp_path / "ray", tmp_path / "b.sqlite", engine="ray"
    )
    redo = run_job_sync(moved)
    assert redo.result.rescored_reasons == {"candidate text changed": 1}
    assert (redo.result.skipped, redo.result.scored) == (PROMPTS * CANDIDATES - 1, 1)
    assert redo.state is not None and redo.state.complete

def test_ray_engine_shows_progress_off_a_terminal(
    ray_instance: Any, inputs: tuple[Path, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LONGJUDGE_PROGRESS_INTERVAL", "0.02")
    # A slow judge (0.1 s a request, 2 at a time): the run spans many intervals.
    with FakeJudgeServer(FakeJudgeConfig(latency=0.1, capacity=2)) as slow:
        far = job(inputs, slow.base_url, tmp_path / "ray", tmp_path / "c.sqlite", engine="ray")
        far.config.run.progress = True
        run_job_sync(far)
    lines = re.findall(r"^scoring \(ray\): (\d+)/(\d+) candidates", capsys.readouterr().err,
                       re.M)
    assert len(lines) >= 3
    assert {int(total) for _, total in lines} == {PROMPTS * CANDIDATES}
    assert int(lines[-1][0]) == PROMPTS * CANDIDATES


def test_a_worker_that_cannot_start_is_one_config_error(
    ray_instance: Any, inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    bad = job(inputs, "http://127.0.0.1:9/v1", tmp_path / "bad", tmp_path / "d.sqlite",
              engine="ray")
    bad.judge = "local/no-such-model"
    with pytest.raises(ConfigError) as info:
        run_job_sync(bad)
    message = str(info.value)
    # the driver builds the scorer first (for the fingerprint), so it fails before any worker
    assert "local/no-such-model: unknown packaged model" in message
    assert "\n" not in message and "Traceback" not in message


def test_longbench_chat_judging_on_ray_gives_the_local_ratings(
    ray_instance: Any, judge: FakeJudgeServer, inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    # the same examples with a reference answer, and a rated-examples file with one bad line
    rows = [json.loads(line) for line in inputs[0].read_text().splitlines()]
    examples = tmp_path / "with_reference.jsonl"
    examples.write_text("".join(
        json.dumps({**r, "reference": f"The mills ground {r['idx']} sacks."}) + "\n" for r in rows
    ))
    rated = tmp_path / "rated.jsonl"
    rated.write_text(json.dumps({"answer": "River 0 ground 7 sacks.", "rating": 6}) + "\n"
                     + json.dumps({"answer": "x", "rating": 11}) + "\n")

    def lbc(out: str, **kw: Any) -> ScoreJob:
        made = job((examples, inputs[1]), judge.base_url, tmp_path / out,
                   tmp_path / f"{out}.sqlite", method="longbench-chat", **kw)
        made.config.longbench_chat = {"examples_file": str(rated), "max_shots": 1}
        return made

    local = run_job_sync(lbc("local"))
    far = run_job_sync(lbc("ray", engine="ray"))
    expected = table(tmp_path / "local")
    assert len(expected) == PROMPTS * CANDIDATES
    assert all(status == "scored" and 1 <= (total or 0) <= 10
               for _, _, status, total in expected)
    assert table(tmp_path / "ray") == expected
    assert far.usage["total"]["calls"] == local.usage["total"]["calls"] == PROMPTS * CANDIDATES
    # the rated file's bad line is an input error of both runs, recorded once
    for out, outcome in (("local", local), ("ray", far)):
        errors = [e for e in RunDir(tmp_path / out).errors() if e["kind"] == "input"]
        assert [(e["source"], e["line"]) for e in errors] == [(str(rated), 2)]
        assert outcome.input_errors == errors and not outcome.complete
    config = RunDir(tmp_path / "ray").read_config()
    assert (config["method"], config["examples_file"]) == ("lbc_judge", str(rated))


class _DiesOnPromptTwo(ShardWorker):
    """A worker whose process dies when it is sent prompt '2' (a node lost mid-job)."""

    async def run(self, name: str, dumps: list[Any]) -> dict[str, Any]:
        if any(e["id"] == "2" for e, _ in dumps):
            os._exit(1)
        return await super().run(name, dumps)


def test_a_worker_that_dies_fails_its_chunk_only_and_resume_scores_it(
    ray_instance: Any, judge: FakeJudgeServer, inputs: tuple[Path, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # twice the prompts: more than the 4 chunks of one prompt the two workers start with
    examples, responses = tmp_path / "examples.jsonl", tmp_path / "responses.jsonl"
    rows = [json.loads(line) for line in inputs[0].read_text().splitlines()]
    answers = [json.loads(line) for line in inputs[1].read_text().splitlines()]
    examples.write_text("".join(
        json.dumps({**r, "idx": str(int(r["idx"]) + k * PROMPTS)}) + "\n"
        for k in range(2) for r in rows
    ))
    responses.write_text("".join(
        json.dumps({**a, "idx": f"{int(a['idx'].split('-')[0]) + k * PROMPTS}-"
                    f"{a['idx'].split('-')[1]}"}) + "\n"
        for k in range(2) for a in answers
    ))
    prompts = {str(i) for i in range(2 * PROMPTS)}
    far = job((examples, responses), judge.base_url, tmp_path / "ray", tmp_path / "e.sqlite",
              engine="ray")
    monkeypatch.setattr(ray_engine, "ShardWorker", _DiesOnPromptTwo)
    hurt = run_job_sync(far)
    # the chunks the dead worker held are lost (prompt 2's, and another if it had one in
    # flight), each prompt named once; the other worker scored every prompt sent after
    errors = [e for e in RunDir(tmp_path / "ray").errors() if e["kind"] == "internal"]
    failed = [p for e in errors for p in e["examples"]]
    assert "2" in failed and len(failed) == len(set(failed)) == hurt.result.failed_groups
    assert all("ray worker failed" in e["reason"] for e in errors) and not hurt.complete
    scored = {r.example_id for r in RunDir(tmp_path / "ray").rewards()}
    assert scored == prompts - set(failed)
    assert {"4", "5", "6", "7"} <= scored  # sent after the death: all to the live worker
    assert hurt.result.scored + hurt.result.unscored == len(scored) * CANDIDATES
    monkeypatch.undo()
    healed = run_job_sync(far)
    assert (healed.result.skipped, healed.result.scored) == (
        len(scored) * CANDIDATES, len(failed) * CANDIDATES
    )
    assert healed.state is not None and healed.state.complete
