"""Joint sessions: a live conference on a case; conferencing systems report joins and leaves."""

from fastapi import Response

from api.answers import case_answer
from api.deps import ActorDep, CaseId, CaseRouter, DbDep, IfMatch, ItemId
from api.schemas import inputs, outputs
from handoff import services
from handoff.services.views import CaseView, SessionView

router = CaseRouter(prefix="/v1/cases/{case_id}/sessions", tags=["joint sessions"])


@router.post("", status_code=201, response_model=outputs.JointSession)
def start_session(
    case_id: CaseId,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    body: inputs.NewSession | None = None,
) -> SessionView:
    handoff_id = body.handoff_id if body else None
    return services.start_session(db, actor, case_id, handoff_id, expected_version=version)


@router.post("/{session_id}/join", response_model=outputs.Case)
def join_session(
    case_id: CaseId,
    session_id: ItemId,
    body: inputs.Presence,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    """An agent joins by itself or through its org's partner system; the owner org joins the
    customer."""
    case = services.join_session(
        db, actor, case_id, session_id, body.party, body.agent_id, expected_version=version
    )
    return case_answer(response, case)


@router.post("/{session_id}/leave", response_model=outputs.Case)
def leave_session(
    case_id: CaseId,
    session_id: ItemId,
    body: inputs.Presence,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    case = services.leave_session(
        db, actor, case_id, session_id, body.party, body.agent_id, expected_version=version
    )
    return case_answer(response, case)


@router.post("/{session_id}/end", response_model=outputs.Case)
def end_session(
    case_id: CaseId,
    session_id: ItemId,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
    body: inputs.Empty | None = None,
) -> CaseView:
    case = services.end_session(db, actor, case_id, session_id, expected_version=version)
    return case_answer(response, case)


@router.post("/{session_id}/messages", response_model=outputs.Case)
def post_message(
    case_id: CaseId,
    session_id: ItemId,
    body: inputs.Message,
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    """Said in the session to everyone present; an agent's words pass the send-away check."""
    case = services.post_message(
        db, actor, case_id, session_id, body.text, expected_version=version
    )
    return case_answer(response, case)
