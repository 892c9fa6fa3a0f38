"""What a customer sees behind their status-page link: who owns the case and nothing internal."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from handoff.config import Windows
from handoff.domain.errors import NotFound
from handoff.domain.principals import customer_of
from handoff.services.flow import view_of
from handoff.services.views import HandoffView, SessionView
from handoff.store import casefile
from handoff.store.db import Database
from handoff.store.models import AgentRow, CaseRow, Event, Org
from handoff.store.models import utcnow as now

# How the case ended, for the customer: a withdrawal's reason is the owner's note, not theirs.
RESOLVED = ("confirmed", "automatic")
SHOWN = ("proposed", "accepted")  # the session's handoff, told to the customer


NOTES_SHOWN = 20  # the customer's notes on one page, newest first
SAID_SHOWN = 100  # the live session's newest messages shown


@dataclass(frozen=True)
class CustomerNote:
    text: str
    at: datetime
    seq: int = 0


@dataclass(frozen=True)
class SessionLine:
    """Something said in the joint session: by the customer (agent_id None) or an agent."""

    party: str
    agent_id: str | None
    text: str
    at: datetime


@dataclass(frozen=True)
class CustomerStatus:
    case_id: str
    reference: str
    subject: str
    state: str
    owner_org_name: str
    owner_agent_name: str | None
    resolution_code: str | None
    resolution_summary: str | None
    closed_how: str | None
    closed_at: datetime | None
    reopen_until: datetime | None
    needed: str | None  # what the customer is asked for, while the case awaits them
    notes: list[CustomerNote]
    allowed_actions: list[str]
    seq: int = 0  # the latest event the page shows: its stream starts after it
    session: SessionView | None = None  # the live joint session the customer may join
    handoff: HandoffView | None = None  # the handoff it is for, pending or accepted
    messages: list[SessionLine] | None = None  # said in the live session
    older_notes: int | None = None  # `before` for the page of notes older than these
    paged: bool = False  # the notes are an older page, not the newest


def customer_status(db: Database, link: str, *, before: int | None = None) -> CustomerStatus:
    """The case behind `link` as its customer may see it, with what the customer may do now:
    the newest page of the notes written to them (or the page before seq `before`) and the live
    session's newest messages, bounded whatever the case holds (SPEC §14)."""
    with db.reading() as session:
        case_id = session.scalar(select(CaseRow.id).where(CaseRow.customer_link == link))
        loaded = casefile.load(session.connection(), case_id, lock=False) if case_id else None
        if loaded is None:
            raise NotFound("case not found")
        case, customer, at = loaded.case, customer_of(loaded.case.id), now()
        windows = Windows.for_org(db.settings, loaded.windows)
        view = view_of(case, customer, windows, at, db)
        seq = session.scalar(select(func.max(Event.seq)).where(Event.case_id == case.id)) or 0
        live = view.session
        handoff = next(
            (h for h in view.handoffs if live and live.handoff_id == h.id and h.state in SHOWN),
            None,
        )
        said = []
        if live:
            newest = session.scalars(
                select(Event)
                .where(Event.case_id == case.id, Event.type == "session_message")
                .order_by(Event.seq.desc())
                .limit(SAID_SHOWN)
            )
            said = [
                SessionLine(e.data["party"], e.data.get("agent_id"), e.data["text"], e.at)
                for e in reversed(list(newest))
                if e.data.get("session_id") == live.id
            ]
        org = session.get(Org, case.owner_org_id)
        agent = session.get(AgentRow, case.owner_agent_id) if case.owner_agent_id else None
        to_customer = (
            select(Event)
            .where(
                Event.case_id == case.id,
                Event.type == "note_added",
                Event.data["visibility"].as_string() == "customer",
            )
            .order_by(Event.seq.desc())
            .limit(NOTES_SHOWN + 1)
        )
        if before is not None:
            to_customer = to_customer.where(Event.seq < before)
        found = list(session.scalars(to_customer))
        notes = list(reversed(found[:NOTES_SHOWN]))
        shows_resolution = case.state == "resolution_proposed" or case.closed_how in RESOLVED
        asked = None
        if case.state == "awaiting_customer":
            asked = session.scalars(
                select(Event.data)
                .where(Event.case_id == case.id, Event.type == "awaiting_customer")
                .order_by(Event.seq.desc())
                .limit(1)
            ).first()
        return CustomerStatus(
            case_id=case.id,
            reference=case.reference,
            subject=case.subject,
            state=case.state,
            owner_org_name=org.name if org else case.owner_org_id,
            owner_agent_name=agent.name if agent else None,
            resolution_code=case.resolution_code if shows_resolution else None,
            resolution_summary=case.resolution_summary if shows_resolution else None,
            closed_how=case.closed_how,
            closed_at=case.closed_at,
            reopen_until=case.reopen_until,
            needed=str(asked["needed"]) if asked and asked.get("needed") else None,
            notes=[CustomerNote(e.data["text"], e.at, e.seq) for e in notes],
            older_notes=notes[0].seq if len(found) > NOTES_SHOWN else None,
            paged=before is not None,
            allowed_actions=view.allowed_actions,
            seq=int(seq),
            session=live,
            handoff=handoff,
            messages=said,
        )
