"""A case carries its open requests only and counts the rest (SPEC §14), and commands behave as
they did when it carried them all."""

import pytest
from sqlalchemy import select

from handoff import services
from handoff.domain.attachments import GivenFile
from handoff.domain.errors import Forbidden, Refusal
from handoff.services import queries
from handoff.services.attachments import attach
from handoff.store import casefile
from handoff.store.models import AttachmentRow
from tests.integration.world import World


def case_with_settled_requests(world: World) -> tuple[str, list[str]]:
    """A case with one request done, one declined, one acknowledged and one open: the ids."""
    dana, ben = world.agent("dana"), world.agent("ben")
    case_id = services.create_case(
        world.db, dana, customer={"name": "Carla"}, subject="Hold", participants=["firstbank"]
    ).id
    made = [
        services.create_request(world.db, dana, case_id, "firstbank", f"Step {n}").id
        for n in range(4)
    ]
    services.complete_request(world.db, ben, case_id, made[0], note="Released.")
    services.decline_request(world.db, ben, case_id, made[1], reason="Not ours.")
    services.acknowledge_request(world.db, ben, case_id, made[2])
    return case_id, made


def test_the_case_answer_carries_the_open_requests_and_counts_the_rest(world: World) -> None:
    case_id, made = case_with_settled_requests(world)

    case = queries.get_case(world.db, world.agent("dana"), case_id)

    assert [(r.id, r.state) for r in case.requests] == [
        (made[2], "acknowledged"),
        (made[3], "open"),
    ]
    assert case.request_counts == {
        "open": 1,
        "acknowledged": 1,
        "done": 1,
        "declined": 1,
        "cancelled": 0,
    }


def test_the_answer_to_an_action_counts_the_request_it_settled(world: World) -> None:
    case_id, made = case_with_settled_requests(world)

    after = services.complete_request(world.db, world.agent("ben"), case_id, made[3], note="Ok")

    assert [r.id for r in after.requests] == [made[2]]
    assert (after.request_counts["open"], after.request_counts["done"]) == (0, 2)


def test_a_settled_request_answered_again_gets_the_request_machines_refusal(
    world: World,
) -> None:
    case_id, made = case_with_settled_requests(world)

    with pytest.raises(Refusal) as refused:
        services.complete_request(world.db, world.agent("ben"), case_id, made[0], note="Again")

    assert refused.value.code == "invalid_transition"
    assert refused.value.details["state"] == "done"


def test_a_settled_request_of_another_org_is_still_not_theirs_to_answer(world: World) -> None:
    case_id, made = case_with_settled_requests(world)
    services.add_participant(world.db, world.agent("dana"), case_id, "vendo", "ships the part")

    with pytest.raises(Forbidden) as refused:
        services.decline_request(world.db, world.agent("vic"), case_id, made[1], reason="No")

    assert "addressed to firstbank" in str(refused.value)


def test_a_withdrawal_cancels_the_open_requests_and_counts_them_cancelled(world: World) -> None:
    case_id, _made = case_with_settled_requests(world)

    withdrawn = services.withdraw(world.db, world.agent("dana"), case_id, "Customer gave up.")

    assert withdrawn.requests == []
    assert withdrawn.request_counts == {
        "open": 0,
        "acknowledged": 0,
        "done": 1,
        "declined": 1,
        "cancelled": 2,
    }


def test_a_resolution_is_refused_while_a_request_is_open_however_many_are_settled(
    world: World,
) -> None:
    case_id, made = case_with_settled_requests(world)

    with pytest.raises(Refusal) as refused:
        services.propose_resolution(
            world.db, world.agent("dana"), case_id, "credited", "The bank released the hold."
        )

    assert refused.value.code == "open_requests"
    assert sorted(r["id"] for r in refused.value.details["requests"]) == sorted(made[2:])


def test_the_store_reads_a_settled_request_only_when_a_command_names_it(world: World) -> None:
    case_id, made = case_with_settled_requests(world)

    with world.db.reading() as session:
        loaded = casefile.load(session.connection(), case_id, lock=False)
        assert loaded is not None
        carried = [r.id for r in loaded.case.requests]
        settled = loaded.request(made[0])
        unknown = loaded.request("0" * 32)

    assert carried == made[2:]
    assert settled is not None
    assert settled.state == "done"
    assert unknown is None
    assert loaded.case.request_counts["done"] == 1  # read, and counted once


def test_the_case_carries_its_newest_files_and_counts_them_all_and_each_still_downloads(
    world: World,
) -> None:
    case_id, _made = case_with_settled_requests(world)
    dana, crm = world.agent("dana"), world.system("acme-crm")
    for n in range(11):
        files = [GivenFile(f"receipt-{n}-{k}.pdf", b"%PDF-1.4 receipt") for k in range(5)]
        attach(world.db, crm, case_id, files)

    case = queries.get_case(world.db, dana, case_id)
    oldest, content = queries.attachment(world.db, dana, case_id, first_file_id(world, case_id))

    assert case.attachment_count == 55
    assert len(case.attachments) == casefile.ATTACHMENTS_CARRIED == 50
    assert {a.name for a in case.attachments} == {
        f"receipt-{n}-{k}.pdf" for n in range(1, 11) for k in range(5)
    }
    assert oldest.name.startswith("receipt-0-")
    assert content == b"%PDF-1.4 receipt"


def first_file_id(world: World, case_id: str) -> str:
    with world.db.reading() as session:
        found = session.scalars(
            select(AttachmentRow.id)
            .where(AttachmentRow.case_id == case_id)
            .order_by(AttachmentRow.created_at, AttachmentRow.id)
        ).first()
    assert found is not None
    return found
