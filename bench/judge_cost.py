"""Judge cost per scored response on the bundled example (1 prompt, 10 responses), against the
fake OpenAI-compatible server with a scripted judge that splits answers into their sentences.

Prints calls and prompt/completion tokens (characters / 4 of what was sent and received) per
response and per step, in `batched` and `paper` modes, and the saving from sharing per-prompt
work (retrieval index, completeness key points) against doing it for every response.

    .venv/bin/python bench/judge_cost.py
"""

from __future__ import annotations

import asyncio
import json
import time

from _common import bundled, chars_over_4, server_script

from longjudge.config import JudgeConfig
from longjudge.judges.openai import OpenAIJudge
from longjudge.runtime.client import JudgeClient
from longjudge.scorers.longreward import LongReward, LongRewardConfig
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from longjudge.types import Example

TARGET_CALLS, TARGET_TOKENS = 6, 12_000


def run(server: FakeJudgeServer, mode: str, shared: bool) -> dict[str, float]:
    example, candidates = bundled()
    judge = OpenAIJudge("fake-judge", JudgeConfig(base_url=server.base_url))
    client = JudgeClient(judge, max_concurrency=16)  # no cache: every call is counted
    scorer = LongReward(client, LongRewardConfig(faithfulness_mode=mode))  # type: ignore[arg-type]
    before = len(server.requests)

    async def go() -> None:
        if shared:
            await scorer.score(example, candidates)
        else:  # each response as its own prompt: per-prompt work is redone every time
            for c in candidates:
                alone = Example(
                    id=f"{example.id}/{c.id}", context=example.context, query=example.query
                )
                await scorer.score(alone, [c.model_copy(update={"example_id": alone.id})])
        await client.aclose()

    started = time.monotonic()
    asyncio.run(go())
    seconds = time.monotonic() - started
    bodies = [r["body"] for r in server.requests[before:]]
    n = len(candidates)
    steps: dict[str, list[int]] = {}
    for step, usage in client.usage.steps.items():
        steps[step] = [usage.calls, usage.prompt_tokens, usage.completion_tokens]
    return {
        "calls": len(bodies) / n,
        "prompt_tokens": sum(chars_over_4(b["messages"]) for b in bodies) / n,
        "completion_tokens": client.usage.total().completion_tokens / n,
        "seconds": seconds,
        "steps": steps,  # type: ignore[dict-item]
    }


def main() -> None:
    config = FakeJudgeConfig(record_bodies=True)
    with FakeJudgeServer(config, script=server_script()) as server:
        results = {
            (mode, shared): run(server, mode, shared)
            for mode in ("batched", "paper")
            for shared in (True, False)
        }
    print("Judge cost per scored response, bundled example (10 responses of one prompt)")
    print(f"{'mode':8} {'per-prompt work':16} {'calls':>7} {'prompt tok':>11} {'compl. tok':>11}")
    for (mode, shared), r in results.items():
        label = "shared" if shared else "per response"
        print(
            f"{mode:8} {label:16} {r['calls']:7.1f} {r['prompt_tokens']:11,.0f} "
            f"{r['completion_tokens']:11,.0f}"
        )
    for mode in ("batched", "paper"):
        r = results[(mode, True)]
        print(f"\n{mode}, per step (totals over 10 responses: calls, prompt, completion tokens):")
        for step, (calls, prompt, completion) in sorted(r["steps"].items()):  # type: ignore[union-attr]
            print(f"  {step:24} {calls:5d} {prompt:9,d} {completion:8,d}")
    b, p = results[("batched", True)], results[("paper", True)]
    alone = results[("batched", False)]
    print(
        f"\nbatched vs paper: {p['calls'] / b['calls']:.1f}x fewer calls, "
        f"{p['prompt_tokens'] / b['prompt_tokens']:.1f}x fewer prompt tokens"
    )
    print(
        f"sharing per-prompt work saves {alone['calls'] - b['calls']:.1f} calls and "
        f"{alone['prompt_tokens'] - b['prompt_tokens']:,.0f} prompt tokens per response "
        f"({1 - b['prompt_tokens'] / alone['prompt_tokens']:.0%} of the tokens)"
    )
    met = b["calls"] <= TARGET_CALLS and b["prompt_tokens"] <= TARGET_TOKENS
    print(
        f"target (batched, <= {TARGET_CALLS} calls and <= {TARGET_TOKENS:,} prompt tokens per "
        f"response, per-prompt work included): {'MET' if met else 'NOT MET'}"
    )
    print(
        json.dumps(
            {
                f"{m}/{'shared' if s else 'alone'}": {k: v for k, v in r.items() if k != "steps"}
                for (m, s), r in results.items()
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
