"""Judge cost per scored response on the bundled example (1 prompt, 10 responses), against the
fake OpenAI-compatible server with a scripted judge that splits answers into their sentences.

Prints calls and prompt/completion tokens (characters / 4 of what was sent and received) per
response and per step, in `batched` and `paper` modes, and the saving from sharing per-prompt
work (retrieval index, completeness key points) against doing it for every response (each
response scored as its own prompt).

    .venv/bin/python bench/judge_cost.py
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Literal

from _common import bundled, chars_over_4, server_script

from longjudge.config import JudgeConfig
from longjudge.judges.openai import OpenAIJudge
from longjudge.runtime.client import JudgeClient
from longjudge.scorers.longreward import LongReward, LongRewardConfig
from longjudge.scorers.longreward.scorer import Prepared
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from longjudge.types import Example, Reward

TARGET_CALLS, TARGET_TOKENS = 6, 12_000
MODES: tuple[Literal["batched", "paper"], ...] = ("batched", "paper")


@dataclass
class Cost:
    """One run's cost, per scored response unless said otherwise."""

    calls: float
    prompt_tokens: float
    completion_tokens: float
    statements: float
    scored: int
    prepare_count: int
    prepare_seconds: float
    seconds: float
    steps: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    second_look: dict[str, int] = field(default_factory=dict)


class TimedLongReward(LongReward):
    """LongReward that counts and times its per-prompt work (evidence index, windows)."""

    prepare_count = 0
    prepare_seconds = 0.0

    async def prepare(self, example: Example) -> Prepared:
        started = time.perf_counter()
        out = await super().prepare(example)
        self.prepare_count += 1
        self.prepare_seconds += time.perf_counter() - started
        return out


def run(
    server: FakeJudgeServer,
    mode: Literal["batched", "paper"],
    shared: bool,
    second_look: bool = False,
) -> Cost:
    example, candidates = bundled()
    judge = OpenAIJudge("fake-judge", JudgeConfig(base_url=server.base_url))
    client = JudgeClient(judge, max_concurrency=16)  # no cache: every call is counted
    config = LongRewardConfig(faithfulness_mode=mode)
    if second_look:  # off by default; the bench prints what turning it on costs
        config.retrieval.second_look_tokens = 640
    scorer = TimedLongReward(client, config)
    before = len(server.requests)
    rewards: list[Reward] = []

    async def go() -> None:
        if shared:
            rewards.extend(await scorer.score(example, candidates))
        else:  # each response as its own prompt: per-prompt work is redone every time
            for c in candidates:
                alone = Example(
                    id=f"{example.id}/{c.id}", context=example.context, query=example.query
                )
                alone_c = c.model_copy(update={"example_id": alone.id})
                rewards.extend(await scorer.score(alone, [alone_c]))
        await client.aclose()

    started = time.monotonic()
    asyncio.run(go())
    seconds = time.monotonic() - started
    bodies = [r["body"] for r in server.requests[before:]]
    n = len(candidates)
    statements = sum(len(r.dimensions["faithfulness"].details["statements"]) for r in rewards)
    return Cost(
        calls=len(bodies) / n,
        prompt_tokens=sum(chars_over_4(b["messages"]) for b in bodies) / n,
        completion_tokens=client.usage.total().completion_tokens / n,
        statements=statements / n,
        scored=sum(r.status == "scored" for r in rewards),
        prepare_count=scorer.prepare_count,
        prepare_seconds=scorer.prepare_seconds,
        seconds=seconds,
        steps={
            step: (u.calls, u.prompt_tokens, u.completion_tokens)
            for step, u in client.usage.steps.items()
        },
        second_look=scorer.stats()["faithfulness_second_look"],
    )


def second_look_cost() -> None:
    """The second look's cost (640 tokens, off by default) when the judge finds about one
    statement in three unsupported."""
    fake = FakeJudgeConfig(record_bodies=True)
    with FakeJudgeServer(fake, script=server_script(unsupported_every=3)) as server:
        print("\nsecond look, judge finding about 1 statement in 3 unsupported (per response):")
        for mode in MODES:
            off = run(server, mode, True)
            on = run(server, mode, True, second_look=True)
            looks = on.second_look
            print(
                f"  {mode:8} without {off.calls:4.1f} calls {off.prompt_tokens:7,.0f} prompt tok;"
                f" with {on.calls:4.1f} calls {on.prompt_tokens:7,.0f} prompt tok"
                f" (+{on.calls - off.calls:.1f} calls, +{on.prompt_tokens - off.prompt_tokens:,.0f}"
                f" tok; {looks.get('statements', 0) / 10:.1f} statements looked at again)"
            )


def main() -> None:
    with FakeJudgeServer(FakeJudgeConfig(record_bodies=True), script=server_script()) as server:
        run(server, "batched", True)  # warm-up: imports, tokenizer, connection
        results = {(m, s): run(server, m, s) for m in MODES for s in (True, False)}
    b = results[("batched", True)]
    print(
        f"Judge cost per scored response, bundled example: 10 responses of one prompt, "
        f"{b.statements:.1f} factual statements per response, {b.scored}/10 scored"
    )
    print(f"{'mode':8} {'per-prompt work':16} {'calls':>7} {'prompt tok':>11} {'compl. tok':>11}")
    for (mode, shared), r in results.items():
        label = "shared" if shared else "per response"
        print(
            f"{mode:8} {label:16} {r.calls:7.1f} {r.prompt_tokens:11,.0f} "
            f"{r.completion_tokens:11,.0f}"
        )
    for mode in MODES:
        r = results[(mode, True)]
        print(f"\n{mode}, per step (totals over 10 responses: calls, prompt, completion tokens):")
        for step, (calls, prompt, completion) in sorted(r.steps.items()):
            print(
                f"  {step:24} {calls:5d} {prompt:9,d} {completion:8,d}"
                f"   per response: {calls / 10:5.1f} calls {prompt / 10:7,.0f} prompt tok"
            )
    p, alone = results[("paper", True)], results[("batched", False)]
    print(
        f"\nbatched vs paper: {p.calls / b.calls:.1f}x fewer calls, "
        f"{p.prompt_tokens / b.prompt_tokens:.1f}x fewer prompt tokens"
    )
    print(
        f"sharing per-prompt work (batched) saves {alone.calls - b.calls:.1f} calls and "
        f"{alone.prompt_tokens - b.prompt_tokens:,.0f} prompt tokens per response "
        f"({1 - b.prompt_tokens / alone.prompt_tokens:.0%} of the tokens)"
    )
    print(
        f"per-prompt preparation (evidence index + windows, {LongRewardConfig().retrieval.method}"
        f" retrieval): {b.prepare_count} build, "
        f"{b.prepare_seconds:.2f} s shared vs {alone.prepare_count} builds, "
        f"{alone.prepare_seconds:.2f} s per response"
    )
    met = b.calls <= TARGET_CALLS and b.prompt_tokens <= TARGET_TOKENS
    print(
        f"target (batched, <= {TARGET_CALLS} calls and <= {TARGET_TOKENS:,} prompt tokens per "
        f"response, per-prompt work included): {'MET' if met else 'NOT MET'} "
        f"({b.calls:.1f} calls, {b.prompt_tokens:,.0f} prompt tokens)"
    )
    second_look_cost()


if __name__ == "__main__":
    main()
