"""Cases: create, list, read, and work them within the owner org."""

from typing import Annotated

from fastapi import Query, Response

from api.answers import case_answer
from api.deps import (
    ActorDep,
    CaseId,
    CaseRouter,
    Cursor,
    DbDep,
    IfMatch,
    Limit,
    locks_its_case_late,
)
from api.schemas import inputs, outputs
from api.schemas.fields import CaseState, Id
from handoff import services
from handoff.services import queries
from handoff.services.views import CaseView

router = CaseRouter(prefix="/v1/cases", tags=["cases"])


@router.post("", status_code=201, response_model=outputs.Case)
def create_case(body: inputs.NewCase, db: DbDep, actor: ActorDep, response: Response) -> CaseView:
    """Open a case: unclaimed when a partner system opens it, claimed when an agent does."""
    case = services.create_case(
        db,
        actor,
        customer=body.customer.model_dump(exclude_none=True),
        subject=body.subject,
        description=body.description,
        participants=body.participants,
        priority=body.priority,
    )
    return case_answer(response, case, created=True)


@router.get("", response_model=outputs.Page[outputs.Case])
def list_cases(
    db: DbDep,
    actor: ActorDep,
    state: CaseState | None = None,
    owner_org: Id | None = None,
    mine: bool = False,
    unclaimed: bool = False,
    waiting_on: Annotated[
        Id | None,
        Query(description="Only cases with an open request or a pending handoff to this org."),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> queries.Page[CaseView]:
    """The cases the caller may see, oldest first."""
    return queries.list_cases(
        db,
        actor,
        state=state,
        owner_org=owner_org,
        mine=mine,
        unclaimed=unclaimed,
        waiting_on=waiting_on,
        limit=limit,
        cursor=cursor,
    )


# GET /v1/cases/{id} is read in a worker thread, with the case's other reads (history.py).


@router.post("/{case_id}/claim", response_model=outputs.Case)
@locks_its_case_late
def claim(
    case_id: CaseId,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
    body: inputs.Empty | None = None,
) -> CaseView:
    case = services.claim(db, actor, case_id, expected_version=version)
    return case_answer(response, case)


@router.post("/{case_id}/assign", response_model=outputs.Case)
@locks_its_case_late
def assign(
    case_id: CaseId,
    body: inputs.Assignment,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    case = services.assign(db, actor, case_id, body.agent_id, expected_version=version)
    return case_answer(response, case)


@router.post("/{case_id}/participants", response_model=outputs.Case)
def add_participant(
    case_id: CaseId,
    body: inputs.NewParticipant,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    case = services.add_participant(
        db, actor, case_id, body.org_id, body.reason, expected_version=version
    )
    return case_answer(response, case)


@router.post("/{case_id}/await-customer", response_model=outputs.Case)
def await_customer(
    case_id: CaseId,
    body: inputs.Needed,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    case = services.await_customer(db, actor, case_id, body.needed, expected_version=version)
    return case_answer(response, case)


@router.post("/{case_id}/customer-responded", response_model=outputs.Case)
def customer_responded(
    case_id: CaseId,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
    body: inputs.CustomerResponse | None = None,
) -> CaseView:
    note = body.note if body else None
    case = services.customer_responded(db, actor, case_id, note, expected_version=version)
    return case_answer(response, case)


@router.post("/{case_id}/notes", response_model=outputs.Case)
def add_note(
    case_id: CaseId,
    body: inputs.Note,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    """Internal notes, or customer notes (checked for send-away language)."""
    case = services.add_note(
        db, actor, case_id, body.text, body.visibility, expected_version=version
    )
    return case_answer(response, case)
