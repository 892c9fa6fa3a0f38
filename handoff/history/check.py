"""The invariants every case must satisfy, proved from its row and its history (`handoff check`).

From the row: one owner org, which takes part in the case; a named owner agent of that org who
can own cases, unless the case is unclaimed; nothing left open on a closed case. From the
history: `seq` 1..n ending at the case's head, a chain that verifies, and a replay through the
lifecycle table in which every event fires from a state the table allows, ownership changes
org only by a warm handoff, no resolution is proposed while requests are open, and the replay
ends where the row is (state, owners, participants, version). Cases are read a page at a time
in one snapshot each and every history is streamed, so memory stays flat however big the
database.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.domain.principals import WORKING_ROLES
from handoff.history import chain
from handoff.history.table_replay import Replay
from handoff.store.db import Database
from handoff.store.models import (
    OPEN_REQUEST_STATES,
    AgentRow,
    CaseRow,
    Event,
    HandoffRow,
    ParticipantRow,
    RequestRow,
    SessionRow,
)

PAGE = 500


@dataclass(frozen=True)
class Violation:
    case_id: str
    invariant: str
    detail: str
    seq: int | None = None

    def __str__(self) -> str:
        where = f"case {self.case_id}" + (f" seq {self.seq}" if self.seq is not None else "")
        return f"{where}: {self.invariant}: {self.detail}"


def check(db: Database, case_ids: Iterable[str] | None = None) -> list[Violation]:
    """Every violation in the database (or in the cases named), in case order."""
    return [v for _case, found in checked_cases(db, case_ids) for v in found]


def checked_cases(
    db: Database, case_ids: Iterable[str] | None = None
) -> Iterator[tuple[str, list[Violation]]]:
    """Each case (all, or those named) with what is wrong with it, a page of cases at a time."""
    wanted = sorted(set(case_ids)) if case_ids is not None else None
    after = -1
    while True:
        with db.reading() as session:
            if db.is_postgres:  # the case rows and their events from one snapshot
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            page = _page(session, after, wanted)
            if not page:
                return
            parts = _page_parts(session, [c.id for c in page])
            facts = _agent_facts(session)
            for case in page:
                participants, left_open = parts.get(case.id, (set(), []))
                found = list(_row_violations(case, facts, participants, left_open))
                found += _history_violations(session, case, facts, participants)
                yield case.id, found
            after = page[-1].number


@dataclass(frozen=True)
class CaseHead:
    """What the checks read of a case row."""

    id: str
    number: int
    state: str
    owner_org_id: str
    owner_agent_id: str | None
    version: int
    last_seq: int
    last_hash: str


def _page(session: Session, after: int, wanted: list[str] | None) -> list[CaseHead]:
    query = (
        select(
            CaseRow.id,
            CaseRow.number,
            CaseRow.state,
            CaseRow.owner_org_id,
            CaseRow.owner_agent_id,
            CaseRow.version,
            CaseRow.last_seq,
            CaseRow.last_hash,
        )
        .where(CaseRow.number > after)
        .order_by(CaseRow.number)
        .limit(PAGE)
    )
    if wanted is not None:
        query = query.where(CaseRow.id.in_(wanted))
    return [CaseHead(*row) for row in session.execute(query)]


def _page_parts(session: Session, case_ids: list[str]) -> dict[str, tuple[set[str], list[str]]]:
    """Per case: its participant orgs, and what is still open (requests, handoff, session)."""
    parts: dict[str, tuple[set[str], list[str]]] = {c: (set(), []) for c in case_ids}
    for case_id, org_id in session.execute(
        select(ParticipantRow.case_id, ParticipantRow.org_id).where(
            ParticipantRow.case_id.in_(case_ids)
        )
    ):
        parts[case_id][0].add(org_id)
    still_open = (
        ("request", RequestRow, RequestRow.state.in_(OPEN_REQUEST_STATES)),
        ("handoff", HandoffRow, HandoffRow.state == "proposed"),
        ("session", SessionRow, SessionRow.state == "live"),
    )
    for word, model, is_open in still_open:
        query = select(model.case_id, model.id).where(model.case_id.in_(case_ids), is_open)
        for case_id, item_id in session.execute(query):
            parts[case_id][1].append(f"{word} {item_id}")
    return parts


@dataclass(frozen=True)
class AgentFacts:
    org_id: str
    role: str
    active: bool


Facts = Callable[[str | None], AgentFacts | None]


def _agent_facts(session: Session) -> Facts:
    """Agents looked up as the checks meet them (people, not cases: a bounded set)."""
    known: dict[str, AgentFacts | None] = {}

    def facts(agent_id: str | None) -> AgentFacts | None:
        if agent_id is None:
            return None
        if agent_id not in known:
            row = session.execute(
                select(AgentRow.org_id, AgentRow.role, AgentRow.active).where(
                    AgentRow.id == agent_id
                )
            ).first()
            known[agent_id] = AgentFacts(*row) if row else None
        return known[agent_id]

    return facts


def _row_violations(
    case: CaseHead, facts: Facts, participants: set[str], left_open: list[str]
) -> Iterator[Violation]:
    def violation(invariant: str, detail: str) -> Violation:
        return Violation(case.id, invariant, detail)

    if case.owner_org_id not in participants:
        yield violation("one_owner_org", f"owner org {case.owner_org_id} is no participant")
    agent, owner = facts(case.owner_agent_id), case.owner_agent_id
    if case.state == "unclaimed":
        if owner is not None:
            yield violation("owner_agent", f"an unclaimed case names owner agent {owner}")
    elif owner is None:
        yield violation("owner_agent", f"the {case.state} case has no owner agent")
    elif agent is None:
        yield violation("owner_agent", f"owner agent {owner} does not exist")
    elif agent.org_id != case.owner_org_id:
        yield violation(
            "owner_agent", f"owner agent {owner} is of {agent.org_id}, not of {case.owner_org_id}"
        )
    elif agent.role not in WORKING_ROLES:
        yield violation("owner_agent", f"owner agent {owner} is an {agent.role}")
    elif case.state != "closed" and not agent.active:
        yield violation("owner_agent", f"owner agent {owner} of an open case is deactivated")
    if case.state == "closed" and left_open:
        yield violation("closed_leaves_nothing_open", f"still open: {', '.join(left_open)}")


def _history_violations(
    session: Session, case: CaseHead, facts: Facts, participants: set[str]
) -> list[Violation]:
    events = session.scalars(
        select(Event)
        .where(Event.case_id == case.id)
        .order_by(Event.seq)
        .execution_options(yield_per=PAGE)
    )
    replay = Replay(lambda agent_id: a.org_id if (a := facts(agent_id)) else None)
    verification = chain.verify(replay.watch(events), (case.last_seq, case.last_hash))
    replay.end(case, participants)
    found = [Violation(case.id, f.invariant, f.detail, f.seq) for f in replay.found]
    if not verification.valid:
        broken = verification.first_broken_seq
        found.append(
            Violation(case.id, "chain_verifies", f"the hash chain breaks at seq {broken}", broken)
        )
    return found
