"""Set-up by an admin: orgs, agents, partner systems, credentials; deactivating an agent."""

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.domain import events as ev
from handoff.domain.errors import Forbidden, InvalidInput, NotFound, Refusal
from handoff.domain.principals import Actor
from handoff.domain.vocabulary import CUSTOMER_PRESENCE, ORG_KINDS, PRINCIPAL_KINDS, ROLES
from handoff.history import chain
from handoff.services.authentication import hash_token
from handoff.store import casefile, event_rows
from handoff.store.db import Database
from handoff.store.models import AgentRow, CaseRow, Credential, Org, PartnerSystem
from handoff.store.models import utcnow as now
from handoff.store.work import SqlWork


def new_token() -> str:
    return "hot_" + secrets.token_urlsafe(32)


def require_admin(actor: Actor) -> None:
    if actor.kind != "admin":
        raise Forbidden("only an admin may do this")


@dataclass(frozen=True)
class IssuedCredential:
    id: str
    principal_kind: str
    principal_id: str
    token: str  # shown once; only its hash is kept


def create_org(
    db: Database,
    actor: Actor,
    org_id: str,
    name: str,
    kind: str,
    windows: dict[str, int] | None = None,
    customer_presence: str | None = None,
) -> Org:
    require_admin(actor)
    if kind not in ORG_KINDS:
        raise InvalidInput("kind", f"kind must be one of {', '.join(ORG_KINDS)}")
    if customer_presence not in (None, *CUSTOMER_PRESENCE):
        raise InvalidInput("customer_presence", "customer_presence is attested or verified")
    with db.session() as session:
        if session.get(Org, org_id) is not None:
            raise Refusal("already_exists", f"org {org_id} already exists", org_id=org_id)
        org = Org(
            id=org_id,
            name=name,
            kind=kind,
            windows=windows or None,
            customer_presence=customer_presence,
            created_at=now(),
        )
        session.add(org)
        session.commit()
        return org


def create_agent(
    db: Database, actor: Actor, org_id: str, agent_id: str, name: str, role: str
) -> AgentRow:
    require_admin(actor)
    if role not in ROLES:
        raise InvalidInput("role", f"role must be one of {', '.join(ROLES)}")
    with db.session() as session:
        if session.get(Org, org_id) is None:
            raise NotFound(f"org {org_id} not found")
        if session.get(AgentRow, agent_id) is not None:
            raise Refusal("already_exists", f"agent {agent_id} already exists", agent_id=agent_id)
        agent = AgentRow(
            id=agent_id, org_id=org_id, name=name, role=role, active=True, created_at=now()
        )
        session.add(agent)
        session.commit()
        return agent


def create_system(
    db: Database, actor: Actor, org_id: str, system_id: str, name: str
) -> PartnerSystem:
    require_admin(actor)
    with db.session() as session:
        if session.get(Org, org_id) is None:
            raise NotFound(f"org {org_id} not found")
        if session.get(PartnerSystem, system_id) is not None:
            raise Refusal("already_exists", f"system {system_id} already exists")
        system = PartnerSystem(id=system_id, org_id=org_id, name=name, created_at=now())
        session.add(system)
        session.commit()
        return system


def issue_credential(
    db: Database,
    actor: Actor,
    principal_kind: str,
    principal_id: str,
    token: str | None = None,
    orgs: list[str] | None = None,
) -> IssuedCredential:
    """A new bearer token for an agent, partner system or admin; only its hash is stored."""
    require_admin(actor)
    with db.session() as session:
        issued = add_credential(session, principal_kind, principal_id, token, orgs)
        session.commit()
        return issued


def add_credential(
    session: Session,
    principal_kind: str,
    principal_id: str,
    token: str | None = None,
    orgs: list[str] | None = None,
) -> IssuedCredential:
    if principal_kind not in PRINCIPAL_KINDS:
        raise InvalidInput("kind", f"kind must be one of {', '.join(PRINCIPAL_KINDS)}")
    owner: Any = {"agent": AgentRow, "system": PartnerSystem}.get(principal_kind)
    if owner is not None and session.get(owner, principal_id) is None:
        raise NotFound(f"{principal_kind} {principal_id} not found")
    token = token or new_token()
    if session.scalars(
        select(Credential).where(Credential.token_hash == hash_token(token))
    ).first():
        raise Refusal("already_exists", "that token is already in use")
    credential = Credential(
        token_hash=hash_token(token),
        principal_kind=principal_kind,
        principal_id=principal_id,
        orgs=orgs,
        created_at=now(),
    )
    session.add(credential)
    session.flush()
    return IssuedCredential(credential.id, principal_kind, principal_id, token)


NO_KEY_UPDATE = {"key_share": True}


def deactivate_agent(db: Database, actor: Actor, org_id: str, agent_id: str) -> AgentRow:
    """Each of the agent's open cases moves to the org's supervisor, one event each, at once."""
    require_admin(actor)
    with db.session() as session:
        at = now()
        # Deactivations in one org queue on the org's row: each picks a successor among the
        # others, and two at once would each wait for the other's agent row. FOR NO KEY UPDATE:
        # the foreign-key checks of ordinary commands (FOR KEY SHARE) do not wait for it.
        session.get(Org, org_id, with_for_update=NO_KEY_UPDATE)
        # Then the agent: whoever is making this agent an owner holds a share lock on the row
        # (taken before the case's), so they finish first or see the agent inactive.
        agent = session.get(
            AgentRow, agent_id, with_for_update=NO_KEY_UPDATE, populate_existing=True
        )
        if agent is None or agent.org_id != org_id:
            raise NotFound(f"agent {agent_id} not found in {org_id}")
        if not agent.active:
            return agent
        conn = session.connection()
        case_ids = session.scalars(
            select(CaseRow.id)
            .where(CaseRow.owner_agent_id == agent_id, CaseRow.state != "closed")
            .order_by(CaseRow.number)
            .with_for_update()
        ).all()
        cases = [casefile.load(conn, case_id, lock=True) for case_id in case_ids]
        successor = SqlWork(conn, session).fallback_owner(org_id, excluding=agent_id)
        if cases and successor is None:
            raise Refusal(
                "owner_required",
                f"{agent_id} owns {len(cases)} open case(s) and {org_id} has no other active "
                "agent to take them; add one first.",
                cases=list(case_ids),
            )
        agent.active, agent.deactivated_at = False, at
        for loaded in cases:
            assert successor is not None
            assert loaded is not None  # locked above
            case = loaded.case
            case.owner_agent_id = successor.id
            case.version += 1
            case.updated_at = at
            moved = ev.Assigned(agent_id, successor.id, reason="agent deactivated")
            event = chain.next_event(case, moved, actor, at, org_id=org_id)
            casefile.save(conn, loaded)
            event_rows.write(conn, case, [event], loaded.unsubscribed)
        session.commit()
        return agent
