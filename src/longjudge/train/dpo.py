"""DPO + λ·CE on preference pairs: a thin layer over TRL's ``DPOTrainer``.

The objective of both papers is the DPO loss plus a cross-entropy term on the chosen response:
TRL's ``loss_type=["sigmoid", "sft"]`` with ``loss_weights=[1, λ]`` (``"sft"`` is the token-mean
negative log-likelihood of the chosen completion). The parts, one module each:

- :mod:`.options`: longjudge's defaults (β = 0.15, λ = 0.1, learning rate 1e-6, an explicit
  ``max_length``) and its own options, the YAML section ``longjudge`` (:class:`TrainOptions`);
  ``DPOConfig`` field names sit at the top level of the file;
- :mod:`.args`: the ``DPOConfig`` (the defaults under the user's keys, which always win; no
  reporting integrations; bf16 and activation checkpointing on a GPU, ``use_cpu`` otherwise),
  unknown keys rejected by name, optional LoRA (peft);
- :mod:`.prepare`: every pair made to fit ``max_length`` by shortening its context, never its
  question or its responses (:mod:`longjudge.train.fit`), and a run with nothing left to train
  on refused before any model is loaded;
- :mod:`.terms`: the trainer that logs the two loss terms apart, as ``loss/sigmoid`` (DPO) and
  ``loss/sft`` (CE), unweighted, next to TRL's own metrics (TRL logs only their weighted sum);
- this module: the trainer built and run, the model saved, and ``longjudge_train.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fit import FitReport
from .options import TrainJob
from .prepare import Prepared, prepare

LOG_FILE = "longjudge_train.json"


@dataclass
class TrainResult:
    """What a training run did; ``log_history`` is the trainer's, with both loss terms.

    ``pairs`` were read, ``trained`` went into the training set; ``fit`` says what was cut and
    dropped to fit ``max_length``. ``trainer_dropped`` / ``trainer_truncated`` count what TRL
    itself dropped or cut at the end afterwards (0 unless something escaped the fit).
    """

    output_dir: Path
    pairs: int
    trained: int
    fit: FitReport
    trainer_dropped: int
    trainer_truncated: int
    log_history: list[dict[str, Any]]
    metrics: dict[str, Any]
    steps: int = 0
    main_process: bool = True

    def loss_terms(self) -> dict[str, float]:
        """The two loss terms (``loss/sigmoid``, ``loss/sft``) of the last step that logged
        them; empty when none did."""
        last: dict[str, Any] = next((h for h in reversed(self.log_history) if "loss/sft" in h), {})
        return {k: float(v) for k, v in last.items() if k.startswith("loss/")}


def build_trainer(job: TrainJob, prepared: Prepared | None = None) -> Any:
    """The ready ``DPOTrainer`` (longjudge's subclass that logs both loss terms), on the
    pairs made to fit."""
    from .terms import trainer_class

    ready = prepared or prepare(job)
    return trainer_class()(
        model=job.model,
        args=ready.args,
        train_dataset=ready.dataset,
        processing_class=ready.tokenizer,
        peft_config=ready.peft_config,
    )


def length_report(trainer: Any, pairs: int) -> tuple[int, int]:
    """(pairs dropped because the prompt alone fills max_length, pairs cut at max_length)."""
    dataset = trainer.train_dataset
    limit = trainer.args.max_length
    dropped = pairs - len(dataset)
    if limit is None:
        return dropped, 0
    truncated = sum(
        len(p) + max(len(c), len(r)) > limit
        for p, c, r in zip(dataset["prompt_ids"], dataset["chosen_ids"], dataset["rejected_ids"])
    )
    return dropped, int(truncated)


def _distributed(trainer: Any) -> dict[str, Any]:
    """How many processes trained, over which backend (``gloo`` for CPU processes)."""
    state = trainer.accelerator.state
    return {
        "processes": int(state.num_processes),
        "backend": state.backend,
        "type": str(state.distributed_type.value),
    }


def train_dpo(job: TrainJob, prepared: Prepared | None = None) -> TrainResult:
    """Train, save the model (or adapter) and tokenizer into ``job.output_dir``, and write
    the settings, the fit counts and the log history to ``longjudge_train.json`` there."""
    ready = prepared or prepare(job)
    trainer = build_trainer(job, ready)
    trainer_dropped, trainer_truncated = length_report(trainer, ready.fit.kept)
    output = trainer.train()
    trainer.save_model(str(job.output_dir))
    result = TrainResult(
        output_dir=job.output_dir,
        pairs=ready.fit.pairs,
        trained=len(trainer.train_dataset),
        fit=ready.fit,
        trainer_dropped=trainer_dropped,
        trainer_truncated=trainer_truncated,
        log_history=list(trainer.state.log_history),
        metrics=dict(output.metrics),
        steps=int(trainer.state.global_step),
        main_process=bool(trainer.is_world_process_zero()),
    )
    if result.main_process:
        args = trainer.args
        record = {
            "model": job.model,
            "pairs": result.pairs,
            "pairs_trained": result.trained,
            "fit": ready.fit.as_dict(),
            "dropped_prompt_too_long": trainer_dropped,
            "truncated": trainer_truncated,
            "steps": result.steps,
            "distributed": _distributed(trainer),
            "settings": {
                "beta": args.beta,
                "loss_type": list(args.loss_type),
                "loss_weights": list(args.loss_weights or []),
                "learning_rate": args.learning_rate,
                "max_length": args.max_length,
                "truncation": job.options.truncation,
                "lora": job.options.lora.model_dump() if job.options.lora else None,
            },
            "log_history": result.log_history,
        }
        path = Path(job.output_dir) / LOG_FILE
        path.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    return result


__all__ = ["LOG_FILE", "TrainResult", "build_trainer", "length_report", "train_dpo"]
