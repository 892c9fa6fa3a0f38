"""A TCP proxy in front of PostgreSQL that a test can take away and bring back.

The machine's PostgreSQL is shared, so it is never stopped; the API under test reaches it only
through this proxy instead. `stop()` is PostgreSQL going away (every connection closed, new
ones refused); `silence()` is a server that accepts connections and then never answers;
`start()` brings it back on the same port.
"""

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Proxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.silent = False
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def _run(self, work: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=10)

    def start(self) -> None:
        """Forward connections to PostgreSQL again, on the same port."""
        if self.silent:
            self._run(self._close())
        self.silent = False
        self._run(self._listen())

    def stop(self) -> None:
        """PostgreSQL goes away: open connections are cut and new ones refused."""
        self._run(self._close())

    def silence(self) -> None:
        """The server hangs: connections are accepted but nothing ever answers."""
        self._run(self._close())
        self.silent = True
        self._run(self._listen())

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _listen(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.port, reuse_address=True
            )

    async def _close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        if self.silent:
            return  # held open, never answered, until stop() or start()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers.add(up_writer)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self.writers.discard(writer)
