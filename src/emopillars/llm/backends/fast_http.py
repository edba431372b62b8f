"""A lean HTTP/1.1 keep-alive transport for ``httpx.AsyncClient``, for plain ``http://`` servers.

Why: httpcore's connection pool rescans every connection (and calls ``getpeername`` on each) at
every request state change, so its cost grows with the pool; measured here it capped the client at
~450 requests/s against a zero-latency server with 16 connections, and fewer with 64. A GPU server
answers faster than that. This transport keeps a plain list of idle asyncio connections, writes a
request in one ``write`` and reads ``Content-Length`` or chunked bodies; everything else (URL
building, headers, timeouts config, the response object) stays httpx. ``https://`` URLs, proxies
and HTTP/2 use httpx's own transport.

Faults map to httpx's exceptions (ConnectError, ConnectTimeout, ReadTimeout, RemoteProtocolError)
so callers handle both transports alike. A request that finds its pooled connection closed by the
server before any byte of the answer is resent once on a fresh connection (the server never saw it).
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

_MAX_HEADER = 64 * 1024


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _StaleConnection(Exception):
    """The pooled connection was closed by the server before it answered."""


class FastHTTPTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 over asyncio streams, at most ``max_connections`` open at once."""

    def __init__(self, max_connections: int = 64) -> None:
        self.max_connections = max(1, int(max_connections))
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"FastHTTPTransport serves http:// only, not {request.url.scheme}://")
        payload = _serialize(request, await request.aread())
        try:
            status, headers, body = await self.send_raw(_origin(request), payload, request.extensions.get("timeout"))
        except httpx.RequestError as exc:
            exc.request = request
            raise
        return httpx.Response(status, headers=headers, content=body, request=request)

    async def send_raw(
        self, origin: tuple[str, int], payload: bytes, timeouts: dict | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send one serialized request to ``origin`` (host, port); (status, headers, body) of the answer.

        The hot path of :class:`~emopillars.llm.backends.openai_compat.OpenAICompatBackend` calls this
        directly with bytes it prepared once, skipping httpx's client layers (auth, redirects, cookies,
        request and response objects), which cost more than the exchange itself against a fast server.
        Faults raise httpx's exceptions, as :meth:`handle_async_request` does.
        """
        timeouts = timeouts or {}
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        async with self._slots:
            for attempt in range(2):
                conn, reused = await self._acquire(origin, timeouts.get("connect"))
                try:
                    status, headers, body, keep = await asyncio.wait_for(
                        self._exchange(conn, payload, reused), timeouts.get("read")
                    )
                except _StaleConnection:
                    conn.close()
                    if attempt == 0:
                        continue
                    raise httpx.RemoteProtocolError("connection closed unanswered") from None
                except TimeoutError as exc:
                    conn.close()
                    raise httpx.ReadTimeout("timed out waiting for the answer") from exc
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError) as exc:
                    conn.close()
                    raise httpx.RemoteProtocolError(f"connection broke: {exc!r}") from exc
                except ValueError as exc:
                    conn.close()
                    raise httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}") from exc
                except BaseException:  # cancelled: the connection is mid-exchange, never reuse it
                    conn.close()
                    raise
                if keep:
                    self._idle.setdefault(origin, []).append(conn)
                else:
                    conn.close()
                return status, headers, body
        raise AssertionError("unreachable")

    async def _acquire(self, origin: tuple[str, int], connect_timeout: float | None) -> tuple[_Connection, bool]:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn, True
            conn.close()
        host, port = origin
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=_MAX_HEADER), connect_timeout
            )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return _Connection(reader, writer), False

    @staticmethod
    async def _exchange(conn: _Connection, payload: bytes, reused: bool):
        conn.writer.write(payload)
        await conn.writer.drain()
        reader = conn.reader
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if reused and not exc.partial:
                raise _StaleConnection from exc
            raise
        lines = head[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        headers = []
        length = None
        chunked = False
        close = version == "HTTP/1.0"
        for line in lines[1:]:
            name, _, value = line.partition(":")
            value = value.strip()
            headers.append((name, value))
            lower = name.lower()
            if lower == "content-length":
                length = int(value)
            elif lower == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif lower == "connection":
                close = value.lower() == "close" or (close and value.lower() != "keep-alive")
        if chunked:
            body = await _read_chunked(reader)
            headers = [(n, v) for n, v in headers if n.lower() != "transfer-encoding"]
        elif length is not None:
            body = await reader.readexactly(length)
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = await reader.read()
            close = True
        return status, headers, body, not close

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()


def _origin(request: httpx.Request) -> tuple[str, int]:
    return request.url.host, request.url.port or 80


def _serialize(request: httpx.Request, body: bytes) -> bytes:
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        if name.lower() == b"accept-encoding":
            value = b"identity"  # bodies are small JSON; no decoder needed
        parts += [name, b": ", value, b"\r\n"]
    parts += [b"\r\n", body]
    return b"".join(parts)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
