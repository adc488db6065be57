"""Pairs made to fit max_length by cutting the context only: the bundled LongReward prompt
(~9k tokens under a tokenizer trained on it) at 1024 tokens, planted facts that the relevant
cut must keep, the middle cut, drops with their reasons, and rows that record where the
context is (and older rows that do not). Tokenizer only: no model is trained here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from longjudge.preference.dataset import context_bounds, context_span, trl_rows
from longjudge.preference.sampling import PromptConfig
from longjudge.train.fit import ModelSpans, fit_rows, keep_relevant, marker, trl_measure
from longjudge.types import Chunk, Example, PreferencePair

pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "longreward"
MARK = re.compile(r"\[… ([\d,]+) tokens omitted …\]")


def bundled() -> tuple[Example, list[str]]:
    record = json.loads((EXAMPLE / "sft.jsonl").read_text().splitlines()[0])
    answers = [json.loads(line)["answer"] for line in
               (EXAMPLE / "sampled_responses.jsonl").read_text().splitlines()]
    return Example(id=str(record["idx"]), context=record["context"], query=record["query"]), answers


def pair_row(example: Example, chosen: str, rejected: str,
             prompt: PromptConfig | None = None) -> dict[str, Any]:
    pair = PreferencePair(example_id=example.id, strategy="best-worst", chosen_id="c",
                          rejected_id="r", chosen=chosen, rejected=rejected, chosen_score=8.0,
                          rejected_score=2.0)
    return trl_rows([pair], {example.id: example}, prompt)[0]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from transformers import AutoTokenizer

    from longjudge.train.tiny import build_tiny_causal_lm

    example, answers = bundled()
    path = build_tiny_causal_lm(tmp_path_factory.mktemp("lm"),
                                [example.context, example.query, *answers])
    return AutoTokenizer.from_pretrained(path)


def fit(rows: list[dict[str, Any]], tokenizer: Any, limit: int | None, mode: str = "relevant"
        ) -> tuple[list[dict[str, Any]], Any]:
    return fit_rows(rows, trl_measure(tokenizer), limit, mode, 64, ModelSpans(tokenizer))


def user(row: dict[str, Any]) -> str:
    return str(row["prompt"][-1]["content"])


# --- where the context is -------------------------------------------------------------------


def test_rows_record_the_context_span_under_any_template() -> None:
    example = Example(id="e", context="C {query} text", query="Q?")
    for template in ("{context}\n\n{query}", "Q: {query}\nDoc: {context}\nEnd",
                     "{query}{context}"):
        row = pair_row(example, "a", "b", PromptConfig(prompt_template=template,
                                                       system_prompt="sys"))
        assert row["prompt"][0] == {"role": "system", "content": "sys"}
        start, end = context_bounds(row) or (0, 0)
        assert user(row)[start:end] == example.context
        assert (row["context_start"], row["context_end"]) == (start, end)
    assert context_span("{context} and {context}\n{query}", "C", "Q") is None
    twice = pair_row(example, "a", "b", PromptConfig(prompt_template="{context}{query}{context}"))
    assert twice["context_start"] is None and context_bounds(twice) is None


def test_older_rows_without_offsets_fall_back_to_the_default_layout() -> None:
    old = {"prompt": [{"role": "user", "content": "Para one.\n\nPara two.\n\nThe question?"}]}
    assert context_bounds(old) == (0, len("Para one.\n\nPara two."))
    assert context_bounds({"prompt": [{"role": "user", "content": "no blank line"}]}) is None


# --- the bundled pair at 1024 tokens -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["relevant", "middle"])
def test_bundled_pair_fits_1024_with_only_the_context_cut(tokenizer: Any, mode: str) -> None:
    example, answers = bundled()
    row = pair_row(example, answers[0], answers[1])
    measure = trl_measure(tokenizer)
    prompt, chosen, rejected = measure(row)
    assert prompt > 8 * 1024  # the whole article is far over the limit
    kept, report = fit([row], tokenizer, 1024, mode)
    (new,) = kept
    new_prompt, new_chosen, new_rejected = measure(new)
    assert new_prompt + max(new_chosen, new_rejected) <= 1024
    assert new_prompt + max(new_chosen, new_rejected) > 1024 - 3 * 64  # the budget is used
    assert (new_chosen, new_rejected) == (chosen, rejected)
    assert new["chosen"] == row["chosen"] and new["rejected"] == row["rejected"]
    text = user(new)
    assert text.endswith("\n\n" + example.query)  # the question is intact
    assert text[new["context_start"]:new["context_end"]] + "\n\n" + example.query == text
    assert (report.pairs, report.kept, report.cut, report.dropped_total) == (1, 1, 1, 0)
    assert report.tokens_removed == prompt - new_prompt
    omitted = [int(n.replace(",", "")) for n in MARK.findall(text)]
    assert omitted and sum(omitted) > report.tokens_removed  # markers cost a few tokens back
    if mode == "middle":
        assert len(omitted) == 1
        assert text.startswith(example.context[:200]) and example.context.rstrip()[-100:] in text
    assert user(row) == example.context + "\n\n" + example.query  # the input row is unchanged


def test_fit_leaves_pairs_that_fit_alone(tokenizer: Any) -> None:
    example, answers = bundled()
    row = pair_row(example, answers[0], answers[1])
    kept, report = fit([row], tokenizer, None)
    assert kept[0] is row and (report.kept, report.cut, report.dropped_total) == (1, 0, 0)
    short = pair_row(Example(id="s", context="Short context.", query="Q?"), "yes", "no")
    kept, report = fit([short], tokenizer, 1024)
    assert kept[0] is short and (report.cut, report.tokens_removed) == (0, 0)


# --- what the relevant cut keeps ----------------------------------------------------------------


FILLER = ("The committee met again in the spring and discussed the budget of the harbour, "
          "the roads, and the schools without reaching any decision at all. ")
FACT_A = "The lighthouse keeper Orwell Tamsin repaired the copper lantern in 1887."
FACT_B = "Tamsin later wrote that the copper lantern burned whale oil every winter night."


def planted() -> Example:
    paragraphs = [FILLER * 3 for _ in range(40)]
    paragraphs[12] = FILLER + FACT_A + " " + FILLER
    paragraphs[27] = FILLER + FACT_B + " " + FILLER
    return Example(id="p", context="\n\n".join(paragraphs),
                   query="What did the lighthouse keeper repair, and what did the lantern burn?")


def test_relevant_cut_keeps_the_planted_facts_in_document_order(tokenizer: Any) -> None:
    example = planted()
    row = pair_row(example, "Tamsin repaired the copper lantern.", "He sold the roads.")
    kept, report = fit([row], tokenizer, 512)
    text = user(kept[0])
    assert FACT_A in text and FACT_B in text
    assert text.index(FACT_A) < text.index(FACT_B) < text.index(example.query)
    assert report.cut == 1
    middle, _ = fit([row], tokenizer, 512, "middle")
    assert FACT_A not in user(middle[0]) and FACT_B not in user(middle[0])


def test_keep_relevant_fuses_rankings_and_respects_the_budget() -> None:
    chunks = [Chunk(index=i, start=i, end=i + 1, text=str(i), n_tokens=10) for i in range(6)]
    # window 4 is first for two queries, 1 first for one; 5 appears in none
    keep = keep_relevant(chunks, [[4, 2], [1, 4], [4, 3]], budget=25)
    assert keep == {4, 1}
    assert keep_relevant(chunks, [[4]], budget=9) == set()
    assert keep_relevant(chunks, [], budget=60) == set(range(6))
    assert marker(1234) == "[… 1,234 tokens omitted …]"


# --- drops, with true counts ------------------------------------------------------------------


def test_counts_are_true_when_some_pairs_are_cut_and_some_dropped(tokenizer: Any) -> None:
    example, answers = bundled()
    fits = pair_row(Example(id="short", context="A short text.", query="Q?"), "yes", "no")
    cut = pair_row(example, answers[0], answers[1])
    no_context = {**cut, "example_id": "old", "prompt": [
        {"role": "user", "content": example.context.replace("\n\n", "\n") + " " + example.query}]}
    no_context.pop("context_start")
    no_context.pop("context_end")
    no_room = pair_row(Example(id="verbose", context="Tiny.", query="Q?"),
                       " ".join(answers * 2), "no")
    rows = [fits, cut, no_context, no_room]
    kept, report = fit(rows, tokenizer, 1024)
    assert [r["example_id"] for r in kept] == ["short", "11"]
    assert (report.pairs, report.kept, report.cut) == (4, 2, 1)
    assert report.dropped == {"no_context": 1, "no_room": 1}
    assert report.as_dict()["pairs_dropped"] == 2
    assert report.summary() == (
        f"2 of 4 pairs kept; context cut in 1 (relevant, {report.tokens_removed:,} tokens "
        "removed); 2 dropped (no_context 1, no_room 1)")


def test_drop_mode_and_the_refusal_say_what_to_change(tokenizer: Any) -> None:
    example, answers = bundled()
    row = pair_row(example, answers[0], answers[1])
    measure = trl_measure(tokenizer)
    prompt, chosen, rejected = measure(row)
    kept, report = fit_rows([row], measure, 1024, "drop")
    assert kept == [] and report.dropped == {"too_long": 1}
    message = report.refusal()
    assert "no pair left to train on at max_length 1024" in message
    assert f"The longest prompt has {prompt:,} tokens (pair 11)" in message
    assert f"--max-length to {prompt + max(chosen, rejected)}" in message
    assert "--truncation relevant or middle" in message

    _, report = fit([row], tokenizer, 200)  # the responses alone are longer than 200
    assert report.dropped == {"no_room": 1}
    assert report.shortest_need is not None and report.shortest_need > max(chosen, rejected)
    assert f"need {report.shortest_need:,} tokens" in report.refusal()
    _, report = fit([], tokenizer, 1024)
    assert "the pairs file is empty" in report.refusal()
