"""Cases whose histories hold every kind of event the engine writes, for the invariant checker."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from handoff import services
from handoff.delivery.worker import tick
from handoff.domain.attachments import GivenFile
from handoff.domain.errors import Refusal
from handoff.domain.principals import Actor, customer_of
from handoff.services import attachments, queries
from tests.integration.world import ADMIN, World

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def warm_accept(world: World, case_id: str, owner: Actor, receiver: Actor) -> None:
    """Propose a handoff to the receiver's org and accept it in a full joint session."""
    handoff_id = warm_session_ready(world, case_id, owner, receiver)
    services.accept_handoff(world.db, receiver, case_id, handoff_id)


def warm_session_ready(world: World, case_id: str, owner: Actor, receiver: Actor) -> str:
    """Propose a handoff to the receiver's org and gather everyone in its joint session; returns
    the handoff's id, ready to be accepted."""
    db = world.db
    assert receiver.org_id is not None
    handoff = services.propose_handoff(db, owner, case_id, receiver.org_id, "Context for you.")
    session = services.start_session(db, owner, case_id, handoff_id=handoff.id)
    services.join_session(db, owner, case_id, session.id, "owner", owner.id)
    services.join_session(db, receiver, case_id, session.id, "receiver", receiver.id)
    services.join_session(db, owner, case_id, session.id, "customer")
    return handoff.id


def every_kind_of_event(world: World) -> list[str]:
    """A handful of cases that, between them, write every event type; returns their ids."""
    db = world.db
    crm, dana, sam, ben = (world.system("acme-crm"), *map(world.agent, ("dana", "sam", "ben")))
    customer = {"name": "Carla Diaz"}
    with freeze_time(T0):
        # Claimed from the queue; a request answered three ways; warm handoff there and back.
        first = services.create_case(
            db, crm, customer=customer, subject="Hold", participants=["firstbank"]
        ).id
        services.claim(db, dana, first)
        services.add_participant(db, dana, first, "vendo", "They shipped it")
        services.add_note(db, dana, first, "Called the customer back", "internal")
        for answer in ("complete", "decline", "late"):
            request = services.create_request(db, dana, first, "firstbank", f"Act ({answer})")
            services.acknowledge_request(db, ben, first, request.id)
            if answer == "complete":
                services.complete_request(db, ben, first, request.id, "Done")
            elif answer == "decline":
                services.decline_request(db, ben, first, request.id, "Not ours")
        with pytest.raises(Refusal, match="cannot be resolved"):  # a recorded refusal
            services.propose_resolution(db, dana, first, "fixed", "Done.")
        services.assign(db, sam, first, "dave")
        warm_accept(world, first, world.agent("dave"), ben)
        session_id = live_session(world, first)
        services.post_message(db, ben, first, session_id, "I have your case now, Carla.")
        receipt = [GivenFile("receipt.pdf", b"%PDF-1.4 the receipt")]
        attachments.attach(db, world.system("firstbank-disputes"), first, receipt)
        services.leave_session(db, ben, first, session_id, "owner", "ben")  # owner since accepting
        services.end_session(db, ben, first, session_id)
        # Declined, cancelled and (below) expired handoffs; waiting on the customer.
        second = services.create_case(
            db, dana, customer=customer, subject="Refund", participants=["firstbank"]
        ).id
        for ending in ("decline", "cancel", "expire"):
            handoff = services.propose_handoff(db, dana, second, "firstbank", f"Please ({ending})")
            if ending == "decline":
                services.decline_handoff(db, ben, second, handoff.id, "Not ours")
            elif ending == "cancel":
                services.cancel_handoff(db, dana, second, handoff.id)
        # Withdrawn with a request, a handoff and a session still open.
        third = services.create_case(
            db, dana, customer=customer, subject="Exchange", participants=["firstbank"]
        ).id
        services.create_request(db, dana, third, "firstbank", "Check the charge")
        handoff = services.propose_handoff(db, dana, third, "firstbank", "Yours, really")
        services.start_session(db, dana, third, handoff_id=handoff.id)
        services.withdraw(db, dana, third, "The customer sorted it out")
        services.reopen(db, customer_of(third), third, "It came back")
        # Resolved: rejected, then confirmed by the customer in a live session; later auto-closed.
        fourth = services.create_case(db, dana, customer=customer, subject="Broken lid").id
        services.await_customer(db, dana, fourth, "A photo")
        services.customer_responded(db, dana, fourth, "Photo sent")
        services.propose_resolution(db, dana, fourth, "replaced", "We sent a new lid.")
        services.reject_resolution(db, customer_of(fourth), fourth, "Wrong colour")
        services.start_session(db, dana, fourth)
        services.propose_resolution(db, dana, fourth, "replaced", "We sent the right lid.")
        services.confirm_resolution(db, customer_of(fourth), fourth)
        services.reopen(db, customer_of(fourth), fourth, "Broke again")
        services.propose_resolution(db, dana, fourth, "replaced", "Third lid, tested.")
        # Nobody to escalate to, and a queue case the timer gives to a supervisor.
        services.create_org(db, ADMIN, "lonely", "Lonely Ltd", "other")
        services.create_system(db, ADMIN, "lonely", "lonely-crm", "CRM")
        lonely = Actor(kind="system", id="lonely-crm", org_id="lonely")
        fifth = services.create_case(db, lonely, customer=customer, subject="Nobody home").id
        sixth = services.create_case(db, crm, customer=customer, subject="Queue").id
        # The owner leaves: their cases move to the supervisor, whatever state they are in.
        services.create_agent(db, ADMIN, "acme", "lea", "Lea Leaving", "rep")
        lea = Actor(kind="agent", id="lea", org_id="acme", role="rep")
        seventh = services.create_case(
            db, lea, customer=customer, subject="Handed over", participants=["firstbank"]
        ).id
        services.propose_handoff(db, lea, seventh, "firstbank", "Over to you")
        services.deactivate_agent(db, ADMIN, "acme", "lea")
    with freeze_time(T0 + timedelta(days=8)):
        tick(db)  # escalates, expires, marks the late request overdue, auto-closes
    return [first, second, third, fourth, fifth, sixth, seventh]


def live_session(world: World, case_id: str) -> str:
    session = queries.get_case(world.db, world.agent("ben"), case_id).session
    assert session is not None
    return session.id
