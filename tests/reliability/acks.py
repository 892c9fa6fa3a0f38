"""Acknowledged changes, and finding each one's event in the history afterwards."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from handoff.store.db import Database
from handoff.store.models import Event


@dataclass(frozen=True)
class Ack:
    """A change the engine acknowledged: its case, its event, and how to find that event."""

    case_id: str
    event: str
    at: datetime | None = None  # a case answer: its updated_at is the event's time
    item: str | None = None  # a created request, handoff or session: its id is in the event


def not_in_history(db: Database, acks: Iterable[Ack]) -> list[Ack]:
    """The acknowledged changes whose event the history does not hold."""
    by_time: set[tuple[str, str, datetime]] = set()
    by_item: set[tuple[str, str, str]] = set()
    with db.reading() as session:
        for case_id, type, at, data in session.execute(
            select(Event.case_id, Event.type, Event.at, Event.data)
        ):
            by_time.add((case_id, type, at))
            by_item.update((case_id, type, v) for v in data.values() if isinstance(v, str))
    return [
        ack
        for ack in acks
        if (ack.case_id, ack.event, ack.at) not in by_time
        and (ack.case_id, ack.event, ack.item) not in by_item
    ]
