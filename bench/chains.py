"""Synthetic but valid history, written straight into a SQLite file: many cases, each a hash
chain the engine's own `canonical` encoding would verify, so export and verify have real work."""

import hashlib
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from handoff.history.chain import GENESIS_HASH, canonical, canonical_json

START = datetime(2025, 1, 1, tzinfo=UTC)
CASE_COLUMNS = (
    "id, number, state, version, subject, description, priority, customer, owner_org_id, "
    "owner_agent_id, first_contact_org_id, customer_link, unclaimed_escalation_failed, last_seq, "
    "last_hash, created_at, updated_at"
)
EVENT_COLUMNS = "case_id, seq, type, actor_kind, actor_id, org_id, at, data, prev_hash, hash"


def stored(at: datetime) -> str:
    """How SQLAlchemy keeps a UTC time in SQLite."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _chain(case_id: str, first: datetime, length: int) -> Iterator[tuple[Any, ...]]:
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        if seq == 1:
            kind = "case_created"
            data: dict[str, Any] = {
                "subject": "Synthetic case",
                "priority": "normal",
                "participants": ["acme"],
            }
        else:
            kind, data = (
                "note_added",
                {"text": f"Note {seq} — ünïcode kept", "visibility": "internal"},
            )
        at = first + timedelta(milliseconds=seq)
        body = canonical(
            case_id=case_id,
            seq=seq,
            type=kind,
            actor_kind="agent",
            actor_id="dana",
            org_id="acme",
            at=at,
            data=data,
            prev_hash=prev,
        )
        digest = hashlib.sha256(body).hexdigest()
        yield (
            case_id,
            seq,
            kind,
            "agent",
            "dana",
            "acme",
            stored(at),
            canonical_json(data),  # JSON as the engine stores it
            prev,
            digest,
        )
        prev = digest


def load(path: str, cases: int, length: int) -> int:
    """Add `cases` cases of `length` events each, owned by Acme's Dana; returns events added."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    # Case numbers come from case_numbers, so the engine's next case gets the one after these.
    number = connection.execute("SELECT coalesce(max(number), 0) FROM case_numbers").fetchone()[0]
    connection.execute("BEGIN")
    events = 0
    for batch_start in range(0, cases, 1000):
        case_rows, participant_rows, event_rows = [], [], []
        for i in range(batch_start, min(cases, batch_start + 1000)):
            case_id = uuid.uuid4().hex
            first = START + timedelta(seconds=i)
            chain = list(_chain(case_id, first, length))
            last = stored(first + timedelta(milliseconds=length))
            number += 1
            case_rows.append(
                (case_id, number, "active", length + 1, "Synthetic case", "", "normal",
                 canonical_json({"name": "Carla Diaz"}), "acme", "dana", "acme", uuid.uuid4().hex,
                 0, length, chain[-1][-1], stored(first), last)
            )  # fmt: skip
            participant_rows.append((case_id, "acme", "", stored(first)))
            event_rows += chain
        connection.executemany(
            "INSERT INTO case_numbers (number) VALUES (?)", [(row[1],) for row in case_rows]
        )
        connection.executemany(
            f"INSERT INTO cases ({CASE_COLUMNS}) VALUES ({', '.join('?' * 17)})", case_rows
        )
        connection.executemany(
            "INSERT INTO participants (case_id, org_id, reason, added_at) VALUES (?, ?, ?, ?)",
            participant_rows,
        )
        connection.executemany(
            f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 10)})", event_rows
        )
        events += len(event_rows)
    connection.execute("COMMIT")
    connection.close()
    return events
