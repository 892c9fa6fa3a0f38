"""Requests: the owner org asks another participant org to act; the case does not move."""

from fastapi import Response

from api.answers import case_answer
from api.deps import ActorDep, CaseId, CaseRouter, DbDep, IfMatch, ItemId
from api.schemas import inputs, outputs
from handoff import services
from handoff.services.views import CaseView, RequestView

# Every request of a case, page by page, is listed with the case's other records (history.py):
# a page may be long, so it is read in a worker thread, never on the event loop.
router = CaseRouter(prefix="/v1/cases/{case_id}/requests", tags=["requests"])


@router.post("", status_code=201, response_model=outputs.Request)
def create_request(
    case_id: CaseId, body: inputs.NewRequest, db: DbDep, actor: ActorDep, version: IfMatch
) -> RequestView:
    return services.create_request(
        db,
        actor,
        case_id,
        body.to_org,
        body.action,
        body.details,
        body.respond_by,
        expected_version=version,
    )


@router.post("/{request_id}/acknowledge", response_model=outputs.Case)
def acknowledge_request(
    case_id: CaseId,
    request_id: ItemId,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
    body: inputs.Empty | None = None,
) -> CaseView:
    case = services.acknowledge_request(db, actor, case_id, request_id, expected_version=version)
    return case_answer(response, case)


@router.post("/{request_id}/complete", response_model=outputs.Case)
def complete_request(
    case_id: CaseId,
    request_id: ItemId,
    body: inputs.Completion,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    case = services.complete_request(
        db, actor, case_id, request_id, body.note, expected_version=version
    )
    return case_answer(response, case)


@router.post("/{request_id}/decline", response_model=outputs.Case)
def decline_request(
    case_id: CaseId,
    request_id: ItemId,
    body: inputs.Reason,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    """The target org cannot do it; the owner must find another path."""
    case = services.decline_request(
        db, actor, case_id, request_id, body.reason, expected_version=version
    )
    return case_answer(response, case)
