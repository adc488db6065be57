"""The lean HTTP/1.1 client against a real loopback server written for each case: framing
(Content-Length, chunked, end of connection), keep-alive reuse, a connection the server closed
while idle, Connection: close, and the errors (refused, dropped, time-out)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest

from longjudge.judges.http11 import ConnectFailed, Dropped, Http11Pool

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return await reader.readexactly(length)


def serve(handler: Handler) -> Callable[[], Awaitable[tuple[asyncio.Server, list[int]]]]:
    """A server that calls ``handler(reader, writer, n)`` for the n-th request; the handler
    returns whether to keep the connection open. Counts connections."""

    async def start() -> tuple[asyncio.Server, list[int]]:
        connections = [0]
        requests = [0]

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections[0] += 1
            try:
                while True:
                    await read_request(reader)
                    requests[0] += 1
                    if not await handler(reader, writer, requests[0]):
                        break
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        return server, connections

    return start


def pool(server: asyncio.Server, timeout: float = 5.0) -> Http11Pool:
    port = server.sockets[0].getsockname()[1]
    return Http11Pool(
        f"http://127.0.0.1:{port}/v1", {"Accept": "application/json"},
        timeout=timeout, keepalive_expiry=2.0, max_idle=4,
    )


async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
    body = f'{{"n": {n}}}'.encode()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    return True


def test_content_length_answers_reuse_one_connection() -> None:
    async def go() -> None:
        server, connections = await serve(ok)()
        async with server:
            client = pool(server)
            answers = [await client.request("POST", "chat/completions", b"{}") for _ in range(5)]
            assert [a.content for a in answers] == [f'{{"n": {i}}}'.encode() for i in range(1, 6)]
            assert connections == [1]
            await client.aclose()

    asyncio.run(go())


def test_chunked_and_close_delimited_answers() -> None:
    async def chunked(r: asyncio.StreamReader, w: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n")
            await w.drain()
            return True
        w.write(b"HTTP/1.0 429 Too Many\r\nRetry-After: 3\r\n\r\nslow down")
        await w.drain()
        return False  # framed by the end of the connection

    async def go() -> None:
        server, connections = await serve(chunked)()
        async with server:
            client = pool(server)
            first = await client.request("POST", "x", b"{}")
            assert (first.status_code, first.content) == (200, b"hello world")
            second = await client.request("POST", "x", b"{}")
            assert second.status_code == 429 and second.headers["retry-after"] == "3"
            assert second.text == "slow down"
            assert connections == [1] and client._idle == []  # not kept: it ended
            await client.aclose()

    asyncio.run(go())


def test_a_connection_closed_while_idle_is_replaced_without_an_error() -> None:
    async def once(r: asyncio.StreamReader, w: asyncio.StreamWriter, n: int) -> bool:
        await ok(r, w, n)
        return False  # closes after each answer, without saying Connection: close

    async def go() -> None:
        server, connections = await serve(once)()
        async with server:
            client = pool(server)
            for _ in range(3):
                assert (await client.request("POST", "x", b"{}")).status_code == 200
                await asyncio.sleep(0.05)  # let the close arrive (either way must work)
            assert connections == [3]
            await client.aclose()

    asyncio.run(go())


def test_refused_dropped_and_timed_out() -> None:
    async def drop(r: asyncio.StreamReader, w: asyncio.StreamWriter, n: int) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await w.drain()
        return False

    async def hang(r: asyncio.StreamReader, w: asyncio.StreamWriter, n: int) -> bool:
        await asyncio.sleep(30)
        return False

    async def go() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        refused = Http11Pool(f"http://127.0.0.1:{free}", {}, timeout=5, keepalive_expiry=1,
                             max_idle=1)
        with pytest.raises(ConnectFailed):
            await refused.request("GET", "models")
        server, _ = await serve(drop)()
        async with server:
            with pytest.raises(Dropped):
                await pool(server).request("POST", "x", b"{}")
        server, _ = await serve(hang)()
        async with server:
            with pytest.raises(asyncio.TimeoutError):
                await pool(server, timeout=0.2).request("POST", "x", b"{}")

    asyncio.run(go())
