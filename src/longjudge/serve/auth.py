"""Bearer-token authentication of the reward server.

The token comes from a file (``--token-file``, first line) or from the environment variable
``serve.token_env`` (``LONGJUDGE_API_TOKEN``). With neither, the server refuses to start unless
authentication is switched off explicitly (``--no-auth``). Tokens are compared in constant time
and never logged or echoed. They are accepted only in the ``Authorization`` header: a URL is
written to access logs, proxies and shell histories, so a request carrying a credential in its
query string (:func:`is_token_param`) is refused, and the access log never prints one
(:mod:`longjudge.serve.logs`).
"""

from __future__ import annotations

import hmac
import os
import stat
from pathlib import Path

from ..errors import ConfigError

#: Shorter tokens are refused: they can be guessed.
MIN_TOKEN_CHARS = 16

#: Query parameter names that carry a credential (compared lower-case, '-' read as '_').
TOKEN_PARAMS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "auth", "authorization", "bearer"}
)


def is_token_param(name: str) -> bool:
    """Whether a query parameter of this name carries a credential."""
    return name.strip().lower().replace("-", "_") in TOKEN_PARAMS


def resolve_token(token_file: Path | None, env_name: str, no_auth: bool) -> str | None:
    """The token to require, or None when authentication is off (only with ``no_auth``)."""
    if no_auth:
        return None
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {token_file}: {exc.strerror}") from exc
        token = text.strip().splitlines()[0].strip() if text.strip() else ""
        source = f"token file {token_file}"
    else:
        token = os.environ.get(env_name, "").strip()
        source = f"${env_name}"
    if not token:
        raise ConfigError(
            f"no API token: set ${env_name} or pass --token-file; pass --no-auth to serve "
            "without authentication (only on a trusted network)"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"the token from {source} is shorter than {MIN_TOKEN_CHARS} characters")
    return token


def token_file_is_private(path: Path) -> bool:
    """Whether no one but the owner can read ``path`` (POSIX permissions)."""
    mode = path.stat().st_mode
    return not mode & (stat.S_IRWXG | stat.S_IRWXO)


class BearerAuth:
    """Checks an ``Authorization`` header against the expected token in constant time."""

    def __init__(self, token: str | None) -> None:
        self._expected = token.encode("utf-8") if token is not None else None

    @property
    def enabled(self) -> bool:
        return self._expected is not None

    def check(self, header: str | None) -> bool:
        """True when authentication is off or ``header`` is ``Bearer <the token>``."""
        if self._expected is None:
            return True
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode("utf-8"), self._expected)

    def __repr__(self) -> str:  # never show the token
        return f"BearerAuth(enabled={self.enabled})"


__all__ = [
    "MIN_TOKEN_CHARS",
    "TOKEN_PARAMS",
    "BearerAuth",
    "is_token_param",
    "resolve_token",
    "token_file_is_private",
]
