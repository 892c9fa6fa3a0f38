"""Requests: the owner asks another participant org to act; the case does not move (SPEC §4)."""

from datetime import datetime
from typing import Any

from handoff.domain import events as ev
from handoff.domain import lifecycle
from handoff.domain.case import Request
from handoff.domain.errors import Forbidden, InvalidInput, NotFound
from handoff.domain.principals import Actor
from handoff.services.flow import changing
from handoff.services.ports import LockedCase, Store
from handoff.services.views import CaseView, RequestView
from handoff.store.models import new_id


def create_request(
    db: Store,
    actor: Actor,
    case_id: str,
    to_org: str,
    action: str,
    details: str = "",
    respond_by: datetime | None = None,
    *,
    expected_version: int | None = None,
) -> RequestView:
    if respond_by is not None and respond_by.tzinfo is None:
        raise InvalidInput("respond_by", "respond_by needs a time zone offset")
    params = {"to_org": to_org, "action": action}
    with changing(
        db, actor, case_id, "create_request", params=params, expected_version=expected_version
    ) as change:
        change.check(open_request_limit=db.settings.max_open_requests)
        if respond_by is not None and respond_by <= change.now:
            raise InvalidInput("respond_by", "respond_by must be in the future")
        request = Request(
            id=new_id(),
            case_id=change.case.id,
            from_org_id=change.case.owner_org_id,
            to_org_id=to_org,
            action=change.text("action"),
            details=details,
            state="open",
            respond_by=respond_by or change.now + change.windows.request,
            created_at=change.now,
            updated_at=change.now,
        )
        change.case.requests.append(request)
        change.record(
            ev.RequestCreated(
                request_id=request.id,
                to_org=to_org,
                action=request.action,
                respond_by=request.respond_by,
            )
        )
        view = change.done()
        return RequestView.of(request, view.updated_at)


def request_of(loaded: LockedCase, request_id: str) -> Request:
    """The case's request, open or settled (the case carries only its open ones)."""
    request = loaded.request(request_id)
    if request is None:
        raise NotFound("request not found")
    return request


def _request_for(loaded: LockedCase, request_id: str, actor: Actor) -> Request:
    request = request_of(loaded, request_id)
    if not actor.speaks_for(request.to_org_id):
        raise Forbidden(f"this request is addressed to {request.to_org_id}")
    return request


def _answer(
    db: Store,
    actor: Actor,
    case_id: str,
    request_id: str,
    trigger: str,
    params: dict[str, Any],
    expected_version: int | None,
) -> CaseView:
    """The target org answers a request: the case's table says who and when, the request's own
    table whether it can still be answered so."""
    with changing(
        db, actor, case_id, trigger, params=params, expected_version=expected_version
    ) as change:
        request = _request_for(change.loaded, request_id, actor)
        change.check(request=request)
        lifecycle.fire_request(trigger.removesuffix("_request"), request, change.attempt)
        request.updated_at = change.now
        request.note = change.text("note") or request.note
        request.reason = change.text("reason") or request.reason
        answered = (request.id, request.to_org_id, request.action)
        if trigger == "acknowledge_request":
            change.record(ev.RequestAcknowledged(*answered))
        elif trigger == "complete_request":
            change.record(ev.RequestCompleted(*answered, note=change.text("note") or None))
        else:
            change.record(ev.RequestDeclined(*answered, reason=change.text("reason") or None))
        return change.done()


def acknowledge_request(
    db: Store,
    actor: Actor,
    case_id: str,
    request_id: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    return _answer(db, actor, case_id, request_id, "acknowledge_request", {}, expected_version)


def complete_request(
    db: Store,
    actor: Actor,
    case_id: str,
    request_id: str,
    note: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    params = {"note": note}
    return _answer(db, actor, case_id, request_id, "complete_request", params, expected_version)


def decline_request(
    db: Store,
    actor: Actor,
    case_id: str,
    request_id: str,
    reason: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    """The target org cannot do it; the owner must find another path."""
    params = {"reason": reason}
    return _answer(db, actor, case_id, request_id, "decline_request", params, expected_version)
