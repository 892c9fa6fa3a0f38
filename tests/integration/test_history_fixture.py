"""Histories written by the engine before typed events (b4cec65) still read, verify and grow.

tests/fixtures/history-b4cec65.db was made by tests/fixtures/make_history_fixture.py run at
b4cec65: 13 cases whose 96 events carry every event type and a refusal of every recorded code.
"""

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Text, cast, select

from api.ui.timeline import timeline
from handoff import services
from handoff.config import Settings
from handoff.domain import events
from handoff.domain.errors import RECORDED_CODES
from handoff.domain.lifecycle import EVENT_TYPES
from handoff.domain.principals import Actor
from handoff.history.chain import canonical_json
from handoff.history.check import check
from handoff.services import queries
from handoff.services.audit import case_as_of, verify_chains
from handoff.services.directory import load_directory
from handoff.services.org_metrics import org_metrics
from handoff.store.db import Database
from handoff.store.migrate import upgrade
from handoff.store.models import CaseRow, Event, ParticipantRow

FIXTURE = Path(__file__).parent.parent / "fixtures" / "history-b4cec65.db"
AUDITOR = Actor(kind="agent", id="ada", org_id="acme", role="auditor")
SAM = Actor(kind="agent", id="sam", org_id="acme", role="supervisor")

# Event types the engine began writing after b4cec65, which wrote the fixture.
WRITTEN_SINCE_THE_FIXTURE = {"session_message", "attachments_added"}


@pytest.fixture
def fixture_db(tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "history.db"
    shutil.copy(FIXTURE, path)
    upgrade(f"sqlite:///{path}")  # whatever migrations came after b4cec65
    db = Database(Settings(database_url=f"sqlite:///{path}"))
    yield db
    db.dispose()


def stored_events(db: Database) -> list[tuple[str, int, str, str]]:
    """Each event's case, seq, type and `data` as the text the database holds."""
    query = select(Event.case_id, Event.seq, Event.type, cast(Event.data, Text))
    with db.reading() as session:
        return [(c, s, t, d) for c, s, t, d in session.execute(query.order_by(Event.id))]


def test_the_fixture_holds_every_event_type_and_every_recorded_refusal(
    fixture_db: Database,
) -> None:
    found = stored_events(fixture_db)
    types = Counter(type_ for _case, _seq, type_, _data in found)
    refusals = [events.parse(t, json.loads(data)) for _c, _s, t, data in found if t == "refused"]

    assert set(types) == EVENT_TYPES - WRITTEN_SINCE_THE_FIXTURE
    assert {r.code for r in refusals if isinstance(r, events.Refused)} == RECORDED_CODES
    assert len({case for case, *_ in found}) == 13


def test_every_chain_verifies_and_every_invariant_holds(fixture_db: Database) -> None:
    verification = verify_chains(fixture_db, AUDITOR)

    assert verification.valid
    assert (verification.chains, verification.events) == (13, 96)
    assert check(fixture_db) == []


def test_every_event_parses_to_its_class_and_encodes_to_the_stored_bytes(
    fixture_db: Database,
) -> None:
    for case_id, seq, type_, text in stored_events(fixture_db):
        event = events.parse(type_, json.loads(text))

        assert type(event) is events.CLASS_OF[type_], (case_id, seq)
        assert not event.absent, (case_id, seq, type_)
        assert not event.unnamed, (case_id, seq, type_)
        assert canonical_json(event.data()).encode() == text.encode(), (case_id, seq)


def test_a_fixture_case_takes_a_new_event_and_its_chain_still_verifies(
    fixture_db: Database,
) -> None:
    with fixture_db.reading() as session:
        case_id, last_seq = session.execute(
            select(CaseRow.id, CaseRow.last_seq).where(CaseRow.subject == "Wrong colour")
        ).one()

    services.add_note(fixture_db, SAM, case_id, "Written by the new code.")

    verification = verify_chains(fixture_db, AUDITOR)
    assert verification.valid
    assert verification.events == 97
    assert check(fixture_db) == []
    *_, (new_case, new_seq, new_type, new_text) = stored_events(fixture_db)
    assert (new_case, new_seq, new_type) == (case_id, last_seq + 1, "note_added")
    assert events.parse(new_type, json.loads(new_text)) == events.NoteAdded(
        "Written by the new code.", "internal"
    )


def test_each_fixture_case_as_of_now_is_the_case_as_its_row_holds_it(fixture_db: Database) -> None:
    """Withdrawn with a handoff pending, a case is closed; withdrawn unclaimed, it is owned."""
    with fixture_db.reading() as session:
        rows = session.execute(
            select(CaseRow.id, CaseRow.state, CaseRow.owner_org_id, CaseRow.owner_agent_id)
        )
        cases = {case_id: tuple(rest) for case_id, *rest in rows}
        taking_part = session.execute(select(ParticipantRow.case_id, ParticipantRow.org_id)).all()

    for case_id, (state, owner_org, owner_agent) in cases.items():
        now = case_as_of(fixture_db, AUDITOR, case_id, datetime(2100, 1, 1, tzinfo=UTC))

        assert now.owner is not None
        assert (now.state, now.owner.org_id, now.owner.agent_id) == (state, owner_org, owner_agent)
        orgs = sorted(org for case, org in taking_part if case == case_id)
        assert sorted(now.participants) == orgs


def test_the_metrics_count_each_refused_attempt_for_the_org_that_tried(
    fixture_db: Database,
) -> None:
    metrics = {m.org_id: m for m in org_metrics(fixture_db, AUDITOR)}

    assert metrics["acme"].send_away_refused == {
        "cold_transfer_forbidden": 1,
        "send_away_language": 1,
    }
    assert metrics["firstbank"].send_away_refused == {
        "open_requests": 1,
        "ping_pong": 1,
        "send_away_language": 1,
        "warm_session_required": 1,
    }
    assert (metrics["acme"].reopens, metrics["firstbank"].reopens) == (2, 1)
    assert metrics["acme"].owner_changes_orgs == 1
    assert metrics["acme"].bounces == 0


def test_the_timeline_phrases_every_fixture_event_and_names_each_handoff_s_org(
    fixture_db: Database,
) -> None:
    names = load_directory(fixture_db)
    for case_id in list_of_cases(fixture_db):
        events = queries.case_events(fixture_db, AUDITOR, case_id)
        lines = timeline(events, names)

        assert [line.seq for line in lines] == [e.seq for e in events]
        assert not [line.text for line in lines if "unknown org" in line.text]


def list_of_cases(db: Database) -> list[str]:
    with db.reading() as session:
        return list(session.scalars(select(CaseRow.id).order_by(CaseRow.number)))
