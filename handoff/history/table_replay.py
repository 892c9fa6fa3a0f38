"""A case's history replayed through the lifecycle table, event by event, from history alone.

Every event must fire from a state the table allows it from; ownership changes org only by a
handoff accepted in a live joint session where the owner agent, the receiving agent and the
customer are present; no resolution is proposed while requests are open; and the replay must end
where the case row is. Events that are not transitions are placed too: `refused` (anywhere),
`escalation_failed` (unclaimed only), an admin's reassignment when deactivating an agent (any
open state), and what a closing trigger writes after its own event in the same transaction.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from handoff.domain.lifecycle import CASE_TABLE, OPEN
from handoff.domain.lifecycle import Row as TableRow
from handoff.store.models import Event

ROW_OF_EVENT: dict[str, TableRow] = {row.event: row for row in CASE_TABLE}
# What a closing trigger writes right after its own event, with the same time and actor:
# withdraw cancels what others still owe, and every close ends the live session.
FOLLOWUPS = {
    "withdrawn": frozenset({"request_cancelled", "handoff_cancelled", "session_ended"}),
    "resolution_confirmed": frozenset({"session_ended"}),
    "auto_closed": frozenset({"session_ended"}),
}
OrgOf = Callable[[str | None], str | None]


@dataclass(frozen=True)
class Finding:
    invariant: str
    detail: str
    seq: int | None = None


class CaseRow(Protocol):
    """What the replay compares its outcome with."""

    @property
    def state(self) -> str: ...
    @property
    def owner_org_id(self) -> str: ...
    @property
    def owner_agent_id(self) -> str | None: ...
    @property
    def version(self) -> int: ...
    @property
    def last_seq(self) -> int: ...


@dataclass
class LiveSession:
    id: str | None
    handoff_id: str | None
    present: list[tuple[str | None, str | None]] = field(default_factory=list)


class Replay:
    """One case's history, event by event, through the lifecycle table."""

    def __init__(self, org_of: OrgOf) -> None:
        self.org_of = org_of
        self.found: list[Finding] = []
        self.next_seq = 1
        self.state: str | None = None
        self.owner_org: str | None = None
        self.owner_agent: str | None = None
        self.participants: set[str] = set()
        self.open_requests: set[str] = set()
        self.pending_handoff: str | None = None
        self.live: LiveSession | None = None
        self.version = 0
        self.closing: tuple[str, datetime, str, str | None] | None = None

    def watch(self, events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            self.feed(event)
            yield event

    def _violation(self, invariant: str, detail: str, event: Event | None = None) -> None:
        self.found.append(Finding(invariant, detail, event.seq if event else None))

    def feed(self, e: Event) -> None:
        if e.seq != self.next_seq:
            self._violation("gapless_seq", f"seq {self.next_seq} is followed by {e.seq}", e)
        self.next_seq = e.seq + 1
        if self.state is None or e.type == "case_created":
            self._created(e)
        elif self._is_followup(e):
            self._apply(e)
        else:
            self.closing = None
            self._transition(e)

    def _created(self, e: Event) -> None:
        if e.type != "case_created" or e.seq != 1:
            self._violation("table_allows_transition", f"{e.type} where case_created belongs", e)
        self.state, self.owner_org, self.version = "unclaimed", e.org_id, 1
        self.participants = set(e.data.get("participants") or [e.org_id])

    def _is_followup(self, e: Event) -> bool:
        if self.closing is None:
            return False
        main, at, kind, actor = self.closing
        return e.type in FOLLOWUPS[main] and (e.at, e.actor_kind, e.actor_id) == (at, kind, actor)

    def _transition(self, e: Event) -> None:
        if e.type == "refused":
            return
        if e.type == "escalation_failed":
            self._require_state(e, ("unclaimed",), "escalation_failed")
            return
        if e.type == "assigned" and e.actor_kind == "admin":  # deactivating the owner agent
            self._require_state(e, OPEN, "an admin's reassignment")
            self._apply(e)
            self.version += 1
            return
        row = ROW_OF_EVENT.get(e.type)
        if row is None:
            self._violation("table_allows_transition", f"unknown event type {e.type}", e)
            return
        self._require_state(e, row.source, row.trigger)
        self._apply(e)
        self.state = row.dest or self.state
        self.version += 1
        if e.type in FOLLOWUPS:
            self.closing = (e.type, e.at, e.actor_kind, e.actor_id)

    def _require_state(self, e: Event, allowed: Sequence[str], what: str) -> None:
        if self.state not in allowed:
            self._violation(
                "table_allows_transition",
                f"{what} fired from {self.state}; the table allows it from {', '.join(allowed)}",
                e,
            )

    def _apply(self, e: Event) -> None:
        data, kind = e.data, e.type
        if kind in ("claimed", "escalated_unclaimed"):
            self._owned_by(e, data.get("agent_id"))
        elif kind == "assigned":
            self._owned_by(e, data.get("to_agent"))
        elif kind == "reopened" or (kind == "withdrawn" and "owner_agent" in data):
            self._owned_by(e, data.get("owner_agent"))
        elif kind == "handoff_accepted":
            self._accepted(e)
        elif kind == "participant_added":
            self.participants.add(str(data.get("org_id")))
        elif kind == "request_created":
            self.open_requests.add(str(data.get("request_id")))
        elif kind in ("request_completed", "request_declined", "request_cancelled"):
            self.open_requests.discard(data.get("request_id"))
        elif kind == "handoff_proposed":
            self.pending_handoff = data.get("handoff_id")
        elif kind in ("handoff_declined", "handoff_cancelled", "handoff_expired"):
            self.pending_handoff = None
        elif kind == "session_started":
            self.live = LiveSession(data.get("session_id"), data.get("handoff_id"))
        elif kind == "session_joined" and self.live is not None:
            self.live.present.append((data.get("party"), data.get("agent_id")))
        elif kind == "session_left" and self.live is not None:
            stay = (data.get("party"), data.get("agent_id"))
            self.live.present = [p for p in self.live.present if p != stay]
        elif kind == "session_ended":
            self.live = None
        elif kind == "resolution_proposed" and self.open_requests:
            still = ", ".join(sorted(self.open_requests))
            self._violation("no_open_requests", f"resolution proposed with {still} open", e)

    def _owned_by(self, e: Event, agent_id: str | None) -> None:
        org = self.org_of(agent_id)
        if org != self.owner_org:
            self._violation(
                "one_owner_org",
                f"{e.type} made {agent_id} (of {org}) owner of {self.owner_org}'s case",
                e,
            )
        self.owner_agent = agent_id

    def _accepted(self, e: Event) -> None:
        data = e.data
        handoff_id, to_agent = data.get("handoff_id"), data.get("to_agent")
        live = self.live
        present = live.present if live and live.handoff_id == handoff_id else []
        missing = []
        if ("owner", self.owner_agent) not in present:
            missing.append(f"owner ({self.owner_agent})")
        if ("receiver", to_agent) not in present:
            missing.append(f"receiver ({to_agent})")
        if not any(party == "customer" for party, _agent in present):
            missing.append("customer")
        if handoff_id != self.pending_handoff:
            self._violation("warm_handoff", f"accepted {handoff_id}, which is not pending", e)
        if missing:
            self._violation(
                "warm_handoff",
                f"ownership moved to {data.get('to_org')} without {', '.join(missing)} "
                "present in the handoff's live session",
                e,
            )
        if data.get("from_org") != self.owner_org:
            self._violation("one_owner_org", f"accepted from {data.get('from_org')}", e)
        self.owner_org, self.pending_handoff = data.get("to_org"), None
        self._owned_by(e, to_agent)

    def end(self, case: CaseRow, participants: set[str]) -> None:
        """The replay must arrive where the row is; the row's head must be the last event."""
        if self.next_seq - 1 != case.last_seq:
            self._violation(
                "gapless_seq", f"history ends at seq {self.next_seq - 1}, head is {case.last_seq}"
            )
        for name, replayed, stored in (
            ("state", self.state, case.state),
            ("owner org", self.owner_org, case.owner_org_id),
            ("owner agent", self.owner_agent, case.owner_agent_id),
            ("version", self.version, case.version),
            ("participants", sorted(self.participants), sorted(participants)),
        ):
            if replayed != stored:
                self._violation(
                    "history_matches_case",
                    f"history leads to {name} {replayed!r}, the case has {stored!r}",
                )
