"""The spec's words, defined once: states, roles, parties, codes. The lifecycle table, the guards,
the services and the API's enums (api/schemas/fields.py) are all built from these."""

CASE_STATES = (
    "unclaimed",
    "active",
    "handoff_pending",
    "awaiting_customer",
    "resolution_proposed",
    "closed",
)
REQUEST_STATES = ("open", "acknowledged", "done", "declined", "cancelled")
OPEN_REQUEST_STATES = ("open", "acknowledged")  # a request still owed
HANDOFF_STATES = ("proposed", "accepted", "declined", "cancelled", "expired")
SESSION_STATES = ("live", "ended")

PRIORITIES = ("low", "normal", "high", "urgent")
VISIBILITIES = ("internal", "customer")
RESOLUTION_CODES = (
    "fixed",
    "refunded",
    "replaced",
    "credited",
    "explained",
    "withdrawn_by_customer",
)
PARTIES = ("owner", "receiver", "customer", "collaborator")
# How a presence in a joint session was established (SPEC §12); a customer is proven present only
# by their own link or by a partner system's platform.
VIAS = ("agent", "link", "system", "attested")
PROVEN_CUSTOMER_VIAS = ("link", "system")
CUSTOMER_PRESENCE = ("attested", "verified")
ORG_KINDS = ("merchant", "bank", "vendor", "manufacturer", "carrier", "other")
ROLES = ("rep", "supervisor", "auditor")
WORKING_ROLES = frozenset({"rep", "supervisor"})  # who may own and work cases
PRINCIPAL_KINDS = ("agent", "system", "admin")

# The refusal codes of SPEC §3 (409 unless noted), and the engine's own beside them.
SPEC_REFUSALS = (
    "invalid_transition",
    "owner_required",
    "cold_transfer_forbidden",
    "warm_session_required",
    "ping_pong",
    "open_requests",
    "send_away_language",
    "not_participant",
    "handoff_pending",
    "window_passed",
    "version_conflict",
)
ENGINE_REFUSALS = (
    "session_live",
    "already_present",
    "handoff_not_pending",
    "limit_reached",
    "window_not_passed",
    "already_escalated",
)
# Refusals that would have sent the customer away: each is itself put on the case's record (§6).
RECORDED_REFUSALS = frozenset(
    {
        "cold_transfer_forbidden",
        "warm_session_required",
        "ping_pong",
        "open_requests",
        "send_away_language",
    }
)
