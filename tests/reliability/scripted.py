"""A scripted LongReward judge for the fake server whose scores depend on the judged text, so
that a reward reused for a changed text is caught."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from longjudge.judges.base import JudgeRequest

from ..lr_script import LRScript, server_script

ANSWER = re.compile(r"<<<ANSWER (\w+)>>>\n(.*?)\n<<<END ANSWER \1>>>", re.S)
KEY_POINTS = re.compile(r"<<<KEY POINTS (\w+)>>>\n(.*?)\n<<<END KEY POINTS \1>>>", re.S)
DOCUMENT = re.compile(r"<<<DOCUMENT PART (\w+)>>>\n(.*?)\n<<<END DOCUMENT PART \1>>>", re.S)


def helpfulness_of(answer: str) -> int:
    """A score that changes with the answer's text: 1 + its length mod 10."""
    return 1 + len(answer) % 10


@dataclass
class TextScript(LRScript):
    """LRScript with helpfulness from the answer's text, key points from each window's text,
    and key-point extraction failing (invalid output) for windows containing ``fail_window``."""

    fail_window: str | None = None
    failed: list[str] = field(default_factory=list)

    def __call__(self, request: JudgeRequest) -> str:
        user = request.messages[-1]["content"]
        name = request.schema_name
        if name in ("lr_helpfulness", "lr_keypoints", "lr_coverage"):  # LRScript counts the rest
            self.calls[name] = self.calls.get(name, 0) + 1
        if request.schema_name == "lr_helpfulness":
            match = ANSWER.search(user)
            assert match
            score = helpfulness_of(match.group(2))
            return json.dumps({"analysis": f"scripted {score}", "score": score})
        if request.schema_name == "lr_keypoints":
            match = DOCUMENT.search(user)
            assert match
            window = match.group(2)
            if self.fail_window is not None and self.fail_window in window:
                self.failed.append(window[:40])
                return "no usable answer"
            years = sorted(set(re.findall(r"year (\d{4})", window)))
            return json.dumps({"key_points": [f"visitors in {y}" for y in years]})
        if request.schema_name == "lr_coverage":
            block = KEY_POINTS.search(user)
            assert block
            listing = re.findall(r"^\d+\. ", block.group(2), re.M)
            return json.dumps({"analysis": f"{len(listing)} points", "score": len(listing) % 11})
        return super().__call__(request)


def scripted(script: TextScript) -> Callable[[dict[str, Any]], str]:
    return server_script(script)
