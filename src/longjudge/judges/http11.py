"""A lean HTTP/1.1 client for plain ``http://`` judge servers: kept-alive asyncio streams.

A judge call is one POST of a JSON body and one JSON answer. httpx spends about 1.9 ms of CPU on
that exchange (its request and response models, httpcore's pool, h11's state machine, anyio's
cancel scopes); the same exchange on an asyncio stream costs about 0.12 ms
(``bench/README.md``), and at a few hundred calls per second that is the client's whole budget.
The ``openai`` backend uses this client for ``http://`` base URLs when no proxy is configured in
the environment, and httpx for everything else (TLS, proxies).

What it does: connections are kept alive and reused (most recently used first) until
``keepalive_expiry`` seconds idle; a request sent on a reused connection that the server had
closed meanwhile (no byte of answer came back) is sent once more on a fresh connection; answers
are framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or the end of the connection;
``Connection: close`` is honoured; one time limit covers connecting, sending and reading. Errors
are :class:`ConnectFailed` (no connection was made), :class:`Dropped` (the connection failed
during the exchange) and :class:`asyncio.TimeoutError`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: Longest status or header line accepted, and most header lines.
MAX_LINE, MAX_HEADERS = 65536, 200


class ConnectFailed(OSError):
    """No connection could be made (refused, unresolvable, unreachable)."""


class Dropped(ConnectionError):
    """The connection broke or the server answered something that is not HTTP/1.1."""


@dataclass
class Answer:
    """An HTTP answer: what the backend reads of it (the names httpx uses)."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)

    def usable(self, expiry: float) -> bool:
        return (
            time.monotonic() - self.idle_since < expiry
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        self.writer.close()


class Http11Pool:
    """Kept-alive HTTP/1.1 connections to one ``http://host:port/prefix``."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        timeout: float,
        keepalive_expiry: float,
        max_idle: int,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not a plain http:// URL: {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/") + "/"
        netloc = parts.netloc.rsplit("@", 1)[-1]
        fixed = {"Host": netloc, **headers}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self.timeout = timeout
        self.keepalive_expiry = keepalive_expiry
        self.max_idle = max_idle
        self._idle: list[_Connection] = []

    async def request(
        self, method: str, path: str, body: bytes = b"", timeout: float | None = None
    ) -> Answer:
        """Send one request and read its answer (``asyncio.TimeoutError``, the builtin
        TimeoutError since Python 3.11, past ``timeout`` seconds)."""
        head = (
            f"{method} {self.prefix}{path} HTTP/1.1\r\n{self._head}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        limit = self.timeout if timeout is None else timeout
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(limit):
                return await self._send(head, body)
        return await asyncio.wait_for(self._send(head, body), limit)  # pragma: no cover

    async def _send(self, head: bytes, body: bytes) -> Answer:
        while self._idle:
            conn = self._idle.pop()
            if not conn.usable(self.keepalive_expiry):
                conn.close()
                continue
            try:
                return await self._exchange(conn, head, body)
            except _NothingBack:
                continue  # the server closed it while idle: try another, then a new one
        conn = await self._connect()
        try:
            return await self._exchange(conn, head, body)
        except _NothingBack as exc:
            raise Dropped("the server closed the connection without answering") from exc

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_LINE)
        except OSError as exc:
            where = f"{self.host}:{self.port}"
            raise ConnectFailed(exc.errno, f"cannot connect to {where}: {exc}") from exc
        return _Connection(reader, writer)

    async def _exchange(self, conn: _Connection, head: bytes, body: bytes) -> Answer:
        keep = False
        try:
            try:
                conn.writer.write(head + body if len(body) < 65536 else head)
                if len(body) >= 65536:
                    conn.writer.write(body)
                await conn.writer.drain()
                status_line = await conn.reader.readline()
            except (ConnectionError, OSError) as exc:
                raise _NothingBack from exc
            if not status_line:
                raise _NothingBack
            try:
                answer, keep = await self._read_answer(conn.reader, status_line)
            except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                raise Dropped(f"the connection broke during the answer: {exc!r}") from exc
            return answer
        finally:
            if keep and len(self._idle) < self.max_idle:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()

    async def _read_answer(
        self, reader: asyncio.StreamReader, status_line: bytes
    ) -> tuple[Answer, bool]:
        version, _, rest = status_line.decode("latin-1").partition(" ")
        if not version.startswith("HTTP/1.") or not status_line.endswith(b"\n"):
            raise ValueError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
        status = int(rest.split(" ", 1)[0])
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line.endswith(b"\n"):
                raise ValueError("the answer's headers were cut off")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        else:
            raise ValueError("too many header lines")
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            content = await _read_chunked(reader)
        elif "content-length" in headers:
            content = await reader.readexactly(int(headers["content-length"]))
        elif status in (204, 304) or 100 <= status < 200:
            content = b""
        else:
            content, keep = await reader.read(), False  # framed by the end of the connection
        return Answer(status, headers, content), keep

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        for conn in idle:
            try:
                await conn.writer.wait_closed()
            except (ConnectionError, OSError):
                pass


class _NothingBack(Exception):
    """The request got no byte of answer: safe to send again on another connection."""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readline()
        if not size_line.endswith(b"\n"):
            raise ValueError("a chunk size line was cut off")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the CRLF after the chunk


__all__ = ["Answer", "ConnectFailed", "Dropped", "Http11Pool"]
