"""The audit engine on every database: metrics per org from known histories, every chain
verified a batch of cases at a time, and the export's access check."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import text
from typer.testing import CliRunner

from handoff import services
from handoff.cli import app
from handoff.delivery.worker import tick
from handoff.domain.errors import Forbidden
from handoff.history.chain import Verification
from handoff.history.verification import verify_cases
from handoff.services import audit
from handoff.services.audit import BrokenChain, verify_chains
from handoff.services.org_metrics import Durations, OrgMetrics, org_metrics
from handoff.services.visibility import visible_cases
from tests.integration.world import ADMIN, World, tampering

T0 = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def metrics_of(world: World, org: str) -> OrgMetrics:
    (line,) = org_metrics(world.db, world.auditor(), org=org)
    return line


def arrived_unclaimed(world: World, claimed_after: list[int | None]) -> list[str]:
    """Cases Acme's CRM opens at T0, each claimed by Dana that many minutes later (None: not)."""
    crm, dana = world.system("acme-crm"), world.agent("dana")
    cases = [
        services.create_case(world.db, crm, customer={"name": "C"}, subject="S").id
        for _ in claimed_after
    ]
    claims = sorted(
        (m, case) for case, m in zip(cases, claimed_after, strict=True) if m is not None
    )
    for minutes, case in claims:
        with freeze_time(T0 + minutes * MINUTE):
            services.claim(world.db, dana, case)
    return cases


def test_time_to_claim_counts_only_cases_that_arrived_unclaimed(world: World) -> None:
    with freeze_time(T0):
        arrived_unclaimed(world, [5, 15])
        services.create_case(world.db, world.agent("dana"), customer={"name": "D"}, subject="S")

    with freeze_time(T0 + timedelta(hours=1)):
        acme = metrics_of(world, "acme")

    assert acme.cases == 3
    assert acme.time_to_claim == Durations(cases=2, mean_seconds=600.0, max_seconds=900.0)
    # 5 min, 15 min, and none for the case its agent opened: (300 + 900 + 0) / 3.
    assert acme.time_without_owner == Durations(cases=3, mean_seconds=400.0, max_seconds=900.0)


def test_a_case_still_unclaimed_waits_without_owner_until_the_moment_of_asking(
    world: World,
) -> None:
    with freeze_time(T0):
        arrived_unclaimed(world, [None])

    with freeze_time(T0 + 20 * MINUTE):
        acme = metrics_of(world, "acme")

    assert acme.time_to_claim == Durations(0, None, None)
    assert acme.time_without_owner == Durations(1, 1200.0, 1200.0)


def test_a_case_the_timer_gave_an_owner_counts_as_claimed_then(world: World) -> None:
    with freeze_time(T0):
        arrived_unclaimed(world, [None])
    with freeze_time(T0 + 15 * MINUTE):
        tick(world.db)

    with freeze_time(T0 + timedelta(hours=5)):
        acme = metrics_of(world, "acme")

    assert acme.time_to_claim == Durations(1, 900.0, 900.0)
    assert acme.time_without_owner == Durations(1, 900.0, 900.0)


def test_an_owner_deactivated_counts_as_a_change_of_person_but_not_of_org(world: World) -> None:
    with freeze_time(T0):
        arrived_unclaimed(world, [1])
    with freeze_time(T0 + 2 * MINUTE):
        services.deactivate_agent(world.db, ADMIN, "acme", "dana")

    acme = metrics_of(world, "acme")

    assert (acme.owner_changes_people, acme.owner_changes_orgs, acme.bounces) == (1, 0, 0)
    assert [m.org_id for m in org_metrics(world.db, world.auditor())] == ["acme"]


def test_a_case_whose_first_events_were_cut_off_is_left_out_of_the_metrics(
    world: World,
) -> None:
    with freeze_time(T0):
        _kept, cut = arrived_unclaimed(world, [5, 10])
    with tampering(world.db) as conn:
        conn.execute(text("DELETE FROM events WHERE case_id = :c AND seq = 1"), {"c": cut})

    acme = metrics_of(world, "acme")

    assert acme.cases == 1
    assert acme.time_to_claim == Durations(1, 300.0, 300.0)


@pytest.mark.parametrize("cases", [4, 5])
def test_every_chain_is_walked_a_batch_of_cases_at_a_time(
    world: World, monkeypatch: pytest.MonkeyPatch, cases: int
) -> None:
    monkeypatch.setattr(audit, "CASE_BATCH", 2)
    with freeze_time(T0):
        ids = arrived_unclaimed(world, [1] * cases)

    verified = verify_chains(world.db, world.auditor())
    acme = metrics_of(world, "acme")

    assert (verified.valid, verified.chains, verified.events) == (True, cases, 2 * cases)
    assert acme.cases == cases == len(set(ids))


def test_an_event_written_while_chains_are_walked_is_not_taken_for_a_break(
    world: World,
) -> None:
    with freeze_time(T0):
        first, second = arrived_unclaimed(world, [None, None])
    walked = audit.case_histories(
        world.db, audit.visible_cases(world.auditor()).with_only_columns(audit.CaseRow.id)
    )

    head, events = next(walked)  # the batch's heads and events are being read now
    first_seqs = [e.seq for e in events]
    services.claim(world.db, world.agent("dana"), second)
    later_head, later_events = next(walked)

    assert (head.case_id, first_seqs) == (first, [1])
    assert (later_head.case_id, later_head.last_seq) == (second, 1)
    assert [e.seq for e in later_events] == [1]


@pytest.mark.parametrize(
    ("slice_size", "second_read"),
    [(2, Verification(True, 1, None)), (1, Verification(True, 2, None))],
    ids=["in the slice being read", "in a slice read later"],
)
def test_a_case_written_to_while_chains_are_verified_is_not_taken_for_a_broken_one(
    world: World, slice_size: int, second_read: Verification
) -> None:
    with freeze_time(T0):
        first, second = arrived_unclaimed(world, [None, None])
    verified = verify_cases(world.db, visible_cases(world.auditor()), slice_size=slice_size)

    assert next(verified) == (first, Verification(True, 1, None))
    services.claim(world.db, world.agent("dana"), second)  # its second event, its head moved on

    assert next(verified) == (second, second_read)


def test_verify_and_the_verify_command_name_the_same_broken_case_and_seq(
    world: World,
) -> None:
    with freeze_time(T0):
        _first, second, third = arrived_unclaimed(world, [1, 2, 3])
    with tampering(world.db) as conn:
        conn.execute(
            text("UPDATE events SET actor_id = 'sam' WHERE case_id = :c AND seq = 2"), {"c": second}
        )
        conn.execute(text("DELETE FROM events WHERE case_id = :c"), {"c": third})

    verified = verify_chains(world.db, world.auditor())
    command = CliRunner().invoke(
        app, ["verify"], env={"HANDOFF_DATABASE_URL": world.db.settings.database_url}
    )

    assert verified.broken == [BrokenChain(second, 2), BrokenChain(third, 1)]
    assert (verified.valid, verified.chains, verified.events) == (False, 3, 4)
    assert command.exit_code == 1
    assert command.stdout == (
        f"3 chains, 4 events: 2 broken: case {second} (first broken seq 2), "
        f"case {third} (first broken seq 1)\n"
    )


def test_only_an_auditor_may_export_and_is_told_so_before_any_event_is_read(
    world: World,
) -> None:
    with pytest.raises(Forbidden):
        audit.export_events(world.db, world.agent("sam"), audit.EventFilter())


def test_a_scoped_auditor_exports_only_the_cases_of_its_orgs(world: World) -> None:
    with freeze_time(T0):
        arrived_unclaimed(world, [1])
        vendo = services.create_case(
            world.db, world.agent("vic"), customer={"name": "V"}, subject="S"
        )

    exported = list(
        audit.export_events(world.db, world.auditor(frozenset({"vendo"})), audit.EventFilter())
    )

    assert [(e.case_id, e.seq) for e in exported] == [(vendo.id, 1), (vendo.id, 2)]
