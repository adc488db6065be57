"""``longjudge train``: DPO + λ·CE on preference pairs with TRL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..config import build_config, load_yaml
from .app import app, console, out


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
    max_length: Annotated[int | None, typer.Option(help="Tokens per sequence.")] = None,
    lora: Annotated[bool, typer.Option(help="Train a LoRA adapter.")] = False,
) -> None:
    """Train MODEL on PAIRS with DPO + λ·CE; both loss terms are logged."""
    from ..train.dpo import LoraOptions, TrainJob, TrainOptions, split_config, train_dpo

    dpo, options = split_config(load_yaml(config) if config else {})
    if max_length is not None:
        dpo["max_length"] = max_length
    extra: dict[str, object] = {}
    if ce_weight is not None:
        extra["ce_weight"] = ce_weight
    if lora and options.lora is None:
        extra["lora"] = LoraOptions().model_dump()
    options = build_config(TrainOptions, options.model_dump(exclude_none=True), extra)
    result = train_dpo(TrainJob(pairs, model, out_dir, dpo, options))
    if result.dropped:
        console.print(
            f"[yellow]{result.dropped} pair(s) dropped: the prompt alone fills max_length[/yellow]"
        )
    if result.truncated:
        console.print(f"[yellow]{result.truncated} pair(s) cut at max_length[/yellow]")
    last: dict[str, Any] = next((h for h in reversed(result.log_history) if "loss/sft" in h), {})
    terms = ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k.startswith("loss/"))
    out.print(f"trained on {result.pairs} pairs; {terms or 'no loss terms logged'} -> {out_dir}")
