"""Several OS processes, each with its own connections, firing random triggers at random on one
shared set of cases on PostgreSQL: afterwards every invariant holds and every change that was
acknowledged is in the history.

`HANDOFF_LONG_TESTS=1` runs the long form (more cases, ten times the operations).
"""

import multiprocessing
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from handoff.history.check import check
from handoff.store.db import Database
from tests.integration.world import build_world
from tests.reliability import racer
from tests.reliability.acks import not_in_history
from tests.reliability.conftest import scaled

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PROCESSES = 4


def run_race(url: str, operations: int) -> racer.Report:
    """Start the racing processes together; merge what they report."""
    spawn = multiprocessing.get_context("spawn")
    start, reports = spawn.Barrier(PROCESSES), spawn.Queue()
    processes = [
        spawn.Process(target=racer.race, args=(url, seed, operations, start, reports))
        for seed in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    merged = racer.Report()
    for _ in processes:
        report = reports.get(timeout=600)
        merged.acks += report.acks
        merged.outcomes += report.outcomes
        merged.errors += report.errors
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return merged


def test_processes_racing_on_shared_cases_leave_every_invariant_true(own_postgres: str) -> None:
    db = Database(racer.settings(own_postgres))
    build_world(db)
    # Opened a minute ago, so their claim windows are long passed when the race starts and the
    # timer passes racing the other actions find work however fast the race runs.
    with freeze_time(datetime.now(UTC) - timedelta(minutes=1)):
        racer.open_cases(db, scaled(10, 30), random.Random(0))

    # Enough moves that the paths asserted below are taken in any run (a warm handoff answered
    # takes a proposal, a session and three joins first: 1 to 7 of them in 100 moves a process).
    report = run_race(own_postgres, operations=scaled(250, 1000))

    assert report.errors == []
    assert check(db) == []
    assert not_in_history(db, report.acks) == []
    # The race really happened: ownership moved, claims collided, timers fired.
    done = Counter({k: n for k, n in report.outcomes.items() if k.endswith(": done")})
    assert done["claim: done"] >= 1
    assert done["answer_handoff: done"] >= 1
    assert report.outcomes["claim: invalid_transition"] >= 1
    assert sum(n for k, n in report.outcomes.items() if k.startswith("timer ")) >= 1
    db.dispose()
