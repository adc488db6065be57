"""Logging of the reward server: uvicorn's settings, with query strings redacted in the access
log, so that a credential sent in a URL (which the server refuses) is never written to a log."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

_QUERY_VALUE = re.compile(r"([?&][^=&#\s]+=)[^&#\s]*")


def redact_url(text: str) -> str:
    """``text`` with every query value replaced by ``***`` (names kept for debugging)."""
    return _QUERY_VALUE.sub(r"\1***", text)


class RedactQuery(logging.Filter):
    """Redacts query values in the arguments and message of an access-log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


def access_log_config() -> dict[str, Any]:
    """uvicorn's default logging config plus :class:`RedactQuery` on its access logger."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_query"] = {"()": f"{__name__}.RedactQuery"}
    config["loggers"]["uvicorn.access"]["filters"] = ["redact_query"]
    return config


__all__ = ["RedactQuery", "access_log_config", "redact_url"]
