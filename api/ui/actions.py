"""One form per action on a case: read its fields, call the engine command it stands for."""

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from pydantic import TypeAdapter, ValidationError

from api.schemas.fields import CaseState, EventType, Id, Line, Text
from api.ui.pages import Problem
from handoff import services
from handoff.domain.errors import InvalidInput
from handoff.domain.principals import Actor
from handoff.store.db import Database

Form = dict[str, str]
Act = Callable[[Database, Actor, str, Form], object]


_TEXT: TypeAdapter[Any] = TypeAdapter(Text)
_LINE: TypeAdapter[Any] = TypeAdapter(Line)
_ID: TypeAdapter[Any] = TypeAdapter(Id)
# The pages call the engine directly, so what they are sent (forms, and the filters in their
# addresses) is held here to the lengths and characters the API holds its input to (api.schemas):
# texts, ids, a case state, an event type; anything else is a one-line field.
FIELDS: dict[str, TypeAdapter[Any]] = {
    **dict.fromkeys(
        ("reason", "summary", "note", "text", "needed", "details", "override_reason"), _TEXT
    ),
    **dict.fromkeys(
        ("agent_id", "org_id", "to_org", "request_id", "handoff_id", "session_id"), _ID
    ),
    **dict.fromkeys(("org", "actor", "case"), _ID),  # the auditor's search
    "state": TypeAdapter(CaseState),
    "type": TypeAdapter(EventType),
}
MAX_CASES_SEARCHED = 100  # as many as GET /v1/audit/events takes


def checked(form: Form) -> Form:
    """The form, once every field it carries is one the API would take (empty ones are left to
    the command, which knows which it needs)."""
    for name, value in form.items():
        if value:
            try:
                FIELDS.get(name, _LINE).validate_python(value)
            except ValidationError as error:
                message = error.errors()[0]["msg"].removeprefix("Value error, ")
                raise InvalidInput(name, f"{name}: {message}") from None
    return form


def optional(form: Form, name: str) -> str | None:
    return form.get(name, "").strip() or None


def utc_time(form: Form, name: str) -> datetime | None:
    """A `datetime-local` field, read as UTC (the pages show every time in UTC)."""
    value = optional(form, name)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(name, f"{name} is not a date and time") from None


def own_agent(actor: Actor, form: Form) -> str | None:
    """Agents join and leave joint sessions as themselves; the customer is nobody's agent."""
    return None if form.get("party") == "customer" else actor.id


ACTS: dict[str, Act] = {
    "claim": lambda db, a, case, f: services.claim(db, a, case),
    "assign": lambda db, a, case, f: services.assign(db, a, case, f.get("agent_id", "")),
    "add_participant": lambda db, a, case, f: services.add_participant(
        db, a, case, f.get("org_id", ""), f.get("reason", "")
    ),
    "create_request": lambda db, a, case, f: services.create_request(
        db,
        a,
        case,
        f.get("to_org", ""),
        f.get("action", ""),
        f.get("details", ""),
        utc_time(f, "respond_by"),
    ),
    "acknowledge_request": lambda db, a, case, f: services.acknowledge_request(
        db, a, case, f.get("request_id", "")
    ),
    "complete_request": lambda db, a, case, f: services.complete_request(
        db, a, case, f.get("request_id", ""), f.get("note", "")
    ),
    "decline_request": lambda db, a, case, f: services.decline_request(
        db, a, case, f.get("request_id", ""), f.get("reason", "")
    ),
    "propose_handoff": lambda db, a, case, f: services.propose_handoff(
        db, a, case, f.get("to_org", ""), f.get("summary", ""), optional(f, "override_reason")
    ),
    "accept_handoff": lambda db, a, case, f: services.accept_handoff(
        db, a, case, f.get("handoff_id", "")
    ),
    "decline_handoff": lambda db, a, case, f: services.decline_handoff(
        db, a, case, f.get("handoff_id", ""), f.get("reason", "")
    ),
    "cancel_handoff": lambda db, a, case, f: services.cancel_handoff(
        db, a, case, f.get("handoff_id", ""), optional(f, "reason")
    ),
    "start_session": lambda db, a, case, f: services.start_session(
        db, a, case, optional(f, "handoff_id")
    ),
    "join_session": lambda db, a, case, f: services.join_session(
        db, a, case, f.get("session_id", ""), f.get("party", ""), own_agent(a, f)
    ),
    "leave_session": lambda db, a, case, f: services.leave_session(
        db, a, case, f.get("session_id", ""), f.get("party", ""), own_agent(a, f)
    ),
    "post_message": lambda db, a, case, f: services.post_message(
        db, a, case, f.get("session_id", ""), f.get("text", "")
    ),
    "end_session": lambda db, a, case, f: services.end_session(
        db, a, case, f.get("session_id", "")
    ),
    "await_customer": lambda db, a, case, f: services.await_customer(
        db, a, case, f.get("needed", "")
    ),
    "customer_responded": lambda db, a, case, f: services.customer_responded(
        db, a, case, optional(f, "note")
    ),
    "propose_resolution": lambda db, a, case, f: services.propose_resolution(
        db, a, case, f.get("code", ""), f.get("summary", "")
    ),
    "confirm_resolution": lambda db, a, case, f: services.confirm_resolution(db, a, case),
    "reject_resolution": lambda db, a, case, f: services.reject_resolution(
        db, a, case, f.get("reason", "")
    ),
    "reopen": lambda db, a, case, f: services.reopen(db, a, case, f.get("reason", "")),
    "withdraw": lambda db, a, case, f: services.withdraw(db, a, case, f.get("reason", "")),
    "add_note": lambda db, a, case, f: services.add_note(
        db, a, case, f.get("text", ""), f.get("visibility", "internal")
    ),
}

DONE = {
    "claim": "You claimed the case.",
    "assign": "The case has a new owner.",
    "add_participant": "The org now takes part in the case.",
    "create_request": "Request sent.",
    "acknowledge_request": "Request acknowledged.",
    "complete_request": "Request completed.",
    "decline_request": "Request declined.",
    "propose_handoff": "Handoff proposed. Start a joint session so the receiver can accept it.",
    "accept_handoff": "Handoff accepted: your org owns the case now.",
    "decline_handoff": "Handoff declined.",
    "cancel_handoff": "Handoff cancelled.",
    "start_session": "Joint session started.",
    "join_session": "Joined.",
    "leave_session": "Left the session.",
    "end_session": "Joint session ended.",
    "post_message": "Said in the session.",
    "await_customer": "Waiting for the customer.",
    "customer_responded": "The customer's answer is recorded.",
    "propose_resolution": "Resolution proposed to the customer.",
    "confirm_resolution": "Resolution confirmed; the case is closed.",
    "reject_resolution": "Resolution rejected; the case is active again.",
    "reopen": "Case reopened.",
    "withdraw": "Case withdrawn.",
    "add_note": "Note added.",
}


# A refused action is answered by a redirect to its page (the case page, the customer's status
# page), which shows the refusal once (Post/Redirect/Get: reloading it shows the page, and never
# sends the form again). The refusal and what was typed ride in the session cookie; a cookie
# holds about 4 KB in all, so what was typed rides along only up to FLASH_BYTES (JSON, as the
# cookie encodes it). Longer, the refusal is answered on the form's own address, keeping every
# word (api.ui.cases.refused).
FLASH = "refused"
FLASH_BYTES = 2000


def remember_refusal(request: Request, page: str, problem: Problem, submitted: Form) -> bool:
    """Keep the refusal for `page` (its address), where the browser is sent next; False: what
    was typed is too long to keep."""
    kept = {name: value for name, value in submitted.items() if name != "csrf_token"}
    flash = {"page": page, "problem": asdict(problem), "submitted": kept}
    if len(json.dumps(flash)) > FLASH_BYTES:
        return False
    request.session[FLASH] = flash
    return True


def recall_refusal(request: Request, page: str) -> tuple[Problem | None, Form]:
    """The refusal kept for `page`, once (a later visit shows the page as it is). Only a visit
    takes it: the page's own script, refreshing it on an event of the case's stream (which the
    refusal may be), could otherwise take it just before the browser is at the page."""
    if request.headers.get("sec-fetch-mode", "navigate") != "navigate":
        return None, {}
    flash = request.session.pop(FLASH, None)
    if not isinstance(flash, dict) or flash.get("page") != page:
        return None, {}
    try:
        return Problem(**flash["problem"]), dict(flash["submitted"])
    except (KeyError, TypeError, ValueError):  # kept by another version of the pages: let go
        return None, {}
