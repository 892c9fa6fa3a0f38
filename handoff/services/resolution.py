"""Resolving a case: propose, confirm or reject, close by timer, reopen, withdraw."""

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from handoff.domain import lifecycle
from handoff.domain.attempt import Attempt
from handoff.domain.case import Agent
from handoff.domain.errors import Refusal
from handoff.domain.principals import Actor, timer
from handoff.domain.views import CaseView
from handoff.services.flow import AGENTS, Tx, act, lock_agents
from handoff.store import casefile
from handoff.store.db import Database


def propose_resolution(
    db: Database,
    actor: Actor,
    case_id: str,
    code: str,
    summary: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        a.case.resolution_code, a.case.resolution_summary = code, a.text("summary")
        a.case.auto_close_due_at = a.now + a.windows.auto_close
        return {"code": code, "summary": a.text("summary")}

    return act(
        db,
        actor,
        case_id,
        "propose_resolution",
        apply,
        params={"code": code, "summary": summary},
        expected_version=expected_version,
    ).case


def _close(a: Attempt, how: str) -> None:
    case = a.case
    case.closed_at, case.closed_how = a.now, how
    case.auto_close_due_at = case.claim_due_at = None
    case.reopen_until = a.now + a.windows.reopen
    _end_live_session(a)


def _end_live_session(a: Attempt) -> None:
    session = a.case.live_session
    if session is not None:
        lifecycle.fire_session("end", session, a)
        session.ended_at = a.now
        a.follow_with("session_ended", session_id=session.id, reason="case closed")


def confirm_resolution(
    db: Database, actor: Actor, case_id: str, *, expected_version: int | None = None
) -> CaseView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        _close(a, "confirmed")
        return {"code": a.case.resolution_code, "on_customer_word": a.actor.kind != "customer"}

    return act(
        db, actor, case_id, "confirm_resolution", apply, expected_version=expected_version
    ).case


def reject_resolution(
    db: Database, actor: Actor, case_id: str, reason: str, *, expected_version: int | None = None
) -> CaseView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        rejected = a.case.resolution_code
        a.case.resolution_code = a.case.resolution_summary = None
        a.case.auto_close_due_at = None
        return {"reason": a.text("reason"), "code": rejected, "owner_agent": a.case.owner_agent_id}

    return act(
        db,
        actor,
        case_id,
        "reject_resolution",
        apply,
        params={"reason": reason},
        expected_version=expected_version,
    ).case


def auto_close(db: Database, case_id: str, *, within: Session | None = None) -> CaseView:
    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        _close(a, "automatic")
        return {"code": a.case.resolution_code, "automatic": True}

    return act(db, timer("auto_close_window"), case_id, "auto_close", apply, within=within).case


def org_fallback_owner(conn: Connection, org_id: str, excluding: str | None = None) -> Agent | None:
    """The org's first active supervisor by name; failing that, its first active rep (held FOR
    SHARE until commit, as `lock_agents` holds an owner)."""
    for role in ("supervisor", "rep"):
        row = conn.execute(
            select(*AGENTS.c)
            .where(AGENTS.c.org_id == org_id, AGENTS.c.role == role, AGENTS.c.active.is_(True))
            .where(AGENTS.c.id != (excluding or ""))
            .order_by(AGENTS.c.name, AGENTS.c.id)
            .limit(1)
            .with_for_update(read=True)
        ).first()
        if row is not None:
            return casefile.agent_of(row)
    return None


def reopen(
    db: Database, actor: Actor, case_id: str, reason: str, *, expected_version: int | None = None
) -> CaseView:
    def apply(tx: Tx, a: Attempt) -> dict[str, Any]:
        case = a.case
        # The case is closed, so a deactivation of its last owner does not wait for it: this
        # share lock after the case's keeps the one lock order (agent, then open cases).
        owner = lock_agents(tx.conn, [case.owner_agent_id]).get(case.owner_agent_id or "")
        if owner is None or not owner.active:
            owner = org_fallback_owner(tx.conn, case.owner_org_id)
        if owner is None:
            raise Refusal(
                "owner_required",
                f"{case.owner_org_id} has no active agent to own the reopened case.",
                org_id=case.owner_org_id,
            )
        case.owner_agent_id = owner.id
        case.closed_at = case.closed_how = case.reopen_until = None
        case.resolution_code = case.resolution_summary = None
        return {"reason": a.text("reason"), "owner_agent": owner.id}

    return act(
        db,
        actor,
        case_id,
        "reopen",
        apply,
        params={"reason": reason},
        expected_version=expected_version,
    ).case


def withdraw(
    db: Database, actor: Actor, case_id: str, reason: str, *, expected_version: int | None = None
) -> CaseView:
    """Close on the customer's word; what others still owe is cancelled, each with its event."""

    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        case = a.case
        # Closed before anyone claimed it, the case still names one owner: the one who closed it.
        claimed_by_withdrawing = case.owner_agent_id is None
        if claimed_by_withdrawing:
            case.owner_agent_id = a.actor.id
        for request in case.open_requests:
            lifecycle.fire_request("cancel", request, a)
            request.updated_at = a.now
            a.follow_with("request_cancelled", request_id=request.id, to_org=request.to_org_id)
        handoff = case.pending_handoff
        if handoff is not None:
            handoff.state, handoff.decided_at = "cancelled", a.now
            a.follow_with("handoff_cancelled", handoff_id=handoff.id, reason="case withdrawn")
        case.resolution_code, case.resolution_summary = "withdrawn_by_customer", a.text("reason")
        _close(a, "withdrawn")
        owner = {"owner_agent": a.actor.id} if claimed_by_withdrawing else {}
        return {"reason": a.text("reason"), **owner}

    return act(
        db,
        actor,
        case_id,
        "withdraw",
        apply,
        params={"reason": reason},
        expected_version=expected_version,
    ).case
