"""The reward server never loses a batch to one bad item, takes tokens only from the header and
never writes one to its access log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from longjudge.config import RecordLimits
from longjudge.runtime.cache import JudgeCache
from longjudge.serve.app import create_app
from longjudge.serve.auth import BearerAuth
from longjudge.serve.config import ServeConfig
from longjudge.serve.server import serve_in_thread
from longjudge.serve.service import RewardService
from tests.serve_data import POOL, TOKEN, make_scorer

AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = POOL[0]
#: (item, the field named in the reason, words of the reason)
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({**GOOD, "context": "   \n\t"}, "context", "blank"),
    ({**GOOD, "query": ""}, "query", "blank"),
    ({**GOOD, "response": ""}, "response", "blank"),
    ({**GOOD, "response": " \n  "}, "response", "blank"),
    ({**GOOD, "response": "\u200b\u200b\u200b"}, "response", "invisible"),
    ({**GOOD, "response": "\u200b \ufeff\u2060\u200d"}, "response", "invisible"),
    ({**GOOD, "response": "x" + "word " * 80}, "response", "max_response_tokens"),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RewardService]:
    cache = JudgeCache(tmp_path_factory.mktemp("serve-items") / "judge.sqlite")
    yield RewardService(make_scorer(cache), RecordLimits(max_response_tokens=60))
    cache.close()


@pytest.fixture(scope="module")
def url(service: RewardService) -> Iterator[str]:
    app = create_app(service, ServeConfig(), BearerAuth(TOKEN))
    with serve_in_thread(app) as base:
        yield base


def test_bad_items_are_item_errors_and_the_rest_is_scored(
    url: str, service: RewardService
) -> None:
    items = [GOOD, *(item for item, _, _ in BAD), POOL[1]]
    response = httpx.post(url + "/v1/rewards", json={"items": items}, headers=AUTH, timeout=60)
    assert response.status_code == 200
    body = response.json()
    rewards, errors = body["rewards"], body["errors"]
    assert len(rewards) == len(items)
    assert rewards[0]["status"] == rewards[-1]["status"] == "scored"
    assert [e["index"] for e in errors] == list(range(1, len(BAD) + 1))
    for error, (_, field, words) in zip(errors, BAD):
        assert error["reason"].startswith(f"invalid_item: {field}:"), error
        assert words in error["reason"]
        reward = rewards[error["index"]]
        assert reward["status"] == "unscored" and reward["total"] is None
        assert reward["reason"] == error["reason"]
    requests = service.client.judge.requests  # type: ignore[attr-defined]
    sent = "\n".join(m["content"] for r in requests for m in r.messages)
    assert "\u200b" not in sent and "word word word" not in sent


def test_get_reward_reports_bad_items_with_their_index(url: str) -> None:
    prompt = f"{GOOD['context']}\n\nQuestion: {GOOD['query']}"
    body = {
        "query": [prompt + " " + GOOD["response"], prompt + " \u200b\u200b", prompt + " "],
        "prompts": [prompt, prompt, prompt],
    }
    response = httpx.post(url + "/get_reward", json=body, headers=AUTH, timeout=60)
    assert response.status_code == 200
    data = response.json()
    assert data["scored"] == [True, False, False]
    assert [e["index"] for e in data["errors"]] == [1, 2]
    assert "invisible" in data["errors"][0]["reason"]
    assert "blank" in data["errors"][1]["reason"]
    assert data["rewards"][1] is None


@pytest.mark.parametrize("param", ["token", "access_token", "api_key", "API-KEY"])
def test_tokens_in_the_url_are_refused(url: str, param: str) -> None:
    for path, method in (("/v1/rewards", "POST"), ("/metrics", "GET"), ("/health", "GET")):
        response = httpx.request(
            method, f"{url}{path}?{param}={TOKEN}", json={"items": [GOOD]}, timeout=60
        )
        assert response.status_code == 400, (path, response.text)
        assert TOKEN not in response.text
        assert "Authorization" in response.json()["detail"]
    # Even alongside a valid header: the URL must not carry it.
    with_header = httpx.post(
        f"{url}/v1/rewards?token={TOKEN}", json={"items": [GOOD]}, headers=AUTH, timeout=60
    )
    assert with_header.status_code == 400


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_access_log_never_prints_a_token(service: RewardService) -> None:
    app = create_app(service, ServeConfig(), BearerAuth(TOKEN))
    collect = _Collect()
    with serve_in_thread(app, access_log=True) as base:
        logger = logging.getLogger("uvicorn.access")
        logger.addHandler(collect)
        try:
            httpx.get(f"{base}/health?token={TOKEN}&x=1")
            httpx.get(f"{base}/metrics?access_token={TOKEN}", headers=AUTH)
            httpx.get(f"{base}/health")
        finally:
            logger.removeHandler(collect)
    assert len(collect.lines) == 3, collect.lines
    assert all(TOKEN not in line for line in collect.lines)
    assert "/health?token=***&x=***" in collect.lines[0]


def test_limits_and_rules_are_the_cli_rules(tmp_path: Path) -> None:
    # One function decides for both: the readers of `longjudge score` refuse the same items.
    import json

    from longjudge.io import read_candidates

    path = tmp_path / "responses.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for k, (item, _, _) in enumerate(BAD):
            if item["response"] != GOOD["response"]:
                out.write(json.dumps({"id": f"e-{k}", "text": item["response"]}) + "\n")
        out.write(json.dumps({"id": "e-ok", "text": GOOD["response"]}) + "\n")
    read = read_candidates(path, limits=RecordLimits(max_response_tokens=60))
    assert [c.id for c in read.records] == ["e-ok"]
    reasons = [e.reason for e in read.errors]
    assert len(reasons) == 5
    assert sum("blank" in r for r in reasons) == 2
    assert sum("invisible" in r for r in reasons) == 2
    assert sum("max_response_tokens" in r for r in reasons) == 1
