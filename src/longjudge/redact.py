"""Keeping credentials out of what longjudge writes.

A base URL may carry credentials (``http://user:secret@host/v1``); the backend needs them to
connect, but nothing written (``config.yaml``, the run summary, rewards' reasons,
``errors.jsonl``, logs, error messages, the judge's identity in cache keys and displays) may
show them. :func:`redact_url` replaces the user-info part of every URL in a text with ``***``;
:func:`redact` does it for every string in a nested structure; :func:`url_secrets` lists the
literal pieces to scrub from messages that quote them without the URL around them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#@\s\"']+)@")

#: What stands in for redacted credentials.
REDACTED = "***"


def redact_url(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)


def redact(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, tuples, strings) with URL credentials redacted."""
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item) for item in value)
    return value


def url_secrets(url: str | None) -> list[str]:
    """The credentials of ``url`` as they may appear in text (raw and decoded), longest first;
    pieces shorter than 4 characters are left out (too common to scrub)."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found: set[str] = set()
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    for piece in (userinfo, parts.password or "", unquote(userinfo), unquote(parts.password or "")):
        if len(piece) >= 4:
            found.add(piece)
    return sorted(found, key=len, reverse=True)


__all__ = ["REDACTED", "redact", "redact_url", "url_secrets"]
