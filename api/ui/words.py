"""The spec's terms in words a person reads, and times as people say them."""

from datetime import UTC, datetime, timedelta

STATES = {
    "unclaimed": "Unclaimed",
    "active": "Active",
    "handoff_pending": "Handoff pending",
    "awaiting_customer": "Awaiting the customer",
    "resolution_proposed": "Resolution proposed",
    "closed": "Closed",
}

ACTIONS = {
    "claim": "Claim",
    "assign": "Assign",
    "add_participant": "Add an org",
    "create_request": "Ask another org",
    "acknowledge_request": "Acknowledge",
    "complete_request": "Complete",
    "decline_request": "Decline",
    "propose_handoff": "Propose a handoff",
    "accept_handoff": "Accept the handoff",
    "decline_handoff": "Decline the handoff",
    "cancel_handoff": "Cancel the handoff",
    "start_session": "Start a joint session",
    "join_session": "Join",
    "leave_session": "Leave",
    "end_session": "End the session",
    "await_customer": "Wait for the customer",
    "customer_responded": "The customer answered",
    "propose_resolution": "Propose a resolution",
    "confirm_resolution": "Confirm (on the customer's word)",
    "reject_resolution": "Not solved (on the customer's word)",
    "reopen": "Reopen",
    "withdraw": "Withdraw (on the customer's word)",
    "add_note": "Add a note",
    "post_message": "Send",
    "add_attachments": "Add files",
}

# How a presence in a joint session was established (SPEC §12), after who it is.
VIA = {
    "link": "joined from their link",
    "system": "joined through a partner system",
    "attested": "on the owner's word",
}

PARTIES = {
    "owner": "owner",
    "receiver": "receiver",
    "customer": "customer",
    "collaborator": "collaborator",
}

RESOLUTIONS = {
    "fixed": "Fixed",
    "refunded": "Refunded",
    "replaced": "Replaced",
    "credited": "Credited",
    "explained": "Explained",
    "withdrawn_by_customer": "Withdrawn by the customer",
}

REQUEST_STATES = {
    "open": "Open",
    "acknowledged": "Acknowledged",
    "done": "Done",
    "declined": "Declined",
    "cancelled": "Cancelled",
}


def when(at: datetime | None) -> str:
    """A time in UTC, as on a wall clock: 24 Nov 2025, 14:05 UTC."""
    if at is None:
        return "—"
    return at.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC").lstrip("0")


def duration(span: timedelta) -> str:
    minutes = max(int(span.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def since(at: datetime) -> str:
    """How long ago: 3 h 5 min."""
    return duration(datetime.now(UTC) - at)
