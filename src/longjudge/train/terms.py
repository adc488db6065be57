"""Log the DPO and CE terms of a combined TRL loss apart.

TRL 1.16's ``DPOTrainer`` adds ``Σ wᵢ · termᵢ`` over ``loss_type`` and logs only the sum. The
subclass built here watches the policy's forward pass of each batch (the first model call in
``_compute_loss``; a forward hook, removed afterwards) and computes from its per-token
log-probabilities

- ``loss/sft``: the token-mean NLL of the chosen completions, exactly TRL's ``"sft"`` term;
- ``loss/<type>`` of the one other loss type: ``(loss - w_sft · sft - aux) / w``;

both unweighted, averaged like TRL's own metrics. With WPO weighting (``use_weighting``) the
terms are not separable and are not logged.
"""

from __future__ import annotations

from typing import Any

_CLASS: Any = None


def chosen_nll(log_probs: Any, completion_mask: Any) -> Any:
    """Token-mean NLL of the chosen half of a ``[chosen; rejected]`` batch.

    ``log_probs[:, t]`` is the log-probability of token ``t + 1`` (the model's shifted
    output); ``completion_mask`` marks completion tokens of the unshifted input.
    """
    mask = completion_mask[..., 1:]
    per_token = log_probs[:, -mask.size(1) :]
    chosen_mask, _ = mask.chunk(2, dim=0)
    chosen_logps, _ = per_token.chunk(2, dim=0)
    return -chosen_logps[chosen_mask.bool()].mean()


def loss_terms(loss: Any, outputs: Any, inputs: dict[str, Any], trainer: Any) -> dict[str, Any]:
    """The unweighted terms of ``loss`` that can be told apart (detached tensors)."""
    types: list[str] = list(trainer.loss_types)
    weights: list[float] = list(trainer.loss_weights)
    rest = loss.detach()
    if trainer.aux_loss_enabled and getattr(outputs, "aux_loss", None) is not None:
        rest = rest - trainer.router_aux_loss_coef * outputs.aux_loss.detach()
    terms: dict[str, Any] = {}
    log_probs = getattr(outputs, "log_probs", None)
    if "sft" in types and log_probs is not None:
        sft = chosen_nll(log_probs.detach(), inputs["completion_mask"])
        terms["sft"] = sft
        rest = rest - sum(w for t, w in zip(types, weights) if t == "sft") * sft
    elif "sft" in types:
        return {}
    others = [(t, w) for t, w in zip(types, weights) if t != "sft"]
    if len(others) == 1 and others[0][1] != 0:
        name, weight = others[0]
        terms[name] = rest / weight
    return terms


def trainer_class() -> Any:
    """``DPOTrainer`` with the loss terms logged apart (built once, on first use)."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    from trl.trainer.dpo_trainer import DPOTrainer

    base: Any = DPOTrainer

    class LongJudgeDPOTrainer(base):  # type: ignore[misc]
        """DPOTrainer that also logs ``loss/<type>`` for each separable loss term."""

        def _compute_loss(self, model: Any, inputs: Any, return_outputs: bool) -> Any:
            captured: list[Any] = []

            def first_output(_module: Any, _args: Any, output: Any) -> None:
                if not captured:
                    captured.append(output)

            handle = model.register_forward_hook(first_output)
            try:
                result = super()._compute_loss(model, inputs, return_outputs)
            finally:
                handle.remove()
            if captured and not self.use_weighting:
                loss = result[0] if return_outputs else result
                mode = "train" if self.model.training else "eval"
                for name, value in loss_terms(loss, captured[0], inputs, self).items():
                    gathered = self.accelerator.gather_for_metrics(value.reshape(1))
                    self._metrics[mode][f"loss/{name}"].append(gathered.mean().item())
            return result

    _CLASS = LongJudgeDPOTrainer
    return _CLASS


__all__ = ["chosen_nll", "loss_terms", "trainer_class"]
