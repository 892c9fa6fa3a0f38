"""Set-up by an admin: orgs, agents, credentials."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ActorDep, DbDep, ItemId
from api.schemas import inputs, outputs
from api.schemas.fields import ID_PATTERN
from handoff import services
from handoff.services import credentials
from handoff.services.admin import IssuedCredential
from handoff.services.credentials import CredentialView, grant_credential
from handoff.services.queries import Page
from handoff.store.models import AgentRow

router = APIRouter(prefix="/v1", tags=["admin"])


@router.post("/orgs", status_code=201, response_model=outputs.Org)
def create_org(body: inputs.NewOrg, db: DbDep, actor: ActorDep) -> outputs.Org:
    org = services.create_org(
        db, actor, body.id, body.name, body.kind, body.windows, body.customer_presence
    )
    presence = org.customer_presence or db.settings.customer_presence
    return outputs.Org(
        id=org.id,
        name=org.name,
        kind=org.kind,
        windows=org.windows,
        customer_presence=presence,
        created_at=org.created_at,
    )


@router.post("/orgs/{org_id}/agents", status_code=201, response_model=outputs.Agent)
def create_agent(org_id: ItemId, body: inputs.NewAgent, db: DbDep, actor: ActorDep) -> AgentRow:
    return services.create_agent(db, actor, org_id, body.id, body.name, body.role)


@router.post("/orgs/{org_id}/agents/{agent_id}/deactivate", response_model=outputs.Agent)
def deactivate_agent(
    org_id: ItemId,
    agent_id: ItemId,
    db: DbDep,
    actor: ActorDep,
    body: inputs.Empty | None = None,
) -> AgentRow:
    """Each of the agent's open cases moves to the org's supervisor, one event each."""
    return services.deactivate_agent(db, actor, org_id, agent_id)


@router.post("/credentials", status_code=201, response_model=outputs.IssuedCredential)
def issue_credential(
    body: inputs.NewCredential, db: DbDep, actor: ActorDep, response: Response
) -> IssuedCredential:
    """A random token for an agent, partner system or admin, shown once.

    `{"kind": "system", "id": "acme-crm", "org_id": "acme"}` also creates the partner system if
    it does not exist yet.
    """
    response.headers["Cache-Control"] = "no-store"
    return grant_credential(db, actor, body.kind, body.id, org_id=body.org_id, orgs=body.orgs)


@router.get("/credentials", response_model=outputs.Page[outputs.Credential])
def list_credentials(
    db: DbDep,
    actor: ActorDep,
    principal_id: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
) -> Page[CredentialView]:
    """Every credential, or one person's or system's (`?principal_id=`); tokens are never shown."""
    return Page(credentials.list_credentials(db, actor, principal_id), None)


@router.post("/credentials/{credential_id}/revoke", response_model=outputs.Credential)
def revoke(
    credential_id: ItemId, db: DbDep, actor: ActorDep, body: inputs.Empty | None = None
) -> CredentialView:
    """The token stops working at once: for the API, and for web sessions signed in with it.
    Revoking it again answers the same."""
    return credentials.revoke_credential(db, actor, credential_id)
