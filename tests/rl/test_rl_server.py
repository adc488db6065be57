"""LongJudgeReward(server=...) against a real `longjudge serve` (fake judge behind it, both over
HTTP on loopback): the same values as in-process scoring, tokens, --allow-from, batching."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from longjudge.config import ScoreConfig, build_config
from longjudge.errors import ConfigError
from longjudge.rl import LongJudgeReward
from longjudge.serve.config import ServeConfig
from longjudge.serve.server import ServerSettings, build_app, serve_in_thread
from longjudge.testing.fake_config import FakeJudgeConfig
from longjudge.testing.fake_judge import FakeJudgeServer
from tests.rl_helpers import context, question, schema_counts, score_config

TOKEN = "rl-test-token-0123456789abcdef"
ANSWERS = ["Bend 1 ground three sacks.", "Many sacks.", "Bend 4 ground six sacks, I think."]


@pytest.fixture(scope="module")
def judge() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer(FakeJudgeConfig(record_bodies=True)) as server:
        yield server


def serve(judge: FakeJudgeServer, *, allow_from: list[str] | None = None) -> Iterator[str]:
    score = build_config(ScoreConfig, score_config(judge))
    settings = ServerSettings("openai/fake-judge", "longreward", score,
                              ServeConfig(allow_from=allow_from or []))
    with serve_in_thread(build_app(settings, TOKEN)) as url:
        yield url


@pytest.fixture(scope="module")
def server(judge: FakeJudgeServer) -> Iterator[str]:
    yield from serve(judge)


def columns(n: int, i: int = 0) -> dict[str, list[str]]:
    return {"context": [context(i)] * n, "query": [question(i)] * n}


def test_server_values_equal_in_process_values(
    judge: FakeJudgeServer, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RL_TEST_TOKEN", TOKEN)
    completions = [*ANSWERS, ANSWERS[0]]
    cols = {"context": [context(4)] * 3 + [context(5)], "query": [question(4)] * 3 + [question(5)]}
    with LongJudgeReward(judge="openai/fake-judge", config=score_config(judge)) as local:
        expected = local(completions=completions, **cols)
    mark = len(judge.requests)
    with LongJudgeReward(server=server, token_env="RL_TEST_TOKEN", name="remote",
                         server_batch_items=3) as remote:  # two requests
        metrics: dict[str, float] = {}
        values = remote(completions=completions, **cols, log_metric=metrics.__setitem__)
        assert remote.stats.groups == 2
    assert values == pytest.approx(expected)
    # a prompt's completions stay together: key points once per prompt on the server too
    assert schema_counts(judge, mark)["lr_keypoints"] == 2
    assert metrics["remote/unscored"] == 0.0 and metrics["remote/judge_calls"] > 0


def test_without_the_token_every_completion_is_unscored(server: str) -> None:
    with LongJudgeReward(server=server, token_env="RL_TEST_UNSET_TOKEN") as remote:
        values = remote(completions=ANSWERS[:2], **columns(2))
        assert values == [None, None]
        assert remote.stats.unscored_reasons == {"server": 2}
        (reward,) = remote.score_and_record([None], ["bad_request: nothing"])
        assert reward.status == "unscored"


def test_allow_from_lets_a_tokenless_client_in(judge: FakeJudgeServer) -> None:
    for url in serve(judge, allow_from=["loopback"]):
        with LongJudgeReward(server=url, token_env="RL_TEST_UNSET_TOKEN") as remote:
            values = remote(completions=ANSWERS[:2], **columns(2, 6))
    assert all(isinstance(v, float) for v in values)


def test_method_must_match_the_server(server: str) -> None:
    with LongJudgeReward("s2l", server=server) as wrong:
        with pytest.raises(ConfigError, match="scores with 'longreward'"):
            wrong(completions=["x"], **columns(1))


def test_unreachable_server_gives_none(judge: FakeJudgeServer) -> None:
    retry = {"max_attempts": 2, "initial_backoff": 0.01, "max_backoff": 0.02, "jitter": 0.0}
    with LongJudgeReward(server="http://127.0.0.1:9", config={"retry": retry}) as remote:
        assert remote(completions=["x"], **columns(1)) == [None]
        assert remote.stats.unscored_reasons == {"server": 1}


def test_batches_keep_a_prompts_completions_together() -> None:
    from longjudge.config import RetryConfig
    from longjudge.rl.scoring import RemoteScoring, RewardInput

    scoring = RemoteScoring("longreward", "http://127.0.0.1:1", "UNSET", RetryConfig(),
                            batch_items=3)
    items = [RewardInput(f"c{k}", "q", str(i)) for i, k in enumerate([0, 1, 0, 0, 1, 2, 2, 2, 2])]
    assert scoring._batches(items) == [[0, 2, 3], [1, 4], [5, 6, 7], [8]]
