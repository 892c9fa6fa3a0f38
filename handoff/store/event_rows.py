"""Events as rows: written once and never changed, one plain INSERT each in the command's
transaction (after the case row they belong to), and queued in the webhook outbox."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from handoff.domain.case import Case
from handoff.store import outbox
from handoff.store.models import Event
from handoff.store.sql import Statement
from handoff.store.values import Columns

# An event's stored columns, in the order plain reads (verify, exports) take them.
STORED_EVENT = (
    "case_id", "seq", "type", "actor_kind", "actor_id", "org_id", "at", "data", "prev_hash", "hash",
)  # fmt: skip
EVENT_COLUMNS = Columns.of(Event.metadata.tables["events"])
INSERT_EVENT = Statement(
    f"INSERT INTO events ({', '.join(STORED_EVENT)}) "
    f"VALUES ({', '.join(':' + name for name in STORED_EVENT)})"
)

STORED_COLUMNS = EVENT_COLUMNS.only(STORED_EVENT)
CASE_PAGE = Statement(
    f"SELECT {', '.join(STORED_EVENT)} FROM events "
    "WHERE case_id = :case_id AND seq > :after ORDER BY seq LIMIT :limit"
)


def case_page(conn: Connection, case_id: str, after: int, limit: int) -> list[tuple[Any, ...]]:
    """Up to `limit` of the case's events after `seq` `after`, in order, each as the values of
    its `STORED_EVENT` columns."""
    rows = CASE_PAGE.rows(conn, {"case_id": case_id, "after": after, "limit": limit})
    return [STORED_COLUMNS.converted(row) for row in rows]


def write(
    conn: Connection,
    case: Case,
    events: Iterable[Event],
    unsubscribed: frozenset[str] | None = None,
) -> None:
    """Store events made by `history.chain.next_event`, and put each in the webhook outbox for
    the orgs that subscribed (`unsubscribed`: the orgs known to have no subscription)."""
    for event in events:
        values = {name: getattr(event, name) for name in STORED_EVENT}
        INSERT_EVENT.execute(conn, EVENT_COLUMNS.params(values, conn))
        if unsubscribed is None or not unsubscribed.issuperset(case.participant_org_ids):
            outbox.enqueue(conn, case, event)
