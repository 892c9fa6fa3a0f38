"""The hash chain, on in-memory events."""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from handoff.history import chain as history
from handoff.store.models import Event, format_time
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


def stored(events: list[Event], encode: Callable[[Any], str]) -> list[history.StoredEvent]:
    """The events as plain rows would hold them, `data` encoded by `encode`."""
    return [
        (e.case_id, e.seq, e.type, e.actor_kind, e.actor_id, e.org_id, format_time(e.at),
         encode(e.data), e.prev_hash, e.hash)
        for e in events
    ]  # fmt: skip


def spelled(at: str) -> str:
    return at


def rehashed(events: list[Event]) -> list[Event]:
    prev = history.GENESIS_HASH
    for event in events:
        event.prev_hash = prev
        event.hash = prev = history.event_hash(event)
    return events


def test_stored_rows_verify_with_data_stored_canonically_or_by_plain_json_dumps() -> None:
    events = chain(6)
    for e in events[1::2]:
        e.data = {"text": "ünïcode — kept", "visibility": "internal"}
    events = rehashed(events)
    canonical_rows = stored(events, history.canonical_json)
    old_rows = stored(events, json.dumps)
    assert old_rows[1][7] != canonical_rows[1][7]  # spaces, and \u escapes for the non-ASCII
    mixed = old_rows[:2] + canonical_rows[2:4] + old_rows[4:]
    head = (6, events[-1].hash)

    for rows in (canonical_rows, old_rows, mixed):
        assert history.StoredHashes(spelled).verify(rows, head) == history.Verification(
            True, 6, None
        )


def test_a_stored_row_with_edited_or_unreadable_data_breaks_the_chain_at_its_seq() -> None:
    rows = stored(chain(5), history.canonical_json)
    edited, unreadable = list(rows), list(rows)
    edited[2] = (*rows[2][:7], '{"text":"rewritten"}', *rows[2][8:])
    unreadable[3] = (*rows[3][:7], "{not json", *rows[3][8:])

    assert history.StoredHashes(spelled).verify(edited) == history.Verification(False, 5, 3)
    assert history.StoredHashes(spelled).verify(unreadable) == history.Verification(False, 5, 4)
