"""A Server-Sent Events reader for tests, and the API served by uvicorn in a thread (streams
need a real server: httpx's ASGI transport waits for the whole answer)."""

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tests.reliability.proxy import free_port


@dataclass
class Message:
    id: str | None = None
    event: str | None = None
    data: str = ""
    comments: list[str] = field(default_factory=list)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` on a free port until the block ends; yields its base URL once it accepts."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:  # readiness: uvicorn sets it once it listens
            assert thread.is_alive(), "the server stopped before it started"
            thread.join(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


class Reader:
    """One open stream, read in a thread: `next()` waits for the next message or comment."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.messages: queue.Queue[Message | BaseException] = queue.Queue()
        self.response: httpx.Response | None = None
        self._opened = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(30, read=60))
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()
        assert self._opened.wait(30), "the stream did not answer"

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                self.response = response
                self._opened.set()
                if response.status_code != 200:
                    response.read()
                    return
                current = Message()
                for line in response.iter_lines():
                    if line == "":
                        if current.id or current.event or current.data or current.comments:
                            self.messages.put(current)
                        current = Message()
                    elif line.startswith(":"):
                        current.comments.append(line[1:].strip())
                    else:
                        name, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if name == "data":
                            current.data += value
                        elif name in ("id", "event"):
                            setattr(current, name, value)
        except BaseException as error:  # closing the client ends the read: say so to waiters
            self._opened.set()
            self.messages.put(error)

    def next(self, timeout: float = 10) -> Message:
        """The next message; AssertionError when none comes within `timeout` seconds."""
        try:
            got = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing came within {timeout} s") from None
        if isinstance(got, BaseException):
            raise AssertionError(f"the stream ended: {got!r}")
        return got

    def next_event(self, timeout: float = 10) -> Message:
        """The next message that is an event (comments skipped), within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(deadline - time.monotonic(), 0))
            if message.id is not None:
                return message

    def close(self) -> None:
        """Hang up: shutting the socket down wakes the thread blocked reading it."""
        if self.response is not None:
            stream = self.response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the stream's reader did not stop"
        self._client.close()


@contextmanager
def reading(url: str, **headers: Any) -> Iterator[Reader]:
    reader = Reader(url, headers)
    try:
        yield reader
    finally:
        reader.close()
