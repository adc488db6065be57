"""A scripted LongReward judge for the mock backend: answers each step by its schema name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from longjudge.judges.base import JudgeRequest

SUPPORT_BY_WORD = {"FULL": "full", "PART": "partial", "NONE": "none"}


@dataclass
class LRScript:
    """Deterministic answers; every knob can be changed per test."""

    helpfulness: int = 7
    logicality: int = 8
    coverage: int = 6
    covered: list[int] = field(default_factory=lambda: [1])
    statements: Callable[[str], list[str]] | None = None
    key_points: list[str] = field(default_factory=lambda: ["point one", "point two"])
    support: Callable[[str], str] = lambda s: next(
        (v for k, v in SUPPORT_BY_WORD.items() if k in s), "full"
    )
    #: (statement, excerpts shown {label: text}, the statement's own labels) -> (label, quote);
    #: default: the opening words of the statement's first own excerpt.
    quote: Callable[[str, dict[str, str], list[str]], tuple[str, str]] | None = None
    broken: set[str] = field(default_factory=set)
    calls: dict[str, int] = field(default_factory=dict)

    def __call__(self, request: JudgeRequest) -> str:
        name = request.schema_name
        self.calls[name] = self.calls.get(name, 0) + 1
        if name in self.broken:
            return "not json at all"
        user = request.messages[-1]["content"]
        if name == "lr_helpfulness":
            return json.dumps({"analysis": "fine", "score": self.helpfulness})
        if name == "lr_logicality":
            return json.dumps({"errors": [], "analysis": "ok", "score": self.logicality})
        if name == "lr_coverage":
            return json.dumps(
                {"analysis": "covers some", "covered": self.covered, "score": self.coverage}
            )
        if name == "lr_keypoints":
            return json.dumps({"key_points": self.key_points})
        if name == "lr_statements":
            answer = _block(user, "ANSWER")
            split = self.statements or _sentences
            return json.dumps({"statements": split(answer)})
        if name == "lr_support":
            statement = _block(user, "STATEMENT")
            shown = _excerpts(_block(user, "EXCERPTS"))
            return json.dumps(self._verdict(statement, shown, list(shown)))
        if name == "lr_support_batch":
            listing = _block(user, "STATEMENTS")
            shown = _excerpts(_block(user, "EXCERPTS"))
            verdicts = {}
            for line in listing.splitlines():
                match = re.match(r"(\d+)\. (.*) \(excerpts: (.*)\)$", line)
                if match:
                    own = [x.strip() for x in match.group(3).split(",") if x.strip() in shown]
                    verdicts[match.group(1)] = self._verdict(match.group(2), shown, own)
            return json.dumps({"verdicts": verdicts})
        raise AssertionError(f"unexpected step {name}")


    def _verdict(self, statement: str, shown: dict[str, str], own: list[str]) -> dict[str, str]:
        support = self.support(statement)
        label = quote = ""
        if support != "none":
            if self.quote is not None:
                label, quote = self.quote(statement, shown, own)
            elif own:
                label, quote = own[0], " ".join(shown[own[0]].split()[:12])
        return {"analysis": "checked", "excerpt": label, "quote": quote, "support": support}


def _excerpts(block: str) -> dict[str, str]:
    """The excerpts of an EXCERPTS block: label -> text."""
    found = re.findall(r"^\[(E\d+)\] (.*?)(?=\n\n\[E\d+\] |\Z)", block, re.S | re.M)
    return {label: text for label, text in found}


def server_script(script: Callable[[JudgeRequest], str]) -> Callable[[dict[str, Any]], str]:
    """``script`` behind the fake judge server's hook: request body in, output text out."""

    def answer(body: dict[str, Any]) -> str:
        fmt = body.get("response_format") or {}
        spec = fmt.get("json_schema") or {}
        request = JudgeRequest(
            messages=tuple(body["messages"]),
            schema=spec.get("schema") or fmt.get("schema"),
            schema_name=spec.get("name", "output"),
        )
        return script(request)

    return answer


def _block(text: str, label: str) -> str:
    match = re.search(rf"<<<{label} (\w+)>>>\n(.*?)\n<<<END {label} \1>>>", text, re.S)
    assert match, f"no {label} block"
    return match.group(2)


def _sentences(text: str) -> list[str]:
    return [s.strip() + "." for s in text.split(".") if s.strip()]
