"""A small HTTP/1.1 client on raw asyncio streams, with keep-alive.

The bench's load generator: much cheaper per request than an HTTP library, so
that the client is not what saturates, and the same for every endpoint it
compares. It speaks just what daphne answers: Content-Length or chunked
bodies, keep-alive unless the server says `Connection: close`.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


class HttpError(Exception):
    """The connection failed or the answer could not be read."""


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.host_header = f"{self.host}:{self.port}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict | None = None
    ) -> tuple[int, bytes]:
        """Send one request and read its answer: (status, body)."""
        if self.writer is None:
            await self._open()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host_header}"]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.writer.write(head + body)
            status, answer, keep = await self._read_answer()
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        if not keep:
            self.close()
        return status, answer

    async def _read_answer(self) -> tuple[int, bytes, bool]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            answer = b"".join(chunks)
        else:
            answer = await self.reader.readexactly(int(headers.get("content-length", 0)))
        keep = headers.get("connection", "").lower() != "close"
        return status, answer, keep


class Pool:
    """Keep-alive connections to one server, opened as needed up to `limit`."""

    def __init__(self, base_url: str, limit: int = 64) -> None:
        self.base_url = base_url
        self.limit = limit
        self.idle: list[Connection] = []
        self.opened = 0
        self.freed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        async with self.freed:
            while not self.idle and self.opened >= self.limit:
                await self.freed.wait()
            if self.idle:
                connection = self.idle.pop()
            else:
                connection = Connection(self.base_url)
                self.opened += 1
        try:
            yield connection
        finally:
            async with self.freed:
                self.idle.append(connection)
                self.freed.notify()

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict | None = None
    ) -> tuple[int, bytes, float, float]:
        """(status, body, started, seconds): `started` is when the request was written
        (perf_counter), after waiting for a free connection."""
        async with self.connection() as connection:
            started = time.perf_counter()
            status, answer = await connection.request(method, path, body, headers)
            return status, answer, started, time.perf_counter() - started

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()
