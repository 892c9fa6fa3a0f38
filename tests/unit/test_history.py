"""The hash chain, on in-memory events."""

import hashlib
from datetime import timedelta

from handoff import history
from handoff.models import Event
from tests.unit.cases import NOW


def chain(n: int) -> list[Event]:
    events, prev = [], history.GENESIS_HASH
    for seq in range(1, n + 1):
        event = Event(
            case_id="c1",
            seq=seq,
            type="note_added",
            actor_kind="agent",
            actor_id="dana",
            org_id="acme",
            at=NOW + timedelta(seconds=seq),
            data={"text": f"note {seq}"},
            prev_hash=prev,
        )
        event.hash = history.event_hash(event)
        events.append(event)
        prev = event.hash
    return events


def test_each_hash_is_sha256_of_the_canonical_encoding_and_the_previous_hash() -> None:
    first, second = chain(2)
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    body = (
        '{"actor":{"id":"dana","kind":"agent"},"at":"2026-11-24T12:00:02.000000+00:00",'
        '"case_id":"c1","data":{"text":"note 2"},"org_id":"acme","prev_hash":"'
        + first.hash
        + '","seq":2,"type":"note_added"}'
    )
    assert second.hash == hashlib.sha256(body.encode()).hexdigest()


def test_an_untouched_chain_verifies() -> None:
    assert history.verify(chain(5)) == history.Verification(True, 5, None)


def test_an_edited_event_breaks_the_chain_at_its_seq() -> None:
    events = chain(5)
    events[2].data = {"text": "rewritten"}
    assert history.verify(events) == history.Verification(False, 5, 3)


def test_an_edited_event_with_a_recomputed_hash_breaks_the_next_seq() -> None:
    events = chain(5)
    events[2].data = {"text": "rewritten"}
    events[2].hash = history.event_hash(events[2])
    assert history.verify(events).first_broken_seq == 4


def test_a_missing_event_is_a_gap_at_its_seq() -> None:
    events = chain(5)
    del events[1]
    assert history.verify(events).first_broken_seq == 2


def test_deleting_the_newest_events_is_caught_by_the_chain_head_the_case_keeps() -> None:
    events = chain(5)
    head = (5, events[-1].hash)
    assert history.verify(events, head).valid
    assert history.verify(events[:3], head) == history.Verification(False, 3, 4)


def test_events_beyond_the_chain_head_the_case_keeps_are_broken_from_the_first_extra() -> None:
    events = chain(5)
    assert history.verify(events, (4, events[3].hash)).first_broken_seq == 5


def test_a_replaced_last_event_breaks_at_its_seq() -> None:
    events = chain(5)
    assert history.verify(events, (5, "f" * 64)).first_broken_seq == 5
