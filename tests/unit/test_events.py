"""Typed events read every stored shape and give it back byte for byte (no database)."""

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st

from handoff.domain import event_encoding, events
from handoff.domain.lifecycle import EVENT_TYPES
from handoff.history.chain import canonical_json

# Each type as today's commands write it (and, where writers differ, each writer's shape).
STORED: list[tuple[str, dict[str, Any]]] = [
    ("case_created", {"subject": "Hold", "priority": "high", "participants": ["acme", "bank"]}),
    ("claimed", {"agent_id": "dana", "on_create": False}),
    ("claimed", {"agent_id": "dana", "on_create": True}),
    ("escalated_unclaimed", {"agent_id": "sam", "role": "supervisor"}),
    ("escalation_failed", {"reason": "acme has no active agent; the case stays unclaimed"}),
    ("assigned", {"from_agent": "dana", "to_agent": "dave"}),
    ("assigned", {"from_agent": "dana", "to_agent": "sam", "reason": "agent deactivated"}),
    ("participant_added", {"org_id": "bank", "reason": "holds the charge"}),
    (
        "handoff_proposed",
        {"handoff_id": "h", "to_org": "b", "summary": "S", "override_reason": None},
    ),
    ("handoff_proposed", {"handoff_id": "h", "to_org": "b", "summary": "", "override_reason": "R"}),
    (
        "handoff_accepted",
        {"handoff_id": "h", "from_org": "acme", "from_agent": "dana", "to_org": "bank",
         "to_agent": "ben", "summary": "S"},
    ),
    ("handoff_declined", {"handoff_id": "h", "to_org": "bank", "reason": "not ours"}),
    ("handoff_cancelled", {"handoff_id": "h", "to_org": "bank", "reason": None}),
    ("handoff_cancelled", {"handoff_id": "h", "reason": "case withdrawn"}),
    ("handoff_expired", {"handoff_id": "h", "to_org": "bank", "owner": "dana"}),
    ("awaiting_customer", {"needed": "a photo"}),
    ("customer_responded", {"note": None}),
    ("customer_responded", {"note": "sent it"}),
    ("resolution_proposed", {"code": "fixed", "summary": "Released."}),
    ("resolution_confirmed", {"code": "fixed", "on_customer_word": True}),
    ("resolution_rejected", {"reason": "still held", "code": "fixed", "owner_agent": "dana"}),
    ("auto_closed", {"code": "fixed", "automatic": True}),
    ("reopened", {"reason": "again", "owner_agent": "dana"}),
    ("withdrawn", {"reason": "sorted it myself"}),
    ("withdrawn", {"reason": "sorted it myself", "owner_agent": "dana"}),
    (
        "request_created",
        {"request_id": "r", "to_org": "bank", "action": "Release",
         "respond_by": "2026-03-02T09:00:00.123456+00:00"},
    ),
    (
        "request_created",
        {"request_id": "r", "to_org": "b", "action": "", "respond_by": "2026-03-02T11:00:00+02:00"},
    ),
    ("request_acknowledged", {"request_id": "r", "to_org": "bank", "action": "Release"}),
    ("request_completed", {"request_id": "r", "to_org": "bank", "action": "Do", "note": "done"}),
    ("request_declined", {"request_id": "r", "to_org": "bank", "action": "Do", "reason": "no"}),
    ("request_cancelled", {"request_id": "r", "to_org": "bank"}),
    (
        "request_overdue",
        {"request_id": "r", "to_org": "bank", "respond_by": "2026-03-02T09:00:00+00:00",
         "escalated_to": None},
    ),
    ("session_started", {"session_id": "s", "handoff_id": None}),
    ("session_started", {"session_id": "s", "handoff_id": "h"}),
    ("session_joined", {"session_id": "s", "party": "customer", "agent_id": None}),
    ("session_left", {"session_id": "s", "party": "owner", "agent_id": "dana"}),
    ("session_ended", {"session_id": "s"}),
    ("session_ended", {"session_id": "s", "reason": "case closed"}),
    ("note_added", {"text": "Called them", "visibility": "internal"}),
    ("attachments_added", {"attachments": [
        {"id": "a", "name": "s.pdf", "content_type": "application/pdf", "size": 9, "sha256": "cd"}
    ]}),
    ("session_message", {"session_id": "s", "party": "owner", "agent_id": "dana", "text": "Hi"}),
    ("session_message", {"session_id": "s", "party": "customer", "agent_id": None, "text": "Hi"}),
    (
        "session_joined",
        {"session_id": "s", "party": "customer", "agent_id": None, "via": "link"},
    ),
    (
        "session_left",
        {"session_id": "s", "party": "customer", "agent_id": None, "via": "link",
         "reason": "connection_lost"},
    ),
    ("customer_responded", {"note": "Here it is", "via": "link", "attachments": [
        {"id": "a", "name": "label.jpg", "content_type": "image/jpeg", "size": 3, "sha256": "ab"}
    ]}),
    (
        "refused",
        {"trigger": "add_note", "code": "send_away_language", "message": "M", "field": "text",
         "phrase": "call your bank", "rule": "call_x"},
    ),
    (
        "refused",
        {"trigger": "accept_handoff", "code": "warm_session_required", "message": "M",
         "missing": [{"party": "customer"}], "session_id": None},
    ),
    (
        "refused",
        {"trigger": "accept_handoff", "code": "warm_session_required", "message": "M",
         "missing": ["customer"], "waiting_for": [{"party": "customer"}], "session_id": "s",
         "customer_presence": "verified"},
    ),
    (
        "refused",
        {"trigger": "assign", "code": "cold_transfer_forbidden", "message": "M",
         "agent_id": "ben", "agent_org": "bank", "owner_org": "acme"},
    ),
]  # fmt: skip


def test_every_type_the_engine_writes_has_a_class() -> None:
    assert set(events.CLASS_OF) == EVENT_TYPES
    assert len(events.CLASSES) == len(EVENT_TYPES)
    assert {type_ for type_, _ in STORED} == EVENT_TYPES


@pytest.mark.parametrize(("type_", "stored"), STORED)
def test_a_stored_event_reads_as_its_class_and_encodes_back_to_the_same_bytes(
    type_: str, stored: dict[str, Any]
) -> None:
    event = events.parse(type_, stored)

    assert type(event) is events.CLASS_OF[type_]
    assert event.type == type_
    assert event.data() == stored
    assert canonical_json(event.data()) == canonical_json(stored)
    assert events.parse(type(event).TYPE, event.data()) == event
    assert not event.absent
    assert not event.unnamed


def test_fields_read_as_their_types() -> None:
    created = events.parse(*STORED[25])
    refused = events.parse(*next(s for s in STORED if s[1].get("code") == "send_away_language"))

    assert isinstance(created, events.RequestCreated)
    assert created.respond_by == datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
    assert isinstance(refused, events.Refused)
    assert refused.phrase == "call your bank"
    assert refused.details == {"field": "text", "phrase": "call your bank", "rule": "call_x"}
    case_created = events.parse(*STORED[0])
    assert isinstance(case_created, events.CaseCreated)
    assert case_created.participants == ("acme", "bank")


def test_an_older_shape_lacking_a_key_reads_with_a_fallback_and_is_written_back_without_it() -> (
    None
):
    event = events.parse("request_acknowledged", {"request_id": "r"})

    assert event == events.RequestAcknowledged("r", "", "", absent=frozenset({"to_org", "action"}))
    assert event.data() == {"request_id": "r"}


def test_a_time_not_spelled_as_isoformat_spells_it_is_kept_as_written() -> None:
    stored = {"request_id": "r", "to_org": "b", "action": "A", "respond_by": "2026-03-02T11:00Z"}
    event = events.parse("request_created", stored)

    assert isinstance(event, events.RequestCreated)
    assert event.respond_by is None
    assert event.data() == stored


def test_a_key_this_version_does_not_name_or_cannot_read_is_kept() -> None:
    stored = {"session_id": 7, "party": "owner", "agent_id": "dana", "volume": "loud"}
    event = events.parse("session_joined", stored)

    assert isinstance(event, events.SessionJoined)
    assert event.session_id == ""
    assert event.data() == stored


def test_an_unknown_type_reads_as_an_unknown_event_and_keeps_its_data() -> None:
    event = events.parse("case_teleported", {"to": "mars", "n": 1})

    assert event == events.UnknownEvent("case_teleported", {"to": "mars", "n": 1})
    assert event.type == "case_teleported"
    assert event.data() == {"to": "mars", "n": 1}


def test_the_envelope_carries_who_and_when() -> None:
    class Row:
        seq, type, actor_kind, actor_id, org_id = 3, "note_added", "agent", "dana", "acme"
        at = datetime(2026, 3, 1, tzinfo=UTC)
        data = {"text": "Hi", "visibility": "customer"}

    recorded = events.Recorded.of(Row())

    assert recorded.event == events.NoteAdded("Hi", "customer")
    assert (recorded.seq, recorded.actor_id, recorded.org_id) == (3, "dana", "acme")


# --- Properties ----------------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)  # fmt: skip
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
TIMES = st.datetimes(timezones=OFFSETS | st.none())
REFUSAL_DETAILS = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k not in ("trigger", "code", "message")), JSON, max_size=4
)


def built(cls: type[events.DomainEvent]) -> st.SearchStrategy[events.DomainEvent]:
    times = {f.name: TIMES | st.none() for f in fields(cls) if f.type == datetime | None}
    if cls is events.Refused:
        return st.builds(cls, details=REFUSAL_DETAILS)
    return st.builds(cls, **times)


ANY_EVENT = st.sampled_from(events.CLASSES).flatmap(built)


@given(ANY_EVENT)
def test_every_event_reads_back_as_itself(event: events.DomainEvent) -> None:
    stored = event.data()

    assert events.parse(type(event).TYPE, stored) == event
    assert canonical_json(events.parse(event.type, stored).data()) == canonical_json(stored)


@given(ANY_EVENT, st.data())
def test_any_stored_shape_reads_and_encodes_back_exactly(
    event: events.DomainEvent, draw: st.DataObject
) -> None:
    """Keys dropped (older versions), added (newer ones) or of another type still re-encode."""
    stored = event.data()
    dropped = draw.draw(st.sets(st.sampled_from(sorted(stored)))) if stored else set()
    shape = {k: v for k, v in stored.items() if k not in dropped}
    if stored:
        shape |= draw.draw(st.dictionaries(st.sampled_from(sorted(stored)), JSON, max_size=2))
    shape |= draw.draw(st.dictionaries(st.text(max_size=6), JSON, max_size=3))

    reread = events.parse(event.type, shape)

    assert type(reread) is type(event)
    assert reread.data() == shape
    assert events.parse(event.type, reread.data()) == reread


def test_a_key_of_a_newer_version_is_kept_beside_a_key_written_only_when_given() -> None:
    stored = {"from_agent": None, "to_agent": "sam", "": None}

    assert events.parse("assigned", stored).data() == stored


def test_times_are_written_and_read_on_a_frozen_clock_too() -> None:
    """freezegun swaps the datetime class wherever a module names it; fields still know it."""
    stored = {"request_id": "r", "to_org": "b", "action": "A", "respond_by": "2026-03-02T09:00:00"}
    event_encoding._KEYS.clear()  # the field table is first made on the frozen clock
    with freeze_time("2026-03-01 09:00"):
        created = events.RequestCreated("r", "b", "A", datetime.now() + timedelta(days=1))

        assert created.data() == stored
        assert events.parse("request_created", stored) == created
