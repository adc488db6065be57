"""``GET /metrics``: request, item, judge usage and cache counters in Prometheus text format
(exposition format 0.0.4), written by hand so that no client library is needed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..runtime.cache import JudgeCache
from ..runtime.usage import UsageTracker
from .service import Counters

if TYPE_CHECKING:
    from .breaker import JudgeBreaker

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_USAGE_FIELDS = {
    "calls": ("longjudge_judge_calls_total", "Judge requests sent (cache hits excluded)."),
    "prompt_tokens": ("longjudge_judge_prompt_tokens_total", "Prompt tokens sent to the judge."),
    "completion_tokens": (
        "longjudge_judge_completion_tokens_total",
        "Completion tokens received from the judge.",
    ),
    "cache_hits": ("longjudge_judge_cache_hits_total", "Judge requests answered by the cache."),
    "retries": ("longjudge_judge_retries_total", "Judge request attempts that were retried."),
    "failures": (
        "longjudge_judge_failures_total",
        "Judge requests that failed or gave unusable output.",
    ),
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: dict[str, str]) -> str:
    if not pairs:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items())
    return "{" + inner + "}"


def _family(
    name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]
) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{_labels(labels)} {value:g}" for labels, value in samples]
    return lines


def render_metrics(
    counters: Counters,
    usage: UsageTracker,
    cache: JudgeCache | None,
    method: str,
    breaker: JudgeBreaker | None = None,
) -> str:
    """Every counter of one server as Prometheus text."""
    lines: list[str] = []
    lines += _family(
        "longjudge_requests_total",
        "counter",
        "HTTP requests answered, by endpoint and status code.",
        (
            ({"endpoint": endpoint, "code": str(code)}, count)
            for (endpoint, code), count in sorted(counters.requests.items())
        ),
    )
    lines += _family(
        "longjudge_request_seconds_total",
        "counter",
        "Seconds spent answering requests (all endpoints).",
        [({}, counters.request_seconds)],
    )
    lines += _family(
        "longjudge_requests_in_flight",
        "gauge",
        "Scoring requests being answered now.",
        [({}, counters.in_flight)],
    )
    lines += _family(
        "longjudge_items_total",
        "counter",
        "Items scored, by status (scored or unscored) and method.",
        (
            ({"status": status, "method": method}, counters.items.get(status, 0))
            for status in ("scored", "unscored")
        ),
    )
    lines += _family(
        "longjudge_invalid_items_total",
        "counter",
        "Items answered with an item error (bad input, over a limit) and not scored.",
        [({}, counters.invalid_items)],
    )
    if breaker is not None:
        lines += _breaker_lines(breaker)
    steps = sorted(usage.steps.items())
    for field, (name, help_text) in _USAGE_FIELDS.items():
        lines += _family(
            name,
            "counter",
            help_text + " By scorer step.",
            (({"step": step}, getattr(u, field)) for step, u in steps),
        )
    if cache is not None:
        lines += _family(
            "longjudge_cache_lookups_total",
            "counter",
            "Lookups in the judge cache by this process, by result.",
            [({"result": "hit"}, cache.hits), ({"result": "miss"}, cache.misses)],
        )
        lines += _family(
            "longjudge_cache_entries",
            "gauge",
            "Entries in the shared judge cache (all processes).",
            [({}, len(cache))],
        )
    return "\n".join(lines) + "\n"


def _breaker_lines(breaker: JudgeBreaker) -> list[str]:
    counts = breaker.counts
    lines = _family(
        "longjudge_judge_circuit_open",
        "gauge",
        "1 while the judge is unreachable and scoring requests get 503, else 0.",
        [({}, 1 if breaker.is_open else 0)],
    )
    for name, value, help_text in (
        ("connection_failures", counts.connection_failures, "Judge calls that could not connect."),
        ("circuit_opened", counts.opened, "Times the judge circuit opened."),
        ("probes", counts.probes, "Reachability probes of the judge while the circuit was open."),
        ("unavailable_responses", counts.rejected_requests, "Requests answered 503 (judge down)."),
    ):
        lines += _family(f"longjudge_judge_{name}_total", "counter", help_text, [({}, value)])
    return lines


__all__ = ["CONTENT_TYPE", "render_metrics"]
