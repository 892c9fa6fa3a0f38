"""`handoff tick` and `handoff worker` as an operator runs them."""

import os
import queue
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from freezegun import freeze_time

from handoff import services
from handoff.domain.principals import Actor
from handoff.store.migrate import upgrade
from tests.integration.world import ADMIN

HANDOFF = [sys.executable, "-m", "handoff.cli"]
READY = "worker started"  # logged once SIGTERM and SIGINT stop the worker cleanly
PATIENCE = 60  # seconds: a guard against a hang, never a wait for something to happen


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HANDOFF_DATABASE_URL": url}
    return subprocess.run([*HANDOFF, *args], env=env, capture_output=True, text=True, timeout=60)


def test_tick_acts_on_what_is_due_and_says_what_it_did(tmp_path: Path) -> None:
    from handoff.config import Settings
    from handoff.store.db import Database

    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    db = Database(Settings(database_url=url, claim_window=1))
    services.create_org(db, ADMIN, "acme", "Acme", "merchant")
    services.create_agent(db, ADMIN, "acme", "sam", "Sam", "supervisor")
    services.create_system(db, ADMIN, "acme", "acme-crm", "CRM")
    crm = Actor(kind="system", id="acme-crm", org_id="acme")
    with freeze_time(datetime.now(UTC) - timedelta(minutes=1)):  # its claim window is long past
        services.create_case(db, crm, customer={"name": "Carla"}, subject="Hold")
    db.dispose()
    first, second = run("tick", url=url), run("tick", url=url)
    assert (first.returncode, first.stdout.strip()) == (0, "escalated_unclaimed: 1")
    assert (second.returncode, second.stdout.strip()) == (0, "nothing due")


def lines_of(stream: IO[str]) -> "queue.Queue[str | None]":
    """The stream's lines as they come, read by a thread of their own; None once it ends."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_the_worker_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    env = {**os.environ, "HANDOFF_DATABASE_URL": url}
    worker = subprocess.Popen(
        [*HANDOFF, "worker", "--interval", "0.2"], env=env, stderr=subprocess.PIPE, text=True
    )
    assert worker.stderr is not None
    err = lines_of(worker.stderr)
    said: list[str] = []
    try:
        while not any(READY in line for line in said):  # its signal handlers are in place
            line = err.get(timeout=PATIENCE)
            assert line is not None, f"the worker ended before it was ready: {''.join(said)}"
            said.append(line)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=PATIENCE)
    finally:
        worker.kill()  # only if something above failed: it has ended otherwise
    while (line := err.get(timeout=PATIENCE)) is not None:
        said.append(line)
    assert worker.returncode == 0, "".join(said)
    assert "worker stopped" in "".join(said)


def test_tick_on_a_database_that_is_not_there_says_so_in_one_line(tmp_path: Path) -> None:
    result = run("tick", url=f"sqlite:///{tmp_path / 'missing.db'}")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "handoff db upgrade" in result.stderr
