"""Hypothesis drives random sequences of triggers, by random people with random input, against
the engine on SQLite. Refusals are fine; after every step the case is where the lifecycle table
says it must be, and the invariant checker finds nothing wrong with it.

Time is frozen and moved on by the machine, so the timers (claim, handoff, request and
auto-close windows) fire when a step lets minutes, hours or days pass and the worker runs.
"""

import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)
from hypothesis.stateful import run_state_machine_as_test as run

from handoff import services
from handoff.config import Settings
from handoff.delivery.worker import tick
from handoff.domain.errors import DomainError
from handoff.domain.lifecycle import ROWS
from handoff.domain.principals import Actor, customer_of
from handoff.history.check import check
from handoff.services import queries
from handoff.services.views import CaseView
from handoff.store.db import Database
from tests.integration.world import AGENTS, SYSTEMS, World, build_world
from tests.reliability.conftest import LONG, scaled

T = TypeVar("T")
ORG_IDS = ("acme", "firstbank", "vendo", "forge")
PARTIES = ("owner", "receiver", "customer", "collaborator")
TEXTS = ("We refunded the order.", "Please call your bank.", "")
CODES = ("fixed", "refunded", "credited", "referred")
# Mostly moments, sometimes long enough for a window (claim, request, handoff, auto-close) to pass.
PAUSES = tuple(timedelta(seconds=s) for s in (1, 1, 16 * 60, 16 * 60, 25 * 3600, 8 * 24 * 3600))
ROLES = ("owner", "supervisor", "target", "customer", "system", "anyone")
# Triggers people seldom fire: they end a case's story early or change little.
RARELY = frozenset({"withdraw", "add_note", "add_participant", "assign", "leave_session"})
# Who usually fires each trigger; a step now and then has someone else try.
NATURAL_ROLE = {
    "accept_handoff": "target",
    "decline_handoff": "target",
    "acknowledge_request": "target",
    "complete_request": "target",
    "decline_request": "target",
    "confirm_resolution": "customer",
    "reject_resolution": "customer",
    "reopen": "customer",
}


def agent(agent_id: str) -> Actor:
    org, _name, role = AGENTS[agent_id]
    return Actor(kind="agent", id=agent_id, org_id=org, role=role)


def people_of(org_id: str, role: str | None = None) -> list[Actor]:
    return [
        agent(a)
        for a, (org, _name, r) in AGENTS.items()
        if org == org_id and r != "auditor" and role in (None, r)
    ]


class Step:
    """One attempt on one case: the case as it stood, who tries, and choices to draw input by."""

    def __init__(self, db: Database, view: CaseView, role: str, pick: int, flag: bool) -> None:
        self.db, self.view, self.pick, self.flag = db, view, pick, flag
        self.actor = self.cast(role)

    def one(self, items: Sequence[T]) -> T:
        return items[self.pick % len(items)]

    def one_of(self, items: Sequence[T]) -> T | None:
        """One of the items, or None when there are none."""
        return self.one(items) if items else None

    def cast(self, role: str) -> Actor:
        """The person (or system, or customer) who tries, by the part they play in the case."""
        view, owner_org = self.view, self.view.owner.org_id
        if role == "owner" and view.owner.agent_id in AGENTS:
            return agent(view.owner.agent_id)
        if role in ("owner", "supervisor"):
            return self.one_of(people_of(owner_org, "supervisor")) or self.one(people_of(owner_org))
        if role == "target":
            others = [p.org_id for p in view.participants if p.org_id != owner_org]
            org = view.handoff.to_org if view.handoff else self.one(others or [owner_org])
            return self.one_of(people_of(org)) or agent("ben")
        if role == "customer":
            return customer_of(view.id)
        if role == "system":
            system_id = next((s for s, o in SYSTEMS.items() if o == owner_org), "acme-crm")
            return Actor(kind="system", id=system_id, org_id=SYSTEMS[system_id])
        return agent(self.one(sorted(AGENTS)))

    def handoff_id(self) -> str:
        """Mostly the pending handoff; sometimes one already answered."""
        if self.view.handoff is not None and self.pick % 4 != 3:
            return self.view.handoff.id
        return self.one_of([h.id for h in self.view.handoffs]) or "no-such-handoff"

    def request_id(self) -> str:
        """Mostly an open request; sometimes one already answered."""
        still_open = [r.id for r in self.view.requests if r.state in ("open", "acknowledged")]
        if still_open and self.pick % 4 != 3:
            return self.one(still_open)
        return self.one_of([r.id for r in self.view.requests]) or "no-such-request"

    def session_id(self) -> str:
        return self.view.session.id if self.view.session else "no-such-session"

    def agent_id(self) -> str | None:
        """Who an agent or a partner system answers or joins for."""
        if self.actor.kind == "agent":
            return self.actor.id
        org = self.actor.org_id or self.view.owner.org_id
        return self.one([p.id for p in people_of(org)])

    def join(self, leave: bool = False) -> object:
        party = self.one(PARTIES)
        agent_id = None if party == "customer" else self.agent_id()
        command = services.leave_session if leave else services.join_session
        return command(self.db, self.actor, self.view.id, self.session_id(), party, agent_id)


FIRE: dict[str, Callable[[Step], object]] = {
    "claim": lambda s: services.claim(s.db, s.actor, s.view.id),
    "assign": lambda s: services.assign(s.db, s.actor, s.view.id, s.one(sorted(AGENTS))),
    "propose_handoff": lambda s: services.propose_handoff(
        s.db, s.actor, s.view.id, s.one(ORG_IDS), "Context", "Override" if s.flag else None
    ),
    "accept_handoff": lambda s: services.accept_handoff(
        s.db, s.actor, s.view.id, s.handoff_id(), None if s.actor.kind == "agent" else s.agent_id()
    ),
    "decline_handoff": lambda s: services.decline_handoff(
        s.db, s.actor, s.view.id, s.handoff_id(), "No"
    ),
    "cancel_handoff": lambda s: services.cancel_handoff(s.db, s.actor, s.view.id, s.handoff_id()),
    "await_customer": lambda s: services.await_customer(s.db, s.actor, s.view.id, "A photo"),
    "customer_responded": lambda s: services.customer_responded(s.db, s.actor, s.view.id),
    "propose_resolution": lambda s: services.propose_resolution(
        s.db, s.actor, s.view.id, s.one(CODES), s.one(TEXTS)
    ),
    "confirm_resolution": lambda s: services.confirm_resolution(s.db, s.actor, s.view.id),
    "reject_resolution": lambda s: services.reject_resolution(s.db, s.actor, s.view.id, "No"),
    "reopen": lambda s: services.reopen(s.db, s.actor, s.view.id, "Again"),
    "withdraw": lambda s: services.withdraw(s.db, s.actor, s.view.id, "Gone"),
    "add_participant": lambda s: services.add_participant(
        s.db, s.actor, s.view.id, s.one(ORG_IDS), "Needed"
    ),
    "create_request": lambda s: services.create_request(
        s.db, s.actor, s.view.id, s.one(ORG_IDS), "Act"
    ),
    "acknowledge_request": lambda s: services.acknowledge_request(
        s.db, s.actor, s.view.id, s.request_id()
    ),
    "complete_request": lambda s: services.complete_request(
        s.db, s.actor, s.view.id, s.request_id(), "Done"
    ),
    "decline_request": lambda s: services.decline_request(
        s.db, s.actor, s.view.id, s.request_id(), "Cannot"
    ),
    "start_session": lambda s: services.start_session(
        s.db, s.actor, s.view.id, s.view.handoff.id if s.view.handoff and s.flag else None
    ),
    "join_session": lambda s: s.join(),
    "leave_session": lambda s: s.join(leave=True),
    "end_session": lambda s: services.end_session(s.db, s.actor, s.view.id, s.session_id()),
    "add_note": lambda s: services.add_note(
        s.db, s.actor, s.view.id, s.one(TEXTS) or "Note", "customer" if s.flag else "internal"
    ),
}
# Timer triggers are not here: they fire from the worker's pass when time has passed.
BY_PEOPLE = sorted(FIRE)
FIRED: Counter[str] = Counter()


class CaseLifecycle(RuleBasedStateMachine):
    world: World
    clock = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # shared by every run: time never goes back

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.touched: set[str] = set()

    @property
    def db(self) -> Database:
        return self.world.db

    def view(self, case_id: str) -> CaseView:
        return queries.get_case(self.db, self.world.auditor(), case_id)

    @initialize(target=cases)
    def open_cases(self) -> Any:
        crm, dana = self.world.system("acme-crm"), self.world.agent("dana")
        with freeze_time(self.clock):
            ids = [
                services.create_case(
                    self.db,
                    who,
                    customer={"name": "Carla"},
                    subject="S",
                    participants=["firstbank"],
                ).id
                for who in (crm, dana)
            ]
        self.touched.update(ids)
        return multiple(*ids)

    @rule(case_id=cases, data=st.data())
    def someone_fires_a_trigger(self, case_id: str, data: st.DataObject) -> None:
        self.fire_at_random(case_id, data)

    @rule(case_id=cases, data=st.data())
    def someone_else_fires_a_trigger(self, case_id: str, data: st.DataObject) -> None:
        """Several people act between two passes of the worker."""
        self.fire_at_random(case_id, data)

    def fire_at_random(self, case_id: str, data: st.DataObject) -> None:
        state = self.view(case_id).state
        possible = [t for t in BY_PEOPLE if state in ROWS[t].source]
        likely = [t for t in possible if t not in RARELY] or possible
        trigger = data.draw(st.sampled_from(data.draw(st.sampled_from((BY_PEOPLE, likely)))))
        role = NATURAL_ROLE.get(trigger, "owner")
        if data.draw(st.integers(0, 3)) == 0:
            role = data.draw(st.sampled_from(ROLES))
        self.fire(case_id, trigger, role, data.draw(st.integers(0, 11)), data.draw(st.booleans()))

    @rule(
        case_id=cases,
        pick=st.integers(0, 3),
        then=st.sampled_from(("accept_handoff", "decline_handoff", None)),
    )
    def the_owner_hands_off_in_a_warm_session(
        self, case_id: str, pick: int, then: str | None
    ) -> None:
        """Proposing, starting the session and joining all three is too long a path to find by
        chance, so it is one step; the receiver then accepts, declines, or leaves it for later."""
        view = self.view(case_id)
        owner = agent(view.owner.agent_id) if view.owner.agent_id in AGENTS else None
        others = [p.org_id for p in view.participants if p.org_id != view.owner.org_id]
        if owner is None or view.state != "active" or not others:
            return
        to_org = others[pick % len(others)]
        receiver = people_of(to_org)[0]  # whom a "target" step with pick 0 casts
        try:
            with freeze_time(self.clock):
                handoff = services.propose_handoff(self.db, owner, case_id, to_org, "Context")
                session = services.start_session(self.db, owner, case_id, handoff.id)
                for who, party in ((owner, "owner"), (receiver, "receiver")):
                    services.join_session(self.db, who, case_id, session.id, party, who.id)
                services.join_session(self.db, owner, case_id, session.id, "customer")
        except DomainError:
            return
        if then is not None:
            self.fire(case_id, then, "target", pick=0, flag=False)

    @rule(case_id=cases, accept=st.booleans(), role=st.sampled_from(("target", "anyone")))
    def the_receiver_answers_a_handoff(self, case_id: str, accept: bool, role: str) -> None:
        trigger = "accept_handoff" if accept else "decline_handoff"
        self.fire(case_id, trigger, role, pick=0, flag=False)

    @rule(case_id=cases, answer=st.sampled_from(("confirm", "reject", "reject")))
    def the_owner_proposes_a_resolution_and_the_customer_answers(
        self, case_id: str, answer: str
    ) -> None:
        self.fire(case_id, "propose_resolution", "owner", pick=0, flag=False)
        trigger = f"{answer}_resolution"
        self.fire(case_id, trigger, "customer", pick=0, flag=False)

    def fire(self, case_id: str, trigger: str, role: str, pick: int, flag: bool) -> None:
        """One attempt; refused, the case is as it was; done, it is where the table leads."""
        with freeze_time(self.clock):
            before = self.view(case_id)
            try:
                FIRE[trigger](Step(self.db, before, role, pick, flag))
                refused = False
            except DomainError:
                refused = True
            after = self.view(case_id)
        row = ROWS[trigger]
        if refused:
            assert (after.state, after.version) == (before.state, before.version)
        else:
            FIRED[trigger] += 1
            assert before.state in row.source
            assert after.state == (row.dest or before.state)
            assert after.version == before.version + 1

    @rule(pause=st.sampled_from(PAUSES))
    def time_passes_and_the_worker_runs(self, pause: timedelta) -> None:
        CaseLifecycle.clock += pause
        with freeze_time(self.clock):
            FIRED.update(tick(self.db))

    @invariant()
    def every_invariant_holds_for_the_cases_of_this_run(self) -> None:
        if self.touched:
            assert check(self.db, self.touched) == []


@pytest.fixture
def sqlite_world(sqlite_template: Path, tmp_path: Path) -> World:
    path = tmp_path / "handoff.db"
    shutil.copy(sqlite_template, path)
    return build_world(Database(Settings(database_url=f"sqlite:///{path}")))


def test_random_triggers_by_random_people_keep_the_table_and_every_invariant(
    sqlite_world: World,
) -> None:
    CaseLifecycle.world = sqlite_world
    FIRED.clear()
    budget = settings(
        max_examples=scaled(25, 300),
        stateful_step_count=scaled(25, 50),
        # The short form explores the same sequences on every run, so whether it reaches the
        # warm handoff below does not depend on luck; the long form explores afresh each time.
        derandomize=not LONG,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )

    run(CaseLifecycle, settings=budget)

    sqlite_world.db.dispose()
    # The machine got far enough to matter: ownership moved warm, cases closed, timers fired.
    assert {"claim", "accept_handoff", "confirm_resolution", "escalated_unclaimed"} <= set(FIRED)
