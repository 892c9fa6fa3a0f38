"""SQLite's one writer: this process's writers take turns on a lock of their own first (see
`Database._one_writer_at_a_time`)."""

import threading
from collections import deque

from sqlalchemy.exc import OperationalError

WRITER_WAIT = 30  # seconds a writer waits for its turn, as long as SQLite's busy_timeout


class FairLock:
    """A reentrant lock handed to its waiters in the order they came: a releasing thread cannot
    take it straight back while others wait (threading.RLock lets it), which keeps every
    request's wait for the SQLite writer within one queue's length."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiters: deque[tuple[int, threading.Lock]] = deque()

    def __enter__(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me or (self._owner is None and not self._waiters):
                self._owner, self._depth = me, self._depth + 1
                return
            gate = threading.Lock()
            gate.acquire()
            self._waiters.append((me, gate))
        if gate.acquire(timeout=WRITER_WAIT):  # released by the thread handing the lock over
            return
        with self._mutex:
            if (me, gate) not in self._waiters:
                return  # handed over just as the wait ran out
            self._waiters.remove((me, gate))
        # As SQLite's own busy timeout would (a holder that never lets go: 503 over HTTP).
        raise OperationalError("BEGIN", None, TimeoutError("the SQLite writer stayed busy"))

    @property
    def is_free(self) -> bool:
        """Nobody holds it or waits for it (a glance: it may be taken the moment after)."""
        return self._owner is None and not self._waiters

    def __exit__(self, *_exc: object) -> None:
        with self._mutex:
            self._depth -= 1
            if self._depth:
                return
            self._owner = None
            if self._waiters:
                self._owner, gate = self._waiters.popleft()
                self._depth = 1
                gate.release()


_writers: dict[str, FairLock] = {}
_writers_guard = threading.Lock()


def writer_of(url: str) -> FairLock:
    """The one lock of this process's writers to the database at `url`."""
    with _writers_guard:
        return _writers.setdefault(url, FairLock())
