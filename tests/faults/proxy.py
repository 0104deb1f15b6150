"""A TCP proxy on loopback that a test or the fault campaign can cut: the way to make a real
server (PostgreSQL, the Kafka broker) unreachable without touching the server itself.

While cut, it refuses new connections (closes them at once) and has closed every open one,
as a network partition or a server going away looks to a client. `restore()` lets new
connections through again.
"""

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator


class CuttableProxy:
    """Listens on 127.0.0.1:`port` (a free one by default) and forwards to `target`."""

    def __init__(self, target_host: str, target_port: int, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port: int = self._sock.getsockname()[1]
        self._cut = False
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> "CuttableProxy":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)
        return self

    def cut(self) -> None:
        asyncio.run_coroutine_threadsafe(self._cut_now(), self._loop).result(10)

    def restore(self) -> None:
        async def restoring() -> None:
            self._cut = False

        asyncio.run_coroutine_threadsafe(restoring(), self._loop).result(10)

    @property
    def is_cut(self) -> bool:
        return self._cut

    def close(self) -> None:
        async def closing() -> None:
            await self._cut_now()
            if self._server is not None:
                self._server.close()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(closing(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._accepted, sock=self._sock)

    async def _cut_now(self) -> None:
        self._cut = True
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._cut:  # cut while this one was connecting upstream
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for end in (writer, up_writer):
                self._open.discard(end)
                end.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    writer.transport.abort()


@contextlib.contextmanager
def cuttable(target_host: str, target_port: int) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(target_host, target_port).start()
    try:
        yield proxy
    finally:
        proxy.close()
