"""The SQLite writers' queue hands the lock over in the order the writers came."""

import threading
import time

from handoff.store.writer import FairLock

PATIENCE = 60  # seconds: a guard against a hang, never a wait for something to happen


def wait_until(condition: object, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_writers_get_the_lock_in_the_order_they_asked_for_it() -> None:
    lock, order = FairLock(), []

    def writer(n: int) -> None:
        with lock:
            order.append(n)

    threads = []
    with lock:
        for n in range(5):
            thread = threading.Thread(target=writer, args=(n,))
            thread.start()
            threads.append(thread)
            wait_until(lambda n=n: len(lock._waiters) == n + 1)
    for thread in threads:
        thread.join(timeout=PATIENCE)

    assert order == [0, 1, 2, 3, 4]


def test_the_holder_may_take_it_again_and_others_wait_for_its_last_release() -> None:
    lock, entered = FairLock(), threading.Event()

    def other() -> None:
        with lock:
            entered.set()

    with lock:
        with lock:
            thread = threading.Thread(target=other)
            thread.start()
            wait_until(lambda: len(lock._waiters) == 1)
        assert not entered.is_set()
    thread.join(timeout=PATIENCE)
    assert entered.is_set()
