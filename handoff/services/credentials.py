"""Issuing a credential as the admin API does: one call, one transaction.

A partner system named with its org is created on the way if it does not exist yet, so a partner
is set up with a single request.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from handoff.domain.errors import InvalidInput, NotFound
from handoff.domain.principals import Actor
from handoff.services.admin import IssuedCredential, add_credential, require_admin
from handoff.store.db import Database
from handoff.store.models import AgentRow, Credential, Org, PartnerSystem
from handoff.store.models import utcnow as now


def grant_credential(
    db: Database,
    actor: Actor,
    kind: str,
    principal_id: str,
    *,
    org_id: str | None = None,
    orgs: list[str] | None = None,
) -> IssuedCredential:
    """A new random token for an agent, a partner system or an admin (shown once)."""
    require_admin(actor)
    with db.session() as session:
        if org_id is not None:
            if kind != "system":
                raise InvalidInput("org_id", "org_id names the org of a partner system")
            if session.get(Org, org_id) is None:
                raise InvalidInput("org_id", f"unknown org: {org_id}")
            system = session.get(PartnerSystem, principal_id)
            if system is None:
                system = PartnerSystem(
                    id=principal_id, org_id=org_id, name=principal_id, created_at=now()
                )
                session.add(system)
                session.flush()
            elif system.org_id != org_id:
                raise InvalidInput("org_id", f"{principal_id} is a system of {system.org_id}")
        if orgs is not None:
            agent = session.get(AgentRow, principal_id) if kind == "agent" else None
            if agent is None or agent.role != "auditor":
                raise InvalidInput("orgs", "only an auditor's credential is limited to orgs")
            unknown = [o for o in orgs if session.get(Org, o) is None]
            if unknown:
                raise InvalidInput("orgs", f"unknown org: {', '.join(unknown)}")
        issued = add_credential(session, kind, principal_id, orgs=orgs)
        session.commit()
        return issued


@dataclass(frozen=True)
class CredentialView:
    """A credential as an admin sees it: never its token, which only its holder has."""

    id: str
    principal_kind: str
    principal_id: str
    orgs: list[str] | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, c: Credential) -> "CredentialView":
        return cls(c.id, c.principal_kind, c.principal_id, c.orgs, c.created_at, c.revoked_at)


def list_credentials(
    db: Database, actor: Actor, principal_id: str | None = None
) -> list[CredentialView]:
    """Every credential (or one principal's), oldest first, so an admin can find one to revoke."""
    require_admin(actor)
    query = select(Credential).order_by(Credential.created_at, Credential.id)
    if principal_id is not None:
        query = query.where(Credential.principal_id == principal_id)
    with db.reading() as session:
        return [CredentialView.of(c) for c in session.scalars(query)]


def revoke_credential(db: Database, actor: Actor, credential_id: str) -> CredentialView:
    """The token stops working at once, for the API and for web sessions signed in with it.
    Revoking it again changes nothing."""
    require_admin(actor)
    with db.session() as session:
        credential = session.get(Credential, credential_id, with_for_update=True)
        if credential is None:
            raise NotFound(f"credential {credential_id} not found")
        if credential.revoked_at is None:
            credential.revoked_at = now()
        view = CredentialView.of(credential)
        session.commit()
        return view
