"""Peak memory and tokens/s of DPO + λ·CE training against sequence length, per setting.

A small causal LM is built from a config (``longjudge.train.tiny``: a Llama, a BPE tokenizer
trained on the bundled article) and trained for a few steps on one pair at a time whose
prompt + response is L tokens (the bundled article's context cut to fit by longjudge's own
``middle`` truncation; responses of 256 tokens). Each (setting, L) runs in a fresh process
forked from a server that has already imported torch/transformers/trl, so that its peak
resident memory (``VmHWM``, reset at the start) is its own; the table shows the peak above
the process's memory before the trainer was built (model, reference, optimizer, activations,
logits), and tokens/s over the timed steps (chosen + rejected tokens, the first step not
timed).

Settings, as docs/training.md recommends for long pairs:

- ``full``: all weights, a reference model, no activation checkpointing (the CPU default);
- ``full+ckpt``: with ``activation_checkpointing``;
- ``full+ckpt+precompute``: and ``precompute_ref_log_probs`` (no reference forward per step);
- ``lora+ckpt``: a LoRA adapter (peft), the adapter switched off is the reference;
- ``padding_free`` is not run: TRL 1.16's DPOTrainer warns and falls back to padding.

    .venv/bin/python bench/train_memory.py                      # 1k and 2k tokens, a few min
    .venv/bin/python bench/train_memory.py --lengths 1024,4096,16384 --steps 3
    .venv/bin/python bench/train_memory.py --hidden-size 512 --layers 8 --device cuda

On a CPU the absolute figures belong to this small model; what carries over to a real one is
how each setting scales with L. ``--device cuda`` reads ``torch.cuda.max_memory_allocated``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "longreward"
RESPONSE_TOKENS = 256

SETTINGS: dict[str, dict[str, Any]] = {
    "full": {},
    "full+ckpt": {"activation_checkpointing": True},
    "full+ckpt+precompute": {"activation_checkpointing": True, "precompute_ref_log_probs": True},
    "lora+ckpt": {"activation_checkpointing": True, "lora": True},
}


def _status(field: str) -> int:
    """A /proc/self/status field in MiB (Linux)."""
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) // 1024 if match else 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _texts() -> tuple[str, str, list[str]]:
    record = json.loads((EXAMPLE / "sft.jsonl").read_text().splitlines()[0])
    answers = [json.loads(line)["answer"] for line in
               (EXAMPLE / "sampled_responses.jsonl").read_text().splitlines()]
    return record["context"], record["query"], answers


def _rows(tokenizer: Any, length: int) -> list[dict[str, Any]]:
    """Two pairs of exactly-ish ``length`` tokens: context long enough, cut by longjudge."""
    from longjudge.train.fit import ModelSpans, fit_rows, trl_measure

    context, query, answers = _texts()
    ids = tokenizer(" ".join(answers), add_special_tokens=False)["input_ids"]
    responses = [tokenizer.decode(ids[i * RESPONSE_TOKENS:(i + 1) * RESPONSE_TOKENS])
                 for i in range(4)]
    repeat = max(1, length // max(1, len(tokenizer(context)["input_ids"])) + 1)
    long_context = "\n\n".join([context] * repeat)
    rows = []
    for i in range(2):
        content = long_context + "\n\n" + query
        rows.append({
            "prompt": [{"role": "user", "content": content}],
            "chosen": [{"role": "assistant", "content": responses[2 * i]}],
            "rejected": [{"role": "assistant", "content": responses[2 * i + 1]}],
            "context_start": 0, "context_end": len(long_context),
        })
    kept, _ = fit_rows(rows, trl_measure(tokenizer), length, "middle", 128, ModelSpans(tokenizer))
    return kept


def _child(model: str, setting: str, length: int, steps: int, device: str) -> dict[str, Any]:
    import warnings

    import datasets
    import torch
    from transformers import AutoTokenizer, TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from longjudge.train.dpo import build_trainer
    from longjudge.train.fit import trl_measure
    from longjudge.train.options import LoraOptions, TrainJob, TrainOptions

    warnings.simplefilter("ignore")
    datasets.disable_progress_bars()
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    tokenizer = AutoTokenizer.from_pretrained(model)
    rows = _rows(tokenizer, length)
    measure = trl_measure(tokenizer)
    sizes = [measure(r) for r in rows]
    tokens_per_pair = [2 * p + c + r for p, c, r in sizes]
    options = dict(SETTINGS[setting])
    lora = options.pop("lora", False)
    dpo = {"max_length": length, "max_steps": steps, "per_device_train_batch_size": 1,
           "logging_steps": 1, "save_strategy": "no", "learning_rate": 1e-4,
           "disable_tqdm": True, **options}
    if device == "cuda":
        dpo["bf16"] = True
    job = TrainJob(datasets.Dataset.from_list(rows), model, Path(tempfile.mkdtemp()), dpo,
                   TrainOptions(lora=LoraOptions(r=16, alpha=32, dropout=0.0) if lora else None,
                                truncation="drop"))
    stamps: list[float] = []

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            stamps.append(time.perf_counter())

    base = _status("VmRSS")
    exact = _reset_peak()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    trainer = build_trainer(job)
    trainer.add_callback(Clock())
    for quiet in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(quiet)
    started = time.perf_counter()
    trainer.train()
    timed = stamps[-1] - stamps[0] if len(stamps) > 1 else stamps[-1] - started
    n_timed = max(1, len(stamps) - 1)
    tokens = sum(tokens_per_pair[i % 2] for i in range(1, len(stamps))) or tokens_per_pair[0]
    peak = (torch.cuda.max_memory_allocated() // 2**20 if device == "cuda"
            else _status("VmHWM") - base)
    return {"setting": setting, "length": max(p + max(c, r) for p, c, r in sizes),
            "peak_mib": peak, "exact_peak": exact or device == "cuda",
            "s_per_step": timed / n_timed, "tokens_per_s": tokens / timed if timed else 0.0,
            "loss_terms": sorted(k for k in trainer.state.log_history[0] if k.startswith("loss/"))}


def _run(args: tuple[str, str, int, int, str]) -> dict[str, Any]:
    try:
        return _child(*args)
    except Exception as exc:  # a failed setting is a row with its error, the bench goes on
        return {"setting": args[1], "length": args[2], "error": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", default="1024,2048", help="Sequence lengths (tokens).")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="Which settings.")
    parser.add_argument("--steps", type=int, default=2, help="Training steps (first untimed).")
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--model", help="A local causal LM instead of the tiny one.")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    from longjudge.train.tiny import build_tiny_causal_lm

    lengths = [int(x) for x in args.lengths.split(",")]
    settings = [s for s in args.settings.split(",") if s]
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        sys.exit(f"unknown setting(s) {unknown}; known: {', '.join(SETTINGS)}")
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            context, query, answers = _texts()
            model = str(build_tiny_causal_lm(
                Path(tmp) / "lm", [context, query, *answers], vocab_size=args.vocab_size,
                hidden_size=args.hidden_size, num_layers=args.layers,
                max_positions=max(lengths)))
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["torch", "transformers", "trl", "datasets", "peft",
                                    "longjudge.train.dpo", "longjudge.train.prepare",
                                    "longjudge.train.terms"])
        print(f"DPO + 0.1·CE, one pair per step (2 sequences of L tokens), {args.steps} steps "
              f"(first untimed); model {model if args.model else 'tiny Llama'}: hidden "
              f"{args.hidden_size}, {args.layers} layers, vocab {args.vocab_size}; "
              f"device {args.device}, {os.environ.get('BENCH_THREADS', '2')} threads")
        print(f"{'setting':<22}{'L':>7}{'peak MiB':>10}{'s/step':>9}{'tokens/s':>10}  terms")
        for length in lengths:
            for setting in settings:
                with ctx.Pool(1, maxtasksperchild=1) as pool:
                    row = pool.apply(_run, ((model, setting, length, args.steps,
                                             args.device),))
                if "error" in row:
                    print(f"{setting:<22}{length:>7}  failed: {row['error'][:200]}")
                    continue
                mark = "" if row["exact_peak"] else "*"
                print(f"{setting:<22}{row['length']:>7}{row['peak_mib']:>9}{mark:1}"
                      f"{row['s_per_step']:>9.2f}{row['tokens_per_s']:>10.0f}  "
                      f"{','.join(row['loss_terms'])}", flush=True)
        print("padding_free          n/a: TRL 1.16's DPOTrainer warns and falls back to padding")
        print("peak MiB: resident memory above the process before the trainer was built "
              "(* where the peak could not be reset: an upper bound)")


if __name__ == "__main__":
    main()
