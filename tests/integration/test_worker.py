"""The worker's timers: nothing before a window passes, one action just after, nothing twice."""

import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy.orm import Session

from handoff import services
from handoff.config import Settings
from handoff.delivery import worker
from handoff.delivery.worker import tick
from handoff.services import queries
from handoff.store import web_sessions
from handoff.store.db import Database, make_engine
from tests.integration.world import ADMIN, World

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
PATIENCE = 60  # seconds: a guard against a hang, never a wait for something to happen


def last_event(world: World, case_id: str) -> str:
    return queries.case_events(world.db, world.auditor(), case_id)[-1].type


def passes_around(world: World, due: datetime) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """A pass just before `due`, one just after, and one more after that."""
    with freeze_time(due - SECOND):
        before = tick(world.db)
    with freeze_time(due + SECOND):
        after = tick(world.db)
        again = tick(world.db)
    return before, after, again


def test_an_unclaimed_case_escalates_to_the_supervisor_once_the_claim_window_passes(
    world: World,
) -> None:
    with freeze_time(T0):
        case = services.create_case(
            world.db, world.system("acme-crm"), customer={"name": "Carla"}, subject="Hold"
        )
    before, after, again = passes_around(world, T0 + timedelta(minutes=15))
    assert (before, after, again) == (Counter(), Counter(escalated_unclaimed=1), Counter())
    escalated = queries.get_case(world.db, world.agent("sam"), case.id)
    assert (escalated.state, escalated.owner.agent_id) == ("active", "sam")
    assert last_event(world, case.id) == "escalated_unclaimed"


def test_with_nobody_to_escalate_to_the_case_stays_unclaimed_and_says_so_once(world: World) -> None:
    for agent in ("dana", "dave", "sam"):
        services.deactivate_agent(world.db, ADMIN, "acme", agent)
    with freeze_time(T0):
        case = services.create_case(
            world.db, world.system("acme-crm"), customer={"name": "Carla"}, subject="Hold"
        )
    before, after, again = passes_around(world, T0 + timedelta(minutes=15))
    assert (before, after, again) == (Counter(), Counter(escalation_failed=1), Counter())
    events = queries.case_events(world.db, world.auditor(), case.id)
    assert [e.type for e in events] == ["case_created", "escalation_failed"]
    assert queries.get_case(world.db, world.auditor(), case.id).state == "unclaimed"


def test_a_case_nobody_could_take_is_escalated_once_the_org_has_someone_again(
    world: World,
) -> None:
    for agent in ("dana", "dave", "sam"):
        services.deactivate_agent(world.db, ADMIN, "acme", agent)
    with freeze_time(T0):
        case = services.create_case(
            world.db, world.system("acme-crm"), customer={"name": "Carla"}, subject="Hold"
        )
    with freeze_time(T0 + timedelta(minutes=16)):
        assert tick(world.db) == Counter(escalation_failed=1)
        services.create_agent(world.db, ADMIN, "acme", "nia", "Nia Park", "rep")
        assert tick(world.db) == Counter(escalated_unclaimed=1)
        assert tick(world.db) == Counter()
    taken = queries.get_case(world.db, world.auditor(), case.id)
    assert (taken.state, taken.owner.agent_id) == ("active", "nia")
    events = queries.case_events(world.db, world.auditor(), case.id)
    assert [e.type for e in events] == ["case_created", "escalation_failed", "escalated_unclaimed"]


def test_a_handoff_nobody_answers_expires_and_the_owner_keeps_the_case(world: World) -> None:
    vic = world.agent("vic")
    with freeze_time(T0):
        case = services.create_case(
            world.db, vic, customer={"name": "Omar"}, subject="Part missing", participants=["forge"]
        )
        services.propose_handoff(world.db, vic, case.id, "forge", "Missing portafilter")
    before, after, again = passes_around(world, T0 + timedelta(hours=24))
    assert (before, after, again) == (Counter(), Counter(expired_handoffs=1), Counter())
    expired = queries.get_case(world.db, vic, case.id)
    assert (expired.state, expired.owner.agent_id, expired.handoff) == ("active", "vic", None)
    assert last_event(world, case.id) == "handoff_expired"


def test_an_overdue_request_is_escalated_to_the_target_orgs_supervisor_once(world: World) -> None:
    dana = world.agent("dana")
    with freeze_time(T0):
        case = services.create_case(
            world.db, dana, customer={"name": "Carla"}, subject="Hold", participants=["firstbank"]
        )
        request = services.create_request(world.db, dana, case.id, "firstbank", "Release hold")
    before, after, again = passes_around(world, T0 + timedelta(hours=24))
    assert (before, after, again) == (Counter(), Counter(overdue_requests=1), Counter())
    events = queries.case_events(world.db, world.auditor(), case.id)
    assert events[-1].type == "request_overdue"
    assert events[-1].data["escalated_to"] == "bea"
    assert events[-1].data["request_id"] == request.id
    assert queries.get_case(world.db, dana, case.id).requests[0].overdue


def test_a_proposed_resolution_closes_by_itself_after_the_auto_close_window(world: World) -> None:
    dora = world.agent("dora")
    with freeze_time(T0):
        case = services.create_case(world.db, dora, customer={"name": "Lena"}, subject="Thermostat")
        services.propose_resolution(world.db, dora, case.id, "replaced", "New thermostat fitted.")
    before, after, again = passes_around(world, T0 + timedelta(days=7))
    assert (before, after, again) == (Counter(), Counter(auto_closed=1), Counter())
    closed = queries.get_case(world.db, dora, case.id)
    assert closed.state == "closed"
    assert queries.case_events(world.db, world.auditor(), case.id)[-1].data["automatic"] is True


def test_an_orgs_own_claim_window_overrides_the_deployments(world: World) -> None:
    services.create_org(world.db, ADMIN, "quick", "Quick Shop", "merchant", {"claim_window": 60})
    services.create_agent(world.db, ADMIN, "quick", "quinn", "Quinn", "supervisor")
    services.create_system(world.db, ADMIN, "quick", "quick-crm", "Quick CRM")
    crm = world.system("acme-crm").__class__(kind="system", id="quick-crm", org_id="quick")
    with freeze_time(T0):
        services.create_case(world.db, crm, customer={"name": "Q"}, subject="Late")
    before, after, _ = passes_around(world, T0 + timedelta(seconds=60))
    assert (before, after) == (Counter(), Counter(escalated_unclaimed=1))


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # SKIP LOCKED is PostgreSQL's
def test_two_workers_over_two_hundred_due_items_act_on_each_exactly_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.db.is_postgres
    with freeze_time(T0):
        ids = [
            services.create_case(
                world.db, world.system("acme-crm"), customer={"name": f"C{i}"}, subject="Hold"
            ).id
            for i in range(200)
        ]
    url = world.db.settings.database_url
    first, second = [Database(Settings(database_url=url), engine=make_engine(url)) for _ in (1, 2)]
    # Both take a share whatever the scheduler does: the first holds the item it picked until
    # the second has acted on another (skipping the locked one), then the two race for the rest.
    holding, other_done = threading.Event(), threading.Event()
    unclaimed = worker.DUE_WORK[0]
    assert unclaimed.name == "escalated_unclaimed"

    def act(db: Database, row: Any, session: Session) -> object:
        if db is first and not holding.is_set():
            holding.set()
            assert other_done.wait(60), "the second worker waited for the first one's item"
        acted = unclaimed.act(db, row, session)
        if db is second:
            other_done.set()
        return acted

    monkeypatch.setattr(worker, "DUE_WORK", (replace(unclaimed, act=act), *worker.DUE_WORK[1:]))
    results: dict[str, Counter[str]] = {}

    def work(name: str, db: Database) -> None:
        if db is second:
            assert holding.wait(60)
        results[name] = tick(db, at=T0 + timedelta(minutes=16))

    with freeze_time(T0 + timedelta(minutes=16)):
        threads = [
            threading.Thread(target=work, args=(name, db))
            for name, db in (("first", first), ("second", second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(results) == ["first", "second"]  # neither thread failed
    assert sum(r["escalated_unclaimed"] for r in results.values()) == 200
    assert all(r["escalated_unclaimed"] > 0 for r in results.values()), "both took a share"
    for case_id in ids:
        types = [e.type for e in queries.case_events(world.db, world.auditor(), case_id)]
        assert types == ["case_created", "escalated_unclaimed"]
    for db in (first, second):
        db.dispose()


def test_the_worker_loop_acts_on_due_work_and_stops_when_told(world: World) -> None:
    from handoff.delivery.worker import run

    with freeze_time(T0 - timedelta(hours=1)):
        case = services.create_case(
            world.db, world.system("acme-crm"), customer={"name": "Carla"}, subject="Hold"
        )
    stop = threading.Event()
    loop = threading.Thread(target=run, args=(world.db, 0.05, stop))
    loop.start()
    try:
        deadline = time.monotonic() + PATIENCE
        while queries.get_case(world.db, world.auditor(), case.id).state != "active":
            assert time.monotonic() < deadline, "the worker did not act on the due case"
            stop.wait(0.05)
    finally:
        stop.set()
        loop.join(timeout=PATIENCE)
    assert not loop.is_alive()
    assert queries.get_case(world.db, world.auditor(), case.id).owner.agent_id == "sam"


def test_signed_out_sessions_are_forgotten_once_no_cookie_can_carry_them(world: World) -> None:
    with freeze_time(T0):
        web_sessions.end(world.db, "s-1")
        web_sessions.end(world.db, "s-1")  # twice is once
    assert web_sessions.has_ended(world.db, "s-1")
    with freeze_time(T0 + timedelta(hours=web_sessions.SESSION_HOURS) - SECOND):
        assert tick(world.db)["ui_sessions_forgotten"] == 0
    with freeze_time(T0 + timedelta(hours=web_sessions.SESSION_HOURS) + SECOND):
        assert tick(world.db)["ui_sessions_forgotten"] == 1
    assert not web_sessions.has_ended(world.db, "s-1")


def test_a_pass_that_fails_unexpectedly_ends_the_worker_sending_thread_and_all(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> Counter[str]:
        raise RuntimeError("a bug in a pass")

    monkeypatch.setattr(worker, "tick", broken)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            worker.run(world.db, 0.01)
        except BaseException as error:
            failures.append(error)

    running = threading.Thread(target=run)
    running.start()
    running.join(PATIENCE)

    assert not running.is_alive()
    assert [str(f) for f in failures] == ["a bug in a pass"]
    assert "webhooks" not in {t.name for t in threading.enumerate()}
