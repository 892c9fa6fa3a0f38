"""The three stories of the spec, end to end at engine level, on every database."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from handoff import services
from handoff.domain.errors import Refusal
from handoff.domain.principals import customer_of
from handoff.services import queries
from tests.integration.world import World


def event_types(world: World, case_id: str) -> list[str]:
    return [e.type for e in queries.case_events(world.db, world.auditor(), case_id)]


def test_merchant_and_bank_release_a_pending_charge_without_sending_the_customer_away(
    world: World,
) -> None:
    db, crm, dana, ben = world.db, world.system("acme-crm"), world.agent("dana"), world.agent("ben")
    case = services.create_case(
        db,
        crm,
        customer={"name": "Carla Diaz", "email": "carla@example.com"},
        subject="Order never arrived; pending charge still on my card",
        description="Order 5521 was cancelled by the shop but the card still shows a hold.",
        participants=["firstbank"],
    )
    assert case.state == "unclaimed"
    assert (case.owner.org_id, case.owner.agent_id) == ("acme", None)

    case = services.claim(db, dana, case.id)
    assert (case.state, case.owner.agent_id) == ("active", "dana")

    request = services.create_request(
        db, dana, case.id, to_org="firstbank", action="Release the authorization hold"
    )
    assert request.state == "open"

    with pytest.raises(Refusal) as refused:
        services.propose_resolution(db, dana, case.id, "credited", "The hold is released.")
    assert refused.value.code == "open_requests"
    assert refused.value.details["requests"][0]["to_org"] == "firstbank"

    services.acknowledge_request(db, ben, case.id, request.id)
    services.complete_request(db, ben, case.id, request.id, note="Authorization released.")

    with pytest.raises(Refusal) as refused:
        services.propose_resolution(
            db, dana, case.id, "credited", "Nothing more we can do, please contact your bank."
        )
    assert refused.value.code == "send_away_language"
    assert refused.value.details["phrase"].lower() == "please contact your bank"

    case = services.propose_resolution(
        db, dana, case.id, "credited", "We asked First Bank to release the hold; it is released."
    )
    assert case.state == "resolution_proposed"

    case = services.confirm_resolution(db, customer_of(case.id), case.id)
    assert case.state == "closed"
    assert event_types(world, case.id) == [
        "case_created",
        "claimed",
        "request_created",
        "refused",
        "request_acknowledged",
        "request_completed",
        "refused",
        "resolution_proposed",
        "resolution_confirmed",
    ]
    assert queries.verify_case(db, world.auditor(), case.id).valid


def test_vendor_hands_a_missing_part_case_to_the_manufacturer_warm_and_cannot_get_it_back(
    world: World,
) -> None:
    db, vic, mia, vera = world.db, world.agent("vic"), world.agent("mia"), world.agent("vera")
    case = services.create_case(
        db,
        vic,
        customer={"name": "Omar Haddad", "phone": "+1 555 0100"},
        subject="Espresso machine arrived without its portafilter",
        participants=["forge"],
    )
    assert (case.state, case.owner.agent_id) == ("active", "vic")

    handoff = services.propose_handoff(
        db, vic, case.id, "forge", "Unit S/N 4471 shipped without portafilter; customer has photos."
    )
    session = services.start_session(db, vic, case.id, handoff_id=handoff.id)
    services.join_session(db, vic, case.id, session.id, "owner", "vic")
    services.join_session(db, mia, case.id, session.id, "receiver", "mia")

    with pytest.raises(Refusal) as refused:
        services.accept_handoff(db, mia, case.id, handoff.id)
    assert refused.value.code == "warm_session_required"
    assert refused.value.details["missing"] == ["customer"]
    assert queries.get_case(db, vic, case.id).owner.org_id == "vendo"

    services.join_session(db, vic, case.id, session.id, "customer")
    case = services.accept_handoff(db, mia, case.id, handoff.id)
    assert (case.state, case.owner.org_id, case.owner.agent_id) == ("active", "forge", "mia")
    assert {p.org_id: p.role for p in case.participants} == {
        "vendo": "participant",
        "forge": "owner",
    }
    assert queries.get_case(db, vic, case.id).owner.org_id == "forge"  # vendo still sees it

    with pytest.raises(Refusal) as refused:
        services.propose_handoff(db, mia, case.id, "vendo", "This is really the vendor's job.")
    assert refused.value.code == "ping_pong"

    max_ = world.agent("max")
    back = services.propose_handoff(
        db,
        max_,
        case.id,
        "vendo",
        "Part is in stock at the vendor's depot; they can hand it over today.",
        override_reason="Vendor holds the only spare in the customer's city.",
    )
    assert back.override_reason
    services.end_session(db, mia, case.id, session.id)
    second = services.start_session(db, mia, case.id, handoff_id=back.id)
    services.join_session(db, mia, case.id, second.id, "owner", "mia")
    services.join_session(db, vera, case.id, second.id, "receiver", "vera")
    services.join_session(db, mia, case.id, second.id, "customer")
    case = services.accept_handoff(db, vera, case.id, back.id)
    assert (case.owner.org_id, case.owner.agent_id) == ("vendo", "vera")
    types = [e.type for e in queries.case_events(db, world.auditor(), case.id)]
    assert types.count("refused") == 2
    assert types.count("handoff_accepted") == 2


def test_dealer_gets_a_broken_thermostat_fixed_and_a_late_reopen_is_refused(world: World) -> None:
    db, dora = world.db, world.agent("dora")
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with freeze_time(start):
        case = services.create_case(
            db,
            dora,
            customer={"name": "Lena Park"},
            subject="Thermostat of a second-hand oven broke after three weeks",
            participants=["thermo"],
        )
        case = services.await_customer(db, dora, case.id, "A photo of the thermostat's label")
        assert case.state == "awaiting_customer"
        case = services.customer_responded(db, dora, case.id, note="Photo sent by email")
        assert case.state == "active"
        case = services.propose_resolution(
            db, dora, case.id, "replaced", "We fitted a new thermostat on site."
        )
        customer = customer_of(case.id)
        case = services.reject_resolution(db, customer, case.id, "Still broken: oven stays cold.")
        assert (case.state, case.owner.org_id, case.owner.agent_id) == ("active", "dealer", "dora")
        case = services.propose_resolution(
            db, dora, case.id, "replaced", "Replaced the thermostat and the sensor; tested 3 h."
        )
        case = services.confirm_resolution(db, customer, case.id)
        assert case.state == "closed"

    with freeze_time(start + timedelta(days=31)), pytest.raises(Refusal) as refused:
        services.reopen(db, customer, case.id, "It broke again.")
    assert refused.value.code == "window_passed"
    assert queries.get_case(db, dora, case.id).state == "closed"
    assert queries.verify_case(db, world.auditor(), case.id).valid
