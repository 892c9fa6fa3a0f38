"""One function per trigger: lock the case, check, fire, record, commit."""

from handoff.services.admin import (
    create_agent,
    create_org,
    create_system,
    deactivate_agent,
    issue_credential,
)
from handoff.services.authentication import authenticate
from handoff.services.cases import (
    add_note,
    add_participant,
    assign,
    await_customer,
    claim,
    create_case,
    customer_responded,
)
from handoff.services.handoffs import (
    accept_handoff,
    cancel_handoff,
    decline_handoff,
    expire_handoff,
    propose_handoff,
)
from handoff.services.requests import (
    acknowledge_request,
    complete_request,
    create_request,
    decline_request,
)
from handoff.services.resolution import (
    auto_close,
    confirm_resolution,
    propose_resolution,
    reject_resolution,
    reopen,
    withdraw,
)
from handoff.services.sessions import (
    end_session,
    join_session,
    leave_session,
    post_message,
    start_session,
)
from handoff.services.timers import escalate_unclaimed

__all__ = [
    "accept_handoff",
    "acknowledge_request",
    "add_note",
    "add_participant",
    "assign",
    "authenticate",
    "auto_close",
    "await_customer",
    "cancel_handoff",
    "claim",
    "complete_request",
    "confirm_resolution",
    "create_agent",
    "create_case",
    "create_org",
    "create_request",
    "create_system",
    "customer_responded",
    "deactivate_agent",
    "decline_handoff",
    "decline_request",
    "end_session",
    "escalate_unclaimed",
    "expire_handoff",
    "issue_credential",
    "join_session",
    "leave_session",
    "post_message",
    "propose_handoff",
    "propose_resolution",
    "reject_resolution",
    "reopen",
    "start_session",
    "withdraw",
]
