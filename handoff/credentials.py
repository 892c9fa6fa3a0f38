"""Issuing a credential as the admin API does: one call, one transaction.

A partner system named with its org is created on the way if it does not exist yet, so a partner
is set up with a single request.
"""

from handoff.commands.admin import IssuedCredential, add_credential, require_admin
from handoff.commands.flow import now
from handoff.db import Database
from handoff.errors import InvalidInput
from handoff.models import Agent, Org, PartnerSystem
from handoff.principals import Actor


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
            agent = session.get(Agent, principal_id) if kind == "agent" else None
            if agent is None or agent.role != "auditor":
                raise InvalidInput("orgs", "only an auditor's credential is limited to orgs")
            unknown = [o for o in orgs if session.get(Org, o) is None]
            if unknown:
                raise InvalidInput("orgs", f"unknown org: {', '.join(unknown)}")
        issued = add_credential(session, kind, principal_id, orgs=orgs)
        session.commit()
        return issued
