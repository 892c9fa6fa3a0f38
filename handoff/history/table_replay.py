"""A case's history replayed through the lifecycle table, event by event, from history alone.

Every event must fire from a state the table allows it from; ownership changes org only by a
handoff accepted in a live joint session where the owner agent, the receiving agent and the
customer are present; no resolution is proposed while requests are open; and the replay must end
where the case row is. Events that are not transitions are placed too: `refused` (anywhere),
`escalation_failed` (unclaimed only), an admin's reassignment when deactivating an agent (any
open state), and what a closing trigger writes after its own event in the same transaction.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from handoff.domain import events as ev
from handoff.domain.events import Recorded, StoredEvent
from handoff.domain.lifecycle import CASE_TABLE, OPEN
from handoff.domain.lifecycle import Row as TableRow
from handoff.history.fold import FOLLOWUPS as FOLLOWUPS
from handoff.history.fold import CaseState, is_followup, new_owner_agent, opened, step

ROW_OF_EVENT: dict[str, TableRow] = {row.event: row for row in CASE_TABLE}
OrgOf = Callable[[str | None], str | None]
E = TypeVar("E", bound=StoredEvent)


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


class Replay:
    """One case's history, event by event, through the lifecycle table; the case's state after
    each event is the one fold's (history.fold), what each event may do is the table's."""

    def __init__(self, org_of: OrgOf) -> None:
        self.org_of = org_of
        self.found: list[Finding] = []
        self.next_seq = 1
        self.case: CaseState | None = None

    def watch(self, events: Iterable[E]) -> Iterator[E]:
        for event in events:
            self.feed(Recorded.of(event))
            yield event

    def _violation(self, invariant: str, detail: str, e: Recorded | None = None) -> None:
        self.found.append(Finding(invariant, detail, e.seq if e else None))

    def feed(self, e: Recorded) -> None:
        if e.seq != self.next_seq:
            self._violation("gapless_seq", f"seq {self.next_seq} is followed by {e.seq}", e)
        self.next_seq = e.seq + 1
        before = self.case
        if before is None or isinstance(e.event, ev.CaseCreated):
            if not isinstance(e.event, ev.CaseCreated) or e.seq != 1:
                what = f"{e.event.type} where case_created belongs"
                self._violation("table_allows_transition", what, e)
            self.case = opened(e)
            return
        if not is_followup(before, e):
            self._transition(before, e)
        self.case = step(before, e)

    def _transition(self, before: CaseState, e: Recorded) -> None:
        event = e.event
        if isinstance(event, ev.Refused):
            return
        if isinstance(event, ev.EscalationFailed):
            self._require_state(before, e, ("unclaimed",), "escalation_failed")
            return
        if isinstance(event, ev.Assigned) and e.actor_kind == "admin":  # deactivating the owner
            self._require_state(before, e, OPEN, "an admin's reassignment")
        else:
            row = ROW_OF_EVENT.get(event.type)
            if row is None:
                self._violation("table_allows_transition", f"unknown event type {event.type}", e)
                return
            self._require_state(before, e, row.source, row.trigger)
        if isinstance(event, ev.HandoffAccepted):
            self._accepted(before, e, event)
        elif (agent := new_owner_agent(event)) is not None:
            self._owned_by(e, agent, before.owner_org)
        elif isinstance(event, ev.ResolutionProposed):
            # As the guard no_open_requests: what the owner org owes itself holds nothing up.
            owed = [r.id for r in before.open_requests if r.to_org != before.owner_org]
            if owed:
                still = ", ".join(sorted(owed))
                self._violation("no_open_requests", f"resolution proposed with {still} open", e)

    def _require_state(
        self, before: CaseState, e: Recorded, allowed: Sequence[str], what: str
    ) -> None:
        if before.state not in allowed:
            self._violation(
                "table_allows_transition",
                f"{what} fired from {before.state}; the table allows it from {', '.join(allowed)}",
                e,
            )

    def _owned_by(self, e: Recorded, agent_id: str | None, owner_org: str) -> None:
        org = self.org_of(agent_id)
        if org != owner_org:
            self._violation(
                "one_owner_org",
                f"{e.event.type} made {agent_id} (of {org}) owner of {owner_org}'s case",
                e,
            )

    def _accepted(self, before: CaseState, e: Recorded, accepted: ev.HandoffAccepted) -> None:
        live, pending = before.session, before.handoff
        in_session = live is not None and live.handoff_id == accepted.handoff_id
        present = {(p.party, p.agent_id) for p in live.present} if live and in_session else set()
        missing = []
        if ("owner", before.owner_agent) not in present:
            missing.append(f"owner ({before.owner_agent})")
        if ("receiver", accepted.to_agent) not in present:
            missing.append(f"receiver ({accepted.to_agent})")
        if not any(party == "customer" for party, _agent in present):
            missing.append("customer")
        if pending is None or accepted.handoff_id != pending.id:
            self._violation(
                "warm_handoff", f"accepted {accepted.handoff_id}, which is not pending", e
            )
        if missing:
            self._violation(
                "warm_handoff",
                f"ownership moved to {accepted.to_org} without {', '.join(missing)} "
                "present in the handoff's live session",
                e,
            )
        if accepted.from_org != before.owner_org:
            self._violation("one_owner_org", f"accepted from {accepted.from_org}", e)
        self._owned_by(e, accepted.to_agent, accepted.to_org)

    def end(self, case: CaseRow, participants: set[str]) -> None:
        """The replay must arrive where the row is; the row's head must be the last event."""
        if self.next_seq - 1 != case.last_seq:
            self._violation(
                "gapless_seq", f"history ends at seq {self.next_seq - 1}, head is {case.last_seq}"
            )
        replayed = self.case
        for name, found, stored in (
            ("state", replayed and replayed.state, case.state),
            ("owner org", replayed and replayed.owner_org, case.owner_org_id),
            ("owner agent", replayed and replayed.owner_agent, case.owner_agent_id),
            ("version", replayed.version if replayed else 0, case.version),
            (
                "participants",
                sorted(set(replayed.participants if replayed else ())),
                sorted(participants),
            ),
        ):
            if found != stored:
                self._violation(
                    "history_matches_case",
                    f"history leads to {name} {found!r}, the case has {stored!r}",
                )
