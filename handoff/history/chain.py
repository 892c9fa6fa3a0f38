"""The case history: append-only events, per-case `seq`, and a SHA-256 hash chain over them."""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection

from handoff.domain.canonical import canonical_json as canonical_json
from handoff.domain.case import Case
from handoff.domain.events import DomainEvent
from handoff.domain.principals import Actor
from handoff.store.event_rows import STORED_EVENT as STORED_EVENT
from handoff.store.event_rows import write
from handoff.store.models import Event, format_time

GENESIS_HASH = "0" * 64
T = TypeVar("T")


def canonical(
    *,
    case_id: str,
    seq: int,
    type: str,
    actor_kind: str,
    actor_id: str | None,
    org_id: str | None,
    at: datetime,
    data: dict[str, Any],
    prev_hash: str,
) -> bytes:
    """The event as JSON with sorted keys, no spaces, UTF-8: the bytes its hash is taken of."""
    if not _plain(case_id, type, actor_kind, prev_hash, seq, actor_id, org_id):
        return _canonical_by_dumps(
            case_id=case_id,
            seq=seq,
            type=type,
            actor_kind=actor_kind,
            actor_id=actor_id,
            org_id=org_id,
            at=at,
            data=data,
            prev_hash=prev_hash,
        )
    return spliced(
        case_id,
        seq,
        type,
        actor_kind,
        actor_id,
        org_id,
        format_time(at),
        canonical_json(data),
        prev_hash,
    )


def spliced(
    case_id: str,
    seq: int,
    type: str,
    actor_kind: str,
    actor_id: str | None,
    org_id: str | None,
    at: str,
    data: str,
    prev_hash: str,
) -> bytes:
    """The canonical bytes from `at` as format_time spells it and `data` as canonical_json text.

    The same bytes as _canonical_by_dumps, spelled out: the outer keys in sorted order, each text
    escaped as json.dumps escapes it; `data` goes in as it is given.
    """
    return "".join(
        (
            '{"actor":{"id":',
            "null" if actor_id is None else _encode_text(actor_id),
            ',"kind":',
            _encode_text(actor_kind),
            '},"at":',
            _encode_text(at),
            ',"case_id":',
            _encode_text(case_id),
            ',"data":',
            data,
            ',"org_id":',
            "null" if org_id is None else _encode_text(org_id),
            ',"prev_hash":',
            _encode_text(prev_hash),
            ',"seq":',
            int.__repr__(seq),
            ',"type":',
            _encode_text(type),
            "}",
        )
    ).encode()


def _plain(*values: object) -> bool:
    """Texts, an int seq and nullable texts, as the columns hold them (anything else, such as a
    str subclass, takes the general encoder)."""
    *texts, seq, actor_id, org_id = values
    return (
        all(type(v) is str for v in texts)
        and type(seq) is int
        and (actor_id is None or type(actor_id) is str)
        and (org_id is None or type(org_id) is str)
    )


_encode_text = json.encoder.encode_basestring  # what json.dumps uses with ensure_ascii=False


def _canonical_by_dumps(
    *,
    case_id: str,
    seq: int,
    type: str,
    actor_kind: str,
    actor_id: str | None,
    org_id: str | None,
    at: datetime,
    data: dict[str, Any],
    prev_hash: str,
) -> bytes:
    body = {
        "case_id": case_id,
        "seq": seq,
        "type": type,
        "actor": {"kind": actor_kind, "id": actor_id},
        "org_id": org_id,
        "at": format_time(at),
        "data": data,
        "prev_hash": prev_hash,
    }
    return canonical_json(body).encode()


def event_hash(event: Event) -> str:
    return hashlib.sha256(
        canonical(
            case_id=event.case_id,
            seq=event.seq,
            type=event.type,
            actor_kind=event.actor_kind,
            actor_id=event.actor_id,
            org_id=event.org_id,
            at=event.at,
            data=event.data,
            prev_hash=event.prev_hash,
        )
    ).hexdigest()


def append(
    conn: Connection,
    case: Case,
    type: str,
    actor: Actor,
    at: datetime,
    data: dict[str, Any],
    unsubscribed: frozenset[str] | None = None,
    *,
    org_id: str | None = None,
) -> Event:
    """Append the next event of a locked case, as stored (`type` and `data`), and write it: the
    caller commits it with the change itself. The services record typed events (`next_event`).

    `unsubscribed`: the orgs known to have had no webhook subscription when the case was read in
    this transaction (see casefile.Loaded), so the outbox need not look again for them.
    """
    event = _chained(case, type, data, actor, at, org_id)
    write(conn, case, [event], unsubscribed)
    return event


def next_event(
    case: Case, event: DomainEvent, actor: Actor, at: datetime, *, org_id: str | None = None
) -> Event:
    """The case's next event, hashed onto its chain (the case's head moves on to it); `write`
    stores it."""
    return _chained(case, event.type, event.data(), actor, at, org_id)


def _chained(
    case: Case, type: str, data: dict[str, Any], actor: Actor, at: datetime, org_id: str | None
) -> Event:
    stored = Event(
        case_id=case.id,
        seq=case.last_seq + 1,
        type=type,
        actor_kind=actor.kind,
        actor_id=actor.id,
        org_id=org_id if org_id is not None else (actor.org_id or case.owner_org_id),
        at=at,
        data=data,
        prev_hash=case.last_hash,
    )
    stored.hash = event_hash(stored)
    case.last_seq, case.last_hash = stored.seq, stored.hash
    return stored


@dataclass(frozen=True)
class Verification:
    valid: bool
    events: int
    first_broken_seq: int | None


def verify(events: Iterable[Event], head: tuple[int, str] | None = None) -> Verification:
    """Walk one case's events in `seq` order; the first gap, bad link or bad hash breaks the chain.

    `head` is the (last_seq, last_hash) the case row holds, so deleting the newest events is
    caught too: the first missing `seq` is reported.
    """
    links = ((e.seq, e.prev_hash, e.hash, e) for e in events)
    return _walk(links, lambda e: e.hash == event_hash(e), head)


def _walk(
    links: Iterable[tuple[int, str, str, T]],
    holds: Callable[[T], bool],
    head: tuple[int, str] | None,
) -> Verification:
    """The chain walk itself, over (seq, prev_hash, hash, event) in `seq` order; `holds` says
    whether an event hashes to its `hash`."""
    expected_seq, prev_hash, count, broken = 1, GENESIS_HASH, 0, None
    for seq, prev, hash, event in links:
        count += 1
        if broken is None and (seq != expected_seq or prev != prev_hash or not holds(event)):
            broken = expected_seq
        expected_seq, prev_hash = seq + 1, hash
    last_seq = expected_seq - 1
    if broken is None and head is not None and head != (last_seq, prev_hash):
        # Missing at the tail: the first missing seq; beyond the head: the first extra one;
        # same length but another hash: the last event was replaced.
        broken = last_seq + 1 if head[0] > last_seq else min(head[0] + 1, last_seq)
    return Verification(valid=broken is None, events=count, first_broken_seq=broken)


# An event as a plain row holds it in STORED_EVENT's order: `data` is the stored JSON text and `at`
# the stored time, which the reader's spell_time spells as format_time does.
StoredEvent = tuple[str, int, str, str, str | None, str | None, Any, str, str, str]


class StoredHashes:
    """`verify` for events read as plain rows (STORED_EVENT), with no model and no decoding.

    JSON stored canonically (as the engine stores it now) is hashed as it is; older rows' `data`
    is decoded and encoded canonically first. Rows come in runs written the same way, so each is
    tried first the way the row before it held.
    """

    def __init__(self, spell_time: Callable[[Any], str]) -> None:
        self.spell_time = spell_time
        self.as_stored = True

    def verify(
        self, rows: Iterable[StoredEvent], head: tuple[int, str] | None = None
    ) -> Verification:
        return _walk(((r[1], r[8], r[9], r) for r in rows), self.holds, head)

    def holds(self, row: StoredEvent) -> bool:
        """Whether the row hashes to its `hash`."""
        case_id, seq, type, actor_kind, actor_id, org_id, stored_at, stored_data, prev, hash = row
        at = self.spell_time(stored_at)
        if self.as_stored:
            body = spliced(case_id, seq, type, actor_kind, actor_id, org_id, at, stored_data, prev)
            if hashlib.sha256(body).hexdigest() == hash:
                return True
        try:
            data = canonical_json(json.loads(stored_data))
        except ValueError:  # not JSON: no event was hashed with it
            return False
        already_tried = self.as_stored and data == stored_data
        self.as_stored = data == stored_data
        body = spliced(case_id, seq, type, actor_kind, actor_id, org_id, at, data, prev)
        return not already_tried and hashlib.sha256(body).hexdigest() == hash
