"""Opening PostgreSQL connections while the server is away: a request that waited for its turn
through a failed connection attempt is refused at once, not made to wait a connect timeout of
its own; a request asked after the failure tries again."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from handoff.store.connecting import asked_at
from handoff.store.db import make_engine


class HangingUp:
    """A server that accepts each connection and closes it at once, counting them."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:  # closed: the test is over
                return
            self.accepted += 1  # counted before the client can see the hang-up
            conn.close()


@contextmanager
def hanging_up() -> Iterator[HangingUp]:
    server = HangingUp()
    server.thread.start()
    try:
        yield server
    finally:
        server.socket.close()


def engine_for(server: HangingUp) -> Engine:
    """An engine on `server`, trying each connection once (no SSL or GSSAPI attempt first)."""
    query = "sslmode=disable&gssencmode=disable"
    return make_engine(f"postgresql+psycopg://u@127.0.0.1:{server.port}/db?{query}")


@contextmanager
def request_asked_now() -> Iterator[None]:
    token = asked_at.set(time.monotonic())
    try:
        yield
    finally:
        asked_at.reset(token)


def test_a_request_that_waited_through_a_failed_connection_attempt_is_refused_without_trying():
    with hanging_up() as server, request_asked_now():
        engine = engine_for(server)
        with pytest.raises(OperationalError):
            engine.connect()  # tried, and failed: the server is away
        with pytest.raises(OperationalError, match="unreachable while this request waited"):
            engine.connect()
        assert server.accepted == 1


def test_a_request_asked_after_a_failed_connection_attempt_tries_again():
    with hanging_up() as server:
        engine = engine_for(server)
        with request_asked_now(), pytest.raises(OperationalError):
            engine.connect()
        with request_asked_now(), pytest.raises(OperationalError) as second:
            engine.connect()
        assert "waited" not in str(second.value)
        assert server.accepted == 2


def test_outside_a_request_every_connection_is_tried():
    with hanging_up() as server:
        engine = engine_for(server)
        for _ in range(2):
            with pytest.raises(OperationalError):
                engine.connect()
        assert server.accepted == 2
