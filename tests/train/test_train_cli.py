"""`longjudge train` end to end on the bundled long prompt: the context is cut to fit, counts
are printed and recorded, a run with nothing left exits 2 before any weight is loaded, the
shipped launch configs are valid, and two processes (accelerate, gloo on CPU) log the same
loss terms as one process accumulating the same two pairs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from longjudge.cli import main
from longjudge.config import load_yaml
from tests.train.test_train_fit import bundled, pair_row

pytest.importorskip("trl")

ROOT = Path(__file__).resolve().parents[2]
STEPS = "max_steps: {steps}\nlogging_steps: 1\nlearning_rate: 1.0e-3\nsave_strategy: 'no'\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from longjudge.train.tiny import build_tiny_causal_lm

    example, answers = bundled()
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"),
                                [example.context, example.query, *answers])


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def bundled_rows(n: int = 1) -> list[dict[str, Any]]:
    example, answers = bundled()
    rows = []
    for i in range(n):
        row = pair_row(example, answers[2 * i], answers[2 * i + 1])
        rows.append({**row, "example_id": f"{example.id}-{i}"})
    return rows


def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            *args: object) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["longjudge", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), captured.out + captured.err


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
def test_bundled_pair_trains_at_1024_with_the_context_cut(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = write_rows(tmp_path / "pairs.jsonl", bundled_rows(1))
    config = tmp_path / "t.yaml"
    config.write_text(STEPS.format(steps=2))
    code, output = run_cli(capsys, monkeypatch, "train", pairs, "--model", tiny, "--out",
                           tmp_path / "out", "--max-length", 1024, "--config", config)
    assert code == 0, output
    record = json.loads((tmp_path / "out" / "longjudge_train.json").read_text())
    fit = record["fit"]
    assert (fit["pairs_read"], fit["pairs_trained"], fit["pairs_cut"],
            fit["pairs_dropped"]) == (1, 1, 1, 0)
    assert fit["tokens_removed"] > 7000 and fit["longest_prompt_tokens"] > 8000
    assert record["dropped_prompt_too_long"] == 0 and record["truncated"] == 0
    assert record["settings"]["truncation"] == "relevant" and record["steps"] == 2
    text = flat(output)
    assert (f"max_length 1024: 1 of 1 pairs kept; context cut in 1 (relevant, "
            f"{fit['tokens_removed']:,} tokens removed)") in text
    assert "trained on 1 of 1 pairs, 2 steps; loss/sft" in text and "loss/sigmoid" in text
    first = record["log_history"][0]
    assert first["loss/sigmoid"] == pytest.approx(0.6931, abs=1e-3)
    # the pairs file keeps its full text
    assert json.loads(pairs.read_text())["prompt"][0]["content"].startswith(
        bundled()[0].context[:100])


@pytest.mark.slow
def test_nothing_left_exits_2_before_loading_the_model(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    no_weights = tmp_path / "tokenizer-only"
    no_weights.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (tiny / name).exists():
            shutil.copy(tiny / name, no_weights / name)
    pairs = write_rows(tmp_path / "pairs.jsonl", bundled_rows(1))
    out = tmp_path / "out"
    code, output = run_cli(capsys, monkeypatch, "train", pairs, "--model", no_weights,
                           "--out", out, "--max-length", 1024, "--truncation", "drop")
    text = flat(output)
    assert code == 2, output
    assert "no pair left to train on at max_length 1024 (truncation drop): 0 of 1 pairs kept; " \
           "1 dropped (too_long 1)" in text
    assert "The longest prompt has" in text and "(pair 11-0)" in text
    assert "--truncation relevant or middle" in text
    assert not out.exists()  # nothing was started

    code, output = run_cli(capsys, monkeypatch, "train", pairs, "--model", no_weights,
                           "--out", out, "--max-length", 200)
    assert code == 2 and "dropped (no_room 1)" in flat(output)
    assert "raise --max-length to at least" in flat(output)
    code, output = run_cli(capsys, monkeypatch, "train", pairs, "--model", no_weights,
                           "--out", out, "--max-length", 0)
    assert code == 2 and "max_length must be a positive" in output
    code, output = run_cli(capsys, monkeypatch, "train", pairs, "--model", no_weights,
                           "--out", out, "--truncation", "ends")
    assert code == 2 and "truncation" in output and "relevant" in output
    assert not out.exists()


@pytest.mark.slow
def test_counts_are_true_when_one_pair_of_six_is_dropped(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from longjudge.types import Example

    short = [pair_row(Example(id=f"s{i}", context=f"Harbour note {i}.", query="Which ships?"),
                      "Fishing boats mostly.", "No idea.") for i in range(5)]
    (long,) = bundled_rows(1)
    long = {k: v for k, v in long.items() if not k.startswith("context_")}
    long["prompt"] = [{"role": "user", "content": long["prompt"][0]["content"].replace(
        "\n\n", "\n")}]  # an old row whose context cannot be told from its question
    pairs = write_rows(tmp_path / "pairs.jsonl", [*short[:3], long, *short[3:]])
    config = tmp_path / "t.yaml"
    config.write_text(STEPS.format(steps=1) + "per_device_train_batch_size: 8\n")
    code, output = run_cli(capsys, monkeypatch, "train", pairs, "--model", tiny, "--out",
                           tmp_path / "out", "--max-length", 1024, "--config", config)
    assert code == 0, output
    text = flat(output)
    assert "5 of 6 pairs kept; 1 dropped (no_context 1)" in text
    assert "trained on 5 of 6 pairs, 1 steps" in text
    record = json.loads((tmp_path / "out" / "longjudge_train.json").read_text())
    assert (record["pairs"], record["pairs_trained"]) == (6, 5)
    assert record["fit"]["dropped_by_reason"] == {"no_context": 1}


def test_tiny_lm_command_trains_its_tokenizer_on_the_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from transformers import AutoConfig, AutoTokenizer

    pairs = write_rows(tmp_path / "pairs.jsonl", bundled_rows(1))
    code, output = run_cli(capsys, monkeypatch, "tiny-lm", tmp_path / "lm", "--corpus", pairs,
                           "--hidden-size", 32, "--layers", 1)
    assert code == 0 and "tiny causal LM (1 layers, width 32)" in flat(output)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "lm")
    config = AutoConfig.from_pretrained(tmp_path / "lm")
    assert (config.hidden_size, config.num_hidden_layers) == (32, 1)
    context = bundled()[0].context
    assert len(context) / len(tokenizer(context)["input_ids"]) > 3.5  # subword-like counts
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Q?"}],
                                           add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|assistant|>\n")


def test_shipped_launch_and_training_configs_are_valid(tmp_path: Path) -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    from longjudge.train.args import build_args
    from longjudge.train.options import split_config

    zero3 = load_config_from_file(str(ROOT / "examples/accelerate/zero3.yaml"))
    assert zero3.distributed_type.value == "DEEPSPEED"
    assert zero3.deepspeed_config["zero_stage"] == 3
    two = load_config_from_file(str(ROOT / "examples/accelerate/two-processes.yaml"))
    assert two.num_processes == 2 and two.use_cpu is False
    for name in ("train-64k.yaml", "train-demo.yaml"):
        dpo, options = split_config(load_yaml(ROOT / "examples" / name))
        args = build_args({**dpo, "bf16": False}, options, tmp_path, cuda=False)  # no GPU here
        assert args.loss_type == ["sigmoid", "sft"] and args.loss_weights == [1.0, 0.1]
        assert options.truncation == "relevant"
    assert dpo["max_length"] == 1024
    assert zero3.deepspeed_config["gradient_accumulation_steps"] == split_config(
        load_yaml(ROOT / "examples/train-64k.yaml"))[0]["gradient_accumulation_steps"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_two_processes_log_the_same_loss_terms_as_one(tiny: Path, tmp_path: Path) -> None:
    """`accelerate launch` (torchrun, gloo on CPU) with the shipped two-process config: two
    processes, one pair each per step, against one process accumulating the same two pairs."""
    pairs = write_rows(tmp_path / "pairs.jsonl", bundled_rows(2))
    config = tmp_path / "t.yaml"
    config.write_text(STEPS.format(steps=2) + "per_device_train_batch_size: 1\n")
    one_config = tmp_path / "one.yaml"
    one_config.write_text(config.read_text() + "gradient_accumulation_steps: 2\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore"}
    train = ["-m", "longjudge", "train", str(pairs), "--model", str(tiny), "--max-length", "768"]
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
              str(ROOT / "examples/accelerate/two-processes.yaml"), "--main_process_port",
              str(free_port())]
    two = subprocess.run([*launch, *train, "--out", str(tmp_path / "two"), "--config",
                          str(config)], env=env, capture_output=True, text=True, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, *train, "--out", str(tmp_path / "one"), "--config",
                          str(one_config)], env=env, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    records = {name: json.loads((tmp_path / name / "longjudge_train.json").read_text())
               for name in ("one", "two")}
    assert records["two"]["distributed"] == {"processes": 2, "backend": "gloo",
                                             "type": "MULTI_CPU"}
    assert records["one"]["distributed"]["processes"] == 1
    assert two.stdout.count("trained on 2 of 2 pairs, 2 steps") == 1  # printed once, by rank 0
    steps = {name: [h for h in r["log_history"] if "loss/sft" in h] for name, r in
             records.items()}
    assert len(steps["one"]) == len(steps["two"]) == 2
    for a, b in zip(steps["one"], steps["two"]):
        for key in ("loss", "loss/sigmoid", "loss/sft"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), key
    assert steps["two"][0]["loss/sigmoid"] == pytest.approx(0.6931, abs=1e-3)
    assert steps["two"][1]["loss/sigmoid"] < steps["two"][0]["loss/sigmoid"]
    assert records["two"]["fit"]["pairs_cut"] == 2


def test_demo_pair_script_writes_one_labelled_pair(tmp_path: Path) -> None:
    """`make train-demo`'s fallback when the demo judge ties every response."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, str(ROOT / "scripts/demo-pair"),
                           str(tmp_path / "pairs.jsonl")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "not a judged preference" in done.stdout
    (row,) = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    example, _ = bundled()
    assert row["strategy"] == "reference-vs-sample" and row["chosen_id"] == "11-ref"
    content = row["prompt"][0]["content"]
    assert content[row["context_start"]:row["context_end"]] == example.context
