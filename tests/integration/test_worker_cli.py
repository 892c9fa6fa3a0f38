"""`handoff tick` and `handoff worker` as an operator runs them."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from handoff import services
from handoff.domain.principals import Actor
from handoff.store.migrate import upgrade
from tests.integration.world import ADMIN

HANDOFF = [sys.executable, "-m", "handoff.cli"]


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
    services.create_case(db, crm, customer={"name": "Carla"}, subject="Hold")
    db.dispose()
    time.sleep(1.1)
    first, second = run("tick", url=url), run("tick", url=url)
    assert (first.returncode, first.stdout.strip()) == (0, "escalated_unclaimed: 1")
    assert (second.returncode, second.stdout.strip()) == (0, "nothing due")


def test_the_worker_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    env = {**os.environ, "HANDOFF_DATABASE_URL": url}
    worker = subprocess.Popen(
        [*HANDOFF, "worker", "--interval", "0.2"], env=env, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.5)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=10)
    assert worker.returncode == 0
    assert "worker stopped" in err


def test_tick_on_a_database_that_is_not_there_says_so_in_one_line(tmp_path: Path) -> None:
    result = run("tick", url=f"sqlite:///{tmp_path / 'missing.db'}")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "handoff db upgrade" in result.stderr
