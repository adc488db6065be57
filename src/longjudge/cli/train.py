"""``longjudge train``: DPO + λ·CE on preference pairs with TRL; ``longjudge tiny-lm``: a tiny
random causal LM to try it on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..config import load_config
from .app import app, console, flag_layer, out


def _main_process() -> bool:
    """False in every process but the first under ``accelerate launch`` / ``torchrun``."""
    return os.environ.get("RANK", "0") == "0"


@app.command("train")
def train(
    pairs: Annotated[Path, typer.Argument(help="Pairs from `longjudge pairs`.")],
    model: Annotated[str, typer.Option("--model", "-m", help="A local path or a model name.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where the model goes.")],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML of DPOConfig keys (+ a 'longjudge:' section)."),
    ] = None,
    ce_weight: Annotated[float | None, typer.Option(help="λ, the CE weight (0.1).")] = None,
    max_length: Annotated[
        int | None, typer.Option(help="Tokens of prompt + response per sequence (65536).")
    ] = None,
    truncation: Annotated[
        str | None,
        typer.Option(
            help="A pair over max-length: relevant (keep the context windows most relevant to "
            "the question and responses; default), middle (keep start and end), drop."
        ),
    ] = None,
    lora: Annotated[bool, typer.Option(help="Train a LoRA adapter.")] = False,
) -> None:
    """Train MODEL on PAIRS with DPO + λ·CE; both loss terms are logged.

    A pair longer than max-length has its context shortened (never its question or
    responses); a run with no pair left exits 2 before the model is loaded.
    """
    from ..train.dpo import train_dpo
    from ..train.options import LoraOptions, TrainFile, TrainJob
    from ..train.prepare import prepare

    flags = flag_layer(
        max_length=max_length, longjudge__ce_weight=ce_weight, longjudge__truncation=truncation
    )
    dpo, options = load_config(TrainFile, config, flags).split()
    if lora and options.lora is None:
        options = options.model_copy(update={"lora": LoraOptions()})
    job = TrainJob(pairs, model, out_dir, dpo, options)
    ready = prepare(job)  # refuses (exit 2) before any weight is loaded
    main = _main_process()
    if main:
        console.print(f"max_length {ready.args.max_length}: {ready.fit.summary()}")
    result = train_dpo(job, ready)
    if not (main and result.main_process):
        return
    if result.trainer_dropped or result.trainer_truncated:
        console.print(
            f"[yellow]the trainer itself dropped {result.trainer_dropped} and cut the end of "
            f"{result.trainer_truncated} pair(s) at max_length[/yellow]"
        )
    terms = ", ".join(f"{k} {v:.4f}" for k, v in result.loss_terms().items())
    out.print(
        f"trained on {result.trained} of {result.pairs} pairs, {result.steps} steps; "
        f"{terms or 'no loss terms logged'} -> {out_dir}"
    )


@app.command("tiny-lm")
def tiny_lm(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the model into.")],
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            help="Text to train the tokenizer on: JSONL pairs, examples or candidates (every "
            "text field), or plain text. Repeatable."
        ),
    ] = None,
    vocab_size: Annotated[int, typer.Option(help="Tokenizer vocabulary, at most.")] = 4096,
    hidden_size: Annotated[int, typer.Option(help="Model width.")] = 64,
    layers: Annotated[int, typer.Option(help="Transformer layers.")] = 2,
) -> None:
    """Build a tiny random causal LM (Llama from a config, a BPE tokenizer trained on CORPUS,
    a chat template) to try `longjudge train` on a laptop. Its outputs mean nothing."""
    from ..train.tiny import build_tiny_causal_lm, corpus_texts

    texts = [text for path in corpus or [] for text in corpus_texts(path)]
    path = build_tiny_causal_lm(
        out_dir, texts, vocab_size=vocab_size, hidden_size=hidden_size, num_layers=layers
    )
    out.print(f"tiny causal LM ({layers} layers, width {hidden_size}) -> {path}")
