"""Requests: the owner asks another participant org to act; the case does not move (SPEC §4)."""

from datetime import datetime
from typing import Any

from handoff.domain import lifecycle
from handoff.domain.attempt import Attempt
from handoff.domain.case import Case, Request
from handoff.domain.errors import Forbidden, InvalidInput, NotFound
from handoff.domain.principals import Actor
from handoff.domain.views import CaseView, RequestView
from handoff.services.flow import Tx, act
from handoff.store.db import Database
from handoff.store.models import new_id


def create_request(
    db: Database,
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

    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        if respond_by is not None and respond_by <= a.now:
            raise InvalidInput("respond_by", "respond_by must be in the future")
        request = Request(
            id=new_id(),
            case_id=a.case.id,
            from_org_id=a.case.owner_org_id,
            to_org_id=to_org,
            action=a.text("action"),
            details=details,
            state="open",
            respond_by=respond_by or a.now + a.windows.request,
            created_at=a.now,
            updated_at=a.now,
        )
        a.case.requests.append(request)
        a.created = request
        return {
            "request_id": request.id,
            "to_org": to_org,
            "action": request.action,
            "respond_by": request.respond_by.isoformat(),
        }

    outcome = act(
        db,
        actor,
        case_id,
        "create_request",
        apply,
        params={"to_org": to_org, "action": action},
        expected_version=expected_version,
    )
    return RequestView.of(outcome.created, outcome.case.updated_at)


def request_of(case: Case, request_id: str) -> Request:
    request = next((r for r in case.requests if r.id == request_id), None)
    if request is None:
        raise NotFound("request not found")
    return request


def _request_for(case: Case, request_id: str, actor: Actor) -> Request:
    request = request_of(case, request_id)
    if not actor.speaks_for(request.to_org_id):
        raise Forbidden(f"this request is addressed to {request.to_org_id}")
    return request


def _answer(
    db: Database,
    actor: Actor,
    case_id: str,
    request_id: str,
    trigger: str,
    params: dict[str, Any],
    expected_version: int | None,
) -> CaseView:
    request_trigger = trigger.removesuffix("_request")

    def resolve(_tx: Tx, case: Case) -> dict[str, Any]:
        return {"request": _request_for(case, request_id, actor)}

    def apply(_tx: Tx, a: Attempt) -> dict[str, Any]:
        request: Request = a.params["request"]
        lifecycle.fire_request(request_trigger, request, a)
        request.updated_at = a.now
        request.note = a.text("note") or request.note
        request.reason = a.text("reason") or request.reason
        data = {"request_id": request.id, "to_org": request.to_org_id, "action": request.action}
        return data | {k: a.text(k) for k in ("note", "reason") if a.text(k)}

    return act(
        db,
        actor,
        case_id,
        trigger,
        apply,
        params=params,
        resolve=resolve,
        expected_version=expected_version,
    ).case


def acknowledge_request(
    db: Database,
    actor: Actor,
    case_id: str,
    request_id: str,
    *,
    expected_version: int | None = None,
) -> CaseView:
    return _answer(db, actor, case_id, request_id, "acknowledge_request", {}, expected_version)


def complete_request(
    db: Database,
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
    db: Database,
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
