"""The case lifecycle (SPEC §3) as one table, driven by one shared `transitions` machine.

Each row: trigger, the states it may fire from, the state it leads to (None: the state stays),
who may fire it, the named guards it must pass, and the event it writes. Requests and joint
sessions have small tables of their own at the end.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from transitions import Machine, MachineError

from handoff.domain import authority as who
from handoff.domain import guards as g
from handoff.domain.attempt import Attempt
from handoff.domain.errors import DomainError, Refusal
from handoff.domain.vocabulary import CASE_STATES, HANDOFF_STATES, REQUEST_STATES, SESSION_STATES

STATES = CASE_STATES
OPEN = tuple(s for s in STATES if s != "closed")
WORKED = ("active", "handoff_pending", "awaiting_customer", "resolution_proposed")
# Where requests live: created from these, and a resolution cannot be proposed while one is open.
COLLABORATING = ("active", "handoff_pending", "awaiting_customer")

Guard = Callable[[Attempt], None]


@dataclass(frozen=True)
class Row:
    trigger: str
    source: Sequence[str]
    dest: str | None
    who: Guard
    guards: Sequence[Guard]
    event: str


# fmt: off
CASE_TABLE = (
    Row("claim",               ["unclaimed"],            "active",              who.rep_of_owner_org, [g.claimer_can_own], "claimed"),
    Row("escalate_unclaimed",  ["unclaimed"],            "active",              who.timer, [g.claim_window_passed], "escalated_unclaimed"),
    Row("assign",              ["active", "awaiting_customer"], None,           who.owner_agent, [g.target_agent_in_owner_org], "assigned"),
    Row("propose_handoff",     ["active"],               "handoff_pending",     who.owner_agent, [g.handoff_target_is_other_participant, g.summary_given, g.not_ping_pong], "handoff_proposed"),
    Row("accept_handoff",      ["handoff_pending"],      "active",              who.handoff_target_org, [g.acceptor_in_target_org, g.warm_session_complete], "handoff_accepted"),
    Row("decline_handoff",     ["handoff_pending"],      "active",              who.agent_of_handoff_target_org, [g.reason_given], "handoff_declined"),
    Row("cancel_handoff",      ["handoff_pending"],      "active",              who.owner_agent, [], "handoff_cancelled"),
    Row("expire_handoff",      ["handoff_pending"],      "active",              who.timer, [g.handoff_window_passed], "handoff_expired"),
    Row("await_customer",      ["active"],               "awaiting_customer",   who.owner_agent, [g.needed_given, g.needed_not_send_away], "awaiting_customer"),
    Row("customer_responded",  ["awaiting_customer"],    "active",              who.customer_or_owner_org, [], "customer_responded"),
    Row("propose_resolution",  ["active"],               "resolution_proposed", who.owner_agent, [g.resolution_code_valid, g.summary_given, g.no_open_requests, g.summary_not_send_away], "resolution_proposed"),
    Row("confirm_resolution",  ["resolution_proposed"],  "closed",              who.customer_or_owner_org, [], "resolution_confirmed"),
    Row("reject_resolution",   ["resolution_proposed"],  "active",              who.customer_or_owner_org, [g.reason_given], "resolution_rejected"),
    Row("auto_close",          ["resolution_proposed"],  "closed",              who.timer, [g.auto_close_window_passed], "auto_closed"),
    Row("reopen",              ["closed"],               "active",              who.customer_or_owner_org, [g.reason_given, g.within_reopen_window], "reopened"),
    Row("withdraw",            OPEN,                     "closed",              who.owner_agent, [g.reason_given], "withdrawn"),
    # Actions on an open case that leave its state as it is.
    Row("add_participant",     OPEN,                     None,                  who.owner_org, [g.reason_given, g.participants_below_limit], "participant_added"),
    Row("create_request",      COLLABORATING,            None,                  who.owner_org, [g.request_target_is_other_participant, g.action_given, g.open_requests_below_limit], "request_created"),
    Row("acknowledge_request", COLLABORATING,            None,                  who.request_target_org, [], "request_acknowledged"),
    Row("complete_request",    COLLABORATING,            None,                  who.request_target_org, [g.note_given], "request_completed"),
    Row("decline_request",     COLLABORATING,            None,                  who.request_target_org, [g.reason_given], "request_declined"),
    Row("start_session",       WORKED,                   None,                  who.owner_org, [g.no_live_session, g.session_for_pending_handoff], "session_started"),
    Row("join_session",        WORKED,                   None,                  who.session_member, [g.party_speaks_for_itself, g.party_fits_case, g.party_not_present], "session_joined"),
    Row("leave_session",       WORKED,                   None,                  who.session_member_or_timer, [g.party_speaks_for_itself, g.party_present], "session_left"),
    Row("post_message",        WORKED,                   None,                  who.session_member, [g.a_session_is_live, g.text_given, g.author_present, g.message_not_send_away], "session_message"),
    Row("end_session",         WORKED,                   None,                  who.owner_org, [], "session_ended"),
    Row("escalate_overdue_request", COLLABORATING,       None,                  who.timer, [g.request_overdue], "request_overdue"),
    Row("add_attachments",     OPEN,                     None,                  who.participant_system, [], "attachments_added"),
    Row("add_note",            STATES,                   None,                  who.participant, [g.customer_notes_by_owner_org, g.customer_text_not_send_away], "note_added"),
)
# fmt: on

# A trigger that, from these states, is refused with its own code rather than invalid_transition.
REFUSED_FROM = {
    ("propose_handoff", "handoff_pending"): (
        "handoff_pending",
        "A handoff is already pending on this case; wait for its answer or cancel it first.",
    ),
}

ROWS = {row.trigger: row for row in CASE_TABLE}
EVENT_OF = {row.trigger: row.event for row in CASE_TABLE}
# Every type a case's history can hold: the table's events, and those written beside it (opening
# a case, a recorded refusal, an escalation with nobody to take it, a request a withdrawal ended).
EVENT_TYPES = frozenset(EVENT_OF.values()) | {
    "case_created",
    "refused",
    "escalation_failed",
    "request_cancelled",
}
TIMER_TRIGGERS = frozenset(row.trigger for row in CASE_TABLE if row.who is who.timer)


def named_condition(guard: Guard) -> Callable[[Any], bool]:
    """Adapt a raising guard to a transitions condition, keeping its name for the diagram."""

    def condition(event: Any) -> bool:
        guard(event.kwargs["attempt"])
        return True

    condition.__name__ = guard.__name__
    return condition


def _build(rows: Sequence[Row], states: Sequence[str]) -> Machine:
    return Machine(
        model=None,
        states=list(states),
        transitions=[
            {
                "trigger": row.trigger,
                "source": list(row.source),
                "dest": row.dest,
                "conditions": [named_condition(row.who), *map(named_condition, row.guards)],
            }
            for row in rows
        ],
        initial=None,
        auto_transitions=False,
        send_event=True,
    )


CASE_MACHINE = _build(CASE_TABLE, STATES)


def fire(trigger: str, attempt: Attempt) -> None:
    """Fire `trigger` on the attempt's case: check the source state, who and guards, move the state."""
    _fire(CASE_MACHINE, trigger, attempt.case, attempt, owner="case")


def check_source(trigger: str, case: Any) -> None:
    """Refuse a trigger the case's state does not allow before the ids in its input are looked up,
    so a stale or unknown handoff, request or session id still gets the table's answer."""
    refused = REFUSED_FROM.get((trigger, case.state))
    if refused:
        raise Refusal(refused[0], refused[1], state=case.state)
    if case.state not in ROWS[trigger].source:
        raise _invalid_transition(CASE_MACHINE, trigger, case.state, "case")


def _invalid_transition(machine: Machine, trigger: str, state: str, owner: str) -> Refusal:
    return Refusal(
        "invalid_transition",
        f"{trigger} is not possible while the {owner} is {state}.",
        trigger=trigger,
        state=state,
        allowed_triggers=sorted(machine.get_triggers(state)),
    )


def _fire(machine: Machine, trigger: str, model: Any, attempt: Attempt, owner: str) -> None:
    refused = REFUSED_FROM.get((trigger, model.state)) if owner == "case" else None
    if refused:
        raise Refusal(refused[0], refused[1], state=model.state)
    try:
        machine.events[trigger].trigger(model, attempt=attempt)
    except MachineError:
        raise _invalid_transition(machine, trigger, model.state, owner) from None


# Guards that read only the case and the clock, never the input: `allowed_actions` checks them too,
# so no button is offered that is sure to be refused (a reopen after its window, say).
INPUT_FREE_GUARDS = frozenset({g.within_reopen_window, g.no_live_session, g.a_session_is_live})


def allowed_actions(attempt: Attempt) -> list[str]:
    """Triggers this actor may fire now: right state, right person, and the guards that need no
    input hold (the others are checked on firing, where the refusal is shown and recorded)."""
    allowed = []
    for row in _ROWS_FROM[attempt.case.state]:
        try:
            row.who(attempt)
            for guard in row.guards:
                if guard in INPUT_FREE_GUARDS:
                    guard(attempt)
        except DomainError:
            continue
        allowed.append(row.trigger)
    return allowed


# The table's rows each state allows, in table order.
_ROWS_FROM = {
    state: [r for r in CASE_TABLE if state in r.source and (r.trigger, state) not in REFUSED_FROM]
    for state in STATES
}


# Requests (SPEC §4) and joint sessions (SPEC §5): the state of the thing itself.
REQUEST_MACHINE = Machine(
    model=None,
    states=list(REQUEST_STATES),
    transitions=[
        {"trigger": "acknowledge", "source": "open", "dest": "acknowledged"},
        {"trigger": "complete", "source": ["open", "acknowledged"], "dest": "done"},
        {"trigger": "decline", "source": ["open", "acknowledged"], "dest": "declined"},
        {"trigger": "cancel", "source": ["open", "acknowledged"], "dest": "cancelled"},
    ],
    initial=None,
    auto_transitions=False,
    send_event=True,
)
# A handoff is answered once: accepted (warm), declined, cancelled, or lapsed by the timer.
HANDOFF_MACHINE = Machine(
    model=None,
    states=list(HANDOFF_STATES),
    transitions=[
        {"trigger": "accept", "source": "proposed", "dest": "accepted"},
        {"trigger": "decline", "source": "proposed", "dest": "declined"},
        {"trigger": "cancel", "source": "proposed", "dest": "cancelled"},
        {"trigger": "expire", "source": "proposed", "dest": "expired"},
    ],
    initial=None,
    auto_transitions=False,
    send_event=True,
)
SESSION_MACHINE = Machine(
    model=None,
    states=list(SESSION_STATES),
    transitions=[
        {"trigger": "join", "source": "live", "dest": None},
        {"trigger": "leave", "source": "live", "dest": None},
        {"trigger": "end", "source": "live", "dest": "ended"},
    ],
    initial=None,
    auto_transitions=False,
    send_event=True,
)


def fire_request(trigger: str, request: Any, attempt: Attempt) -> None:
    _fire(REQUEST_MACHINE, trigger, request, attempt, owner="request")


def fire_handoff(trigger: str, handoff: Any, attempt: Attempt) -> None:
    _fire(HANDOFF_MACHINE, trigger, handoff, attempt, owner="handoff")


def fire_session(trigger: str, session: Any, attempt: Attempt) -> None:
    _fire(SESSION_MACHINE, trigger, session, attempt, owner="session")
