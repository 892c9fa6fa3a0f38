"""A writer waits for the SQLite writers' lock no longer than SQLite's own busy timeout would: a
holder that never lets go (a keyed request waiting for a thread that the waiters hold) ends in a
refusal the API answers 503, never in a hang."""

import threading

import pytest
from sqlalchemy.exc import OperationalError

from handoff.store import writer as writers
from handoff.store.writer import FairLock


def test_a_writer_that_waits_too_long_gives_up_and_leaves_the_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writers, "WRITER_WAIT", 0.05)
    lock, outcome = FairLock(), []

    def writer() -> None:
        try:
            with lock:
                outcome.append("wrote")
        except OperationalError:
            outcome.append("gave up")

    with lock:
        waiting = threading.Thread(target=writer)
        waiting.start()
        waiting.join(timeout=60)
    assert outcome == ["gave up"]
    assert lock.is_free
    with lock:  # the queue goes on for the next writer
        outcome.append("next")
    assert outcome == ["gave up", "next"]
