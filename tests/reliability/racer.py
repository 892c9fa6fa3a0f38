"""One racing process: random triggers by random people on the cases of a shared database.

Each process has its own engine and connections. It reads a case, picks something someone could
do to it, and does it, while the other processes do the same to the same cases: what it read may
be stale by the time it acts, which is the point. Refusals are normal outcomes; anything else is
an error to report. Every change the engine acknowledged is noted, to be found in the history.
"""

import random
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from handoff import services
from handoff.config import Settings
from handoff.delivery.worker import tick
from handoff.domain.errors import DomainError
from handoff.domain.principals import Actor, customer_of
from handoff.services import queries
from handoff.services.views import CaseView
from handoff.store.db import Database
from handoff.store.models import CaseRow
from tests.integration.world import AGENTS, SYSTEMS
from tests.reliability.acks import Ack

AUDITOR = Actor(kind="agent", id="ada", org_id="acme", role="auditor")
ORGS = ("acme", "firstbank", "vendo")


ANSWERED = {
    "acknowledge": "request_acknowledged",
    "complete": "request_completed",
    "decline": "request_declined",
}


@dataclass
class Report:
    acks: list[Ack] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def settings(url: str) -> Settings:
    """Tiny windows (seconds), so timers fire while the processes race."""
    return Settings(
        database_url=url, claim_window=1, handoff_window=2, request_window=1, auto_close_window=2
    )


def agent(agent_id: str) -> Actor:
    org, _name, role = AGENTS[agent_id]
    return Actor(kind="agent", id=agent_id, org_id=org, role=role)


def people_of(org_id: str) -> list[Actor]:
    return [
        agent(a) for a, (org, _n, role) in AGENTS.items() if org == org_id and role != "auditor"
    ]


def system_of(org_id: str) -> Actor:
    system_id = next(s for s, org in SYSTEMS.items() if org == org_id)
    return Actor(kind="system", id=system_id, org_id=org_id)


def open_cases(db: Database, count: int, rng: random.Random) -> list[str]:
    """Cases for the race: half from a partner system (unclaimed), half from an agent."""
    ids = []
    for n in range(count):
        org = ORGS[n % 2]
        creator = system_of(org) if n % 4 < 2 else rng.choice(people_of(org))
        others = [o for o in ORGS if o != org]
        view = services.create_case(
            db,
            creator,
            customer={"name": f"Customer {n}"},
            subject=f"CaseRow {n}",
            participants=others,
        )
        ids.append(view.id)
    return ids


class Race:
    """The actions one process fires; each reads the case first, as a person would."""

    def __init__(self, db: Database, rng: random.Random, report: Report) -> None:
        self.db, self.rng, self.report = db, rng, report

    def owner_side(self, view: CaseView) -> Actor:
        """Usually the owner agent, sometimes a supervisor, now and then a wrong person."""
        people = people_of(view.owner.org_id)
        owner = next((p for p in people if p.id == view.owner.agent_id), None)
        choice = self.rng.random()
        if owner is not None and choice < 0.75:
            return owner
        if choice < 0.9:
            return next(p for p in people if p.role == "supervisor")
        return self.rng.choice([agent(a) for a in AGENTS if AGENTS[a][2] != "auditor"])

    def acked(self, view: Any, event: str) -> None:
        if isinstance(view, CaseView):
            self.report.acks.append(Ack(view.id, event, at=view.updated_at))
        else:
            self.report.acks.append(Ack(view.case_id, event, item=view.id))

    def claim(self, view: CaseView) -> None:
        someone = self.rng.choice(people_of(view.owner.org_id))
        self.acked(services.claim(self.db, someone, view.id), "claimed")

    def assign(self, view: CaseView) -> None:
        boss = next(p for p in people_of(view.owner.org_id) if p.role == "supervisor")
        to = self.rng.choice(people_of(view.owner.org_id))
        self.acked(services.assign(self.db, boss, view.id, to.id), "assigned")

    def propose_handoff(self, view: CaseView) -> None:
        to_org = self.rng.choice([p.org_id for p in view.participants])
        who = self.owner_side(view)
        reason = "Supervisor's call" if who.role == "supervisor" else None
        handoff = services.propose_handoff(self.db, who, view.id, to_org, "Context", reason)
        self.acked(handoff, "handoff_proposed")

    def start_session(self, view: CaseView) -> None:
        handoff_id = view.handoff.id if view.handoff else None
        session = services.start_session(self.db, self.owner_side(view), view.id, handoff_id)
        self.acked(session, "session_started")

    def join(self, view: CaseView) -> None:
        if view.session is None:
            return
        party = self.rng.choice(["owner", "receiver", "customer", "customer"])
        if party == "owner":
            who = self.owner_side(view)
        elif view.handoff is not None:
            who = self.rng.choice(people_of(view.handoff.to_org))
        else:
            who = self.rng.choice(people_of(self.rng.choice(ORGS)))
        if party == "customer":
            who = self.owner_side(view)
        agent_id = None if party == "customer" else who.id
        joined = services.join_session(self.db, who, view.id, view.session.id, party, agent_id)
        self.acked(joined, "session_joined")

    def answer_handoff(self, view: CaseView) -> None:
        if view.handoff is None:
            return
        who = self.rng.choice(people_of(view.handoff.to_org))
        if self.rng.random() < 0.8:
            accepted = services.accept_handoff(self.db, who, view.id, view.handoff.id)
            self.acked(accepted, "handoff_accepted")
        else:
            declined = services.decline_handoff(self.db, who, view.id, view.handoff.id, "No")
            self.acked(declined, "handoff_declined")

    def cancel_handoff(self, view: CaseView) -> None:
        if view.handoff is not None:
            cancelled = services.cancel_handoff(
                self.db, self.owner_side(view), view.id, view.handoff.id
            )
            self.acked(cancelled, "handoff_cancelled")

    def create_request(self, view: CaseView) -> None:
        to_org = self.rng.choice([p.org_id for p in view.participants])
        request = services.create_request(self.db, self.owner_side(view), view.id, to_org, "Act")
        self.acked(request, "request_created")

    def answer_request(self, view: CaseView) -> None:
        still_open = [r for r in view.requests if r.state in ("open", "acknowledged")]
        if not still_open:
            return
        request = self.rng.choice(still_open)
        who, db = self.rng.choice(people_of(request.to_org)), self.db
        answer = self.rng.choice(["acknowledge", "complete", "complete", "decline"])
        if answer == "acknowledge":
            view = services.acknowledge_request(db, who, view.id, request.id)
        elif answer == "complete":
            view = services.complete_request(db, who, view.id, request.id, "Done")
        else:
            view = services.decline_request(db, who, view.id, request.id, "Cannot")
        self.acked(view, ANSWERED[answer])

    def customer_round(self, view: CaseView) -> None:
        """Waiting on the customer, resolving, and the customer's answers."""
        db, who, customer = self.db, self.owner_side(view), customer_of(view.id)
        if view.state == "active" and self.rng.random() < 0.3:
            self.acked(services.await_customer(db, who, view.id, "A photo"), "awaiting_customer")
        elif view.state == "awaiting_customer":
            responded = services.customer_responded(db, who, view.id, "Sent")
            self.acked(responded, "customer_responded")
        elif view.state == "resolution_proposed":
            if self.rng.random() < 0.7:
                self.acked(
                    services.confirm_resolution(db, customer, view.id), "resolution_confirmed"
                )
            else:
                rejected = services.reject_resolution(db, customer, view.id, "Not yet")
                self.acked(rejected, "resolution_rejected")
        elif view.state == "closed":
            self.acked(services.reopen(db, customer, view.id, "Again"), "reopened")
        else:
            proposed = services.propose_resolution(db, who, view.id, "fixed", "We fixed it.")
            self.acked(proposed, "resolution_proposed")

    def withdraw(self, view: CaseView) -> None:
        self.acked(services.withdraw(self.db, self.owner_side(view), view.id, "Gone"), "withdrawn")

    def timers(self, _view: CaseView) -> None:
        for work, count in tick(self.db).items():
            self.report.outcomes[f"timer {work}"] += count

    def new_case(self, _view: CaseView) -> None:
        org = self.rng.choice(ORGS[:2])
        others = [o for o in ORGS if o != org]
        created = services.create_case(
            self.db, system_of(org), customer={"name": "New"}, subject="New", participants=others
        )
        self.acked(created, "case_created")


Action = Callable[[Race, CaseView], None]
# What people mostly do to a case in each state (weights); now and then anything at all, and
# what they read may be stale by the time they act anyway.
LIKELY: dict[str, list[tuple[Action, int]]] = {
    "unclaimed": [(Race.claim, 8), (Race.timers, 2), (Race.withdraw, 1)],
    "active": [
        (Race.propose_handoff, 4),
        (Race.create_request, 3),
        (Race.answer_request, 3),
        (Race.customer_round, 3),
        (Race.assign, 1),
        (Race.start_session, 1),
        (Race.withdraw, 1),
    ],
    "handoff_pending": [
        (Race.start_session, 3),
        (Race.join, 8),
        (Race.answer_handoff, 4),
        (Race.cancel_handoff, 1),
        (Race.answer_request, 2),
        (Race.timers, 1),
    ],
    "awaiting_customer": [(Race.customer_round, 3), (Race.answer_request, 2), (Race.assign, 1)],
    "resolution_proposed": [(Race.customer_round, 3), (Race.timers, 1)],
    "closed": [(Race.customer_round, 2), (Race.new_case, 1)],
}
ANYTHING = sorted({action for weighted in LIKELY.values() for action, _ in weighted}, key=str)


def pick(rng: random.Random, view: CaseView) -> Action:
    if rng.random() < 0.2:
        return rng.choice(ANYTHING)
    actions = [action for action, _weight in LIKELY[view.state]]
    weights = [weight for _action, weight in LIKELY[view.state]]
    return rng.choices(actions, weights)[0]


def race(url: str, seed: int, operations: int, start: Any, reports: Any) -> None:
    """A process's whole run: wait for the others, fire `operations` actions, send the report."""
    db, rng, report = Database(settings(url)), random.Random(seed), Report()
    start.wait(timeout=60)
    try:
        case_ids: list[str] = []
        for n in range(operations):
            if n % 10 == 0:
                with db.reading() as session:
                    case_ids = list(session.scalars(select(CaseRow.id)))
            name = "read"
            try:
                view = queries.get_case(db, AUDITOR, rng.choice(case_ids))
                # Each process's first move is a timer pass, racing the others' first moves.
                action = Race.timers if n == 0 else pick(rng, view)
                name, acked = action.__name__, len(report.acks)
                action(Race(db, rng, report), view)
                report.outcomes[f"{name}: {'done' if len(report.acks) > acked else 'idle'}"] += 1
            except DomainError as refusal:
                report.outcomes[f"{name}: {refusal.code}"] += 1
            except Exception:
                report.errors.append(f"{name}: {traceback.format_exc()}")
    finally:
        db.dispose()
        reports.put(report)
