"""Support verdicts carry their proof: quotes checked against the excerpts, honest batches,
and the second look. The judge is the registered mock with scripted outputs; retrieval is real
(BM25 over the context's windows)."""

from __future__ import annotations

import pytest

from longjudge.scorers.longreward.quotes import check_quote, locate, normalise
from longjudge.types import Reward
from tests.lr_script import LRScript
from tests.scorers.test_longreward import CONTEXT, EXAMPLE, LOOK_AGAIN, cand, scorer


def faith(reward: Reward) -> tuple[float | None, dict]:  # type: ignore[type-arg]
    dim = reward.dimensions["faithfulness"]
    return dim.score, dim.details


def test_normalise_maps_quotes_and_whitespace_back_to_the_source() -> None:
    text = "He said \u201chello\u201d,\n\n  and\tleft."
    plain, where = normalise(text)
    assert plain == 'He said "hello", and left.'
    assert all(text[where[i]].translate({0x201C: '"', 0x201D: '"'}) == plain[i] or
               plain[i] == " " for i in range(len(plain)))
    assert locate(["hello", "and left"], text) == (text.index("hello"), len(text) - 1)
    assert locate(["left", "hello"], text) is None  # pieces must come in order


def test_check_quote_statuses_and_offsets() -> None:
    context = "Alpha beta gamma. The harbour handles 30 ships a year. Omega delta epsilon."
    shown = {"E1": (0, 17), "E2": (18, 54)}
    ok = check_quote("\u201cThe harbour handles 30 ships\u201d", "E2", shown, context, ["E2"])
    assert ok.status == "verified" and ok.own
    assert context[ok.start : ok.end] == "The harbour handles 30 ships"  # type: ignore[misc]
    elided = check_quote("The harbour ... a year", "E2", shown, context)
    assert elided.status == "verified" and context[elided.start : elided.end].endswith("a year")  # type: ignore[misc]
    wrong_label = check_quote("handles 30 ships a year", "E1", shown, context, ["E1"])
    assert wrong_label.status == "other_excerpt" and wrong_label.excerpt == "E2"
    assert not wrong_label.own
    assert check_quote("Omega delta epsilon", "E1", shown, context).status == "not_shown"
    assert check_quote("The harbour handles 99 ships", "E2", shown, context).status == "not_found"
    assert check_quote("", "E2", shown, context).status == "missing"
    assert check_quote("30", "E2", shown, context).status == "missing"  # too short to prove


def forged(statement: str, shown: dict[str, str], own: list[str]) -> tuple[str, str]:
    """A judge that cites its first excerpt but makes the quote up."""
    return (own[0] if own else "E1"), "The harbour of this town handles four thousand ships"


def test_a_quote_not_in_the_context_is_not_support() -> None:
    text = "Town 12 handles 120 ships FULL. Town 13 handles 130 ships FULL."
    lr, _ = scorer(LRScript(quote=forged), dimensions=["faithfulness"])
    (reward,) = lr.score_sync(EXAMPLE, [cand(0, text)])
    score, details = faith(reward)
    assert reward.status == "scored" and score == 0.0
    statements = details["statements"]
    assert [s["support"] for s in statements] == ["full", "full"]  # the judge's word, kept
    assert [s["quote"]["status"] for s in statements[:2]] == ["not_found", "not_found"]
    assert details["quotes"]["not_found"] >= 2
    lr, _ = scorer(LRScript(quote=forged), dimensions=["faithfulness"], unverified_support="half")
    (reward,) = lr.score_sync(EXAMPLE, [cand(0, text)])
    assert faith(reward)[0] == pytest.approx(5.0)


def test_a_quote_from_the_context_but_not_from_the_excerpts_is_not_support() -> None:
    elsewhere = "The harbour of town 71 handles 710 ships a year."
    assert elsewhere in CONTEXT

    def unshown(statement: str, shown: dict[str, str], own: list[str]) -> tuple[str, str]:
        return own[0], elsewhere

    lr, _ = scorer(LRScript(quote=unshown), dimensions=["faithfulness"])
    (reward,) = lr.score_sync(EXAMPLE, [cand(0, "Town 2 handles 20 ships FULL.")])
    score, details = faith(reward)
    assert score == 0.0 and details["statements"][0]["quote"]["status"] == "not_shown"


def test_verified_quotes_keep_offsets_into_the_context() -> None:
    lr, _ = scorer(LRScript(), dimensions=["faithfulness"])
    (reward,) = lr.score_sync(EXAMPLE, [cand(0, "Town 12 handles 120 ships FULL.")])
    score, details = faith(reward)
    quote = details["statements"][0]["quote"]
    assert score == 10.0 and quote["status"] == "verified"
    assert " ".join(CONTEXT[quote["start"] : quote["end"]].split()) == " ".join(
        quote["text"].split()
    )
    window = next(
        e for e in details["statements"][0]["evidence"]
        if e["start"] <= quote["start"] and quote["end"] <= e["end"]
    )
    assert window  # the quote lies inside one of the statement's own excerpts


def test_batched_support_from_another_statements_excerpt_is_counted() -> None:
    def other(statement: str, shown: dict[str, str], own: list[str]) -> tuple[str, str]:
        foreign = [label for label in shown if label not in own]
        label = foreign[0] if foreign else own[0]
        return label, " ".join(shown[label].split()[:10])

    text = "Town 12 handles 120 ships FULL. Person 60 was mayor in year 60 FULL."
    lr, _ = scorer(LRScript(quote=other), dimensions=["faithfulness"])
    (reward,) = lr.score_sync(EXAMPLE, [cand(0, text)])
    score, details = faith(reward)
    assert score == 10.0  # shown in the call: it counts ...
    assert details["quotes"]["other_statement"] == 2  # ... and it is counted
    assert all(s["quote"]["own"] is False for s in details["statements"])
    assert lr.stats()["faithfulness_quotes"]["other_statement"] == 2


def test_second_look_shows_the_next_best_excerpts_once() -> None:
    seen: dict[str, int] = {}

    def late(statement: str) -> str:  # unsupported at first sight, supported at the second
        seen[statement] = seen.get(statement, 0) + 1
        return "none" if seen[statement] == 1 else "full"

    script = LRScript(support=late)
    lr, _ = scorer(script, dimensions=["faithfulness"], retrieval=LOOK_AGAIN)
    (reward,) = lr.score_sync(EXAMPLE, [cand(0, "Town 12 handles 120 ships. Town 13 is calm.")])
    score, details = faith(reward)
    assert score == 10.0
    assert details["second_look"] == {"statements": 2, "calls": 1, "improved": 2, "failed": 0}
    assert script.calls["lr_support_batch"] == 2  # first look + one batched second look
    for s in details["statements"]:
        assert s["second_look"] is True and s["quote"]["status"] == "verified"
        spans = [(e["start"], e["end"]) for e in s["evidence"]]
        assert len(set(spans)) == len(spans)  # the second look shows new excerpts only
    assert lr.stats()["faithfulness_second_look"]["improved"] == 2


def test_second_look_is_off_by_default() -> None:
    script = LRScript(support=lambda s: "none")
    lr, _ = scorer(script, dimensions=["faithfulness"])
    (reward,) = lr.score_sync(EXAMPLE, [cand(0, "Town 12 handles 120 ships.")])
    assert faith(reward)[1]["second_look"]["calls"] == 0
    assert script.calls["lr_support_batch"] == 1


def _normalise_char_by_char(text: str) -> tuple[str, list[int]]:
    # The definition: quotes made plain, each whitespace run one space, a leading run dropped.
    table = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2019": "'", "`": "'"})
    out: list[str] = []
    where: list[int] = []
    space = False
    for i, ch in enumerate(text.translate(table)):
        if ch.isspace():
            if out and not space:
                out.append(" ")
                where.append(i)
            space = True
            continue
        out.append(ch)
        where.append(i)
        space = False
    return "".join(out), where


def test_normalise_agrees_with_its_definition_on_awkward_text() -> None:
    import random

    alphabet = " \t\n\r\u00a0\u2003\u3000\x1c\x1fab\u201c\u201d'`x.中"
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        assert normalise(text) == _normalise_char_by_char(text), repr(text)
