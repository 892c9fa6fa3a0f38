"""Named guards of the lifecycle table. Each passes or raises the spec's refusal and details."""

from handoff.domain.attempt import Attempt
from handoff.domain.authority import party_fits, presence_via
from handoff.domain.case import Agent, JointSession, SessionParty
from handoff.domain.errors import Forbidden, InvalidInput, Refusal
from handoff.domain.send_away import find_send_away
from handoff.domain.vocabulary import (
    PARTIES,
    PROVEN_CUSTOMER_VIAS,
    RESOLUTION_CODES,
    WORKING_ROLES,
)


def _text_given(a: Attempt, name: str) -> None:
    if not a.text(name):
        raise InvalidInput(name, f"{name} must not be empty")


def reason_given(a: Attempt) -> None:
    _text_given(a, "reason")


def summary_given(a: Attempt) -> None:
    _text_given(a, "summary")


def needed_given(a: Attempt) -> None:
    _text_given(a, "needed")


def action_given(a: Attempt) -> None:
    _text_given(a, "action")


def note_given(a: Attempt) -> None:
    _text_given(a, "note")


def _no_send_away(a: Attempt, field: str) -> None:
    match = find_send_away(a.text(field), a.rules)
    if match:
        raise Refusal(
            "send_away_language",
            f'Customer-facing text must not send the customer elsewhere: "{match.phrase}". '
            "Do that contact yourself, or ask the other org through a request.",
            field=field,
            phrase=match.phrase,
            rule=match.rule,
        )


def summary_not_send_away(a: Attempt) -> None:
    _no_send_away(a, "summary")


def needed_not_send_away(a: Attempt) -> None:
    """What the customer is asked for is shown to them on their status page."""
    _no_send_away(a, "needed")


def customer_text_not_send_away(a: Attempt) -> None:
    if a.params.get("visibility") == "customer":
        _no_send_away(a, "text")


def customer_notes_by_owner_org(a: Attempt) -> None:
    """Other orgs answer the owner, not the customer (SPEC §1.4)."""
    if a.params.get("visibility") == "customer" and a.actor.org_id != a.case.owner_org_id:
        raise Forbidden("only the owner org writes to the customer; other orgs answer the owner")


def _agent_to_own(a: Attempt) -> Agent:
    agent = a.params.get("agent")
    if not isinstance(agent, Agent):
        raise InvalidInput("agent_id", "an agent to own the case is needed")
    return agent


def _can_own(agent: Agent) -> None:
    if not agent.active or agent.role not in WORKING_ROLES:
        raise Refusal(
            "owner_required",
            f"{agent.name} cannot own cases (inactive or not a rep or supervisor); "
            "the case would be left without an owner agent.",
            agent_id=agent.id,
        )


def claimer_can_own(a: Attempt) -> None:
    """The claiming agent's row as it is now: deactivated since signing in, they cannot own it."""
    _can_own(_agent_to_own(a))


def target_agent_in_owner_org(a: Attempt) -> None:
    agent = _agent_to_own(a)
    if agent.org_id != a.case.owner_org_id:
        raise Refusal(
            "cold_transfer_forbidden",
            f"{agent.name} belongs to {agent.org_id}, not the owner org {a.case.owner_org_id}: "
            "ownership leaves an org only by a warm handoff the receiver accepts.",
            agent_id=agent.id,
            agent_org=agent.org_id,
            owner_org=a.case.owner_org_id,
        )
    if agent.id == a.case.owner_agent_id:
        raise InvalidInput("agent_id", f"{agent.name} already owns this case")
    _can_own(agent)


def _target_is_other_participant(a: Attempt, field: str) -> None:
    to_org = a.params.get(field)
    if to_org == a.case.owner_org_id:
        raise InvalidInput(field, f"{to_org} already owns this case")
    if to_org not in a.case.participant_org_ids:
        raise Refusal(
            "not_participant",
            f"{to_org} is not a participant of this case; add it as a participant first.",
            org_id=to_org,
            participants=a.case.participant_org_ids,
        )


def handoff_target_is_other_participant(a: Attempt) -> None:
    _target_is_other_participant(a, "to_org")


def request_target_is_other_participant(a: Attempt) -> None:
    _target_is_other_participant(a, "to_org")


def not_ping_pong(a: Attempt) -> None:
    to_org = a.params.get("to_org")
    if not a.case.handed_off_by(to_org):
        return
    if a.actor.is_supervisor and a.text("override_reason"):
        return
    raise Refusal(
        "ping_pong",
        f"{to_org} already owned this case and handed it off; it cannot be bounced back "
        "unless a supervisor overrides with a reason.",
        org_id=to_org,
    )


def warm_session_complete(a: Attempt) -> None:
    """This handoff's live session has the owner agent present as `owner`, the agent taking the
    case as `receiver` and the customer: as collaborator, either agent does not count."""
    case, acceptor = a.case, _agent_to_own(a)
    session = case.live_session
    verified = a.params.get("customer_presence") == "verified"
    waiting_for = [
        {"party": w.party, "agent_id": w.agent_id} if w.party != "customer" else {"party": w.party}
        for w in case.awaited(receiver_id=acceptor.id, verified=verified)
    ]
    if waiting_for:
        missing = [str(w["party"]) for w in waiting_for]
        proof = " (by their own link or a partner system: this org verifies it)" if verified else ""
        raise Refusal(
            "warm_session_required",
            f"A handoff is accepted only in a live joint session with the owner, the receiver and "
            f"the customer all present. Missing: {', '.join(missing)}{proof}.",
            missing=missing,  # the parties' names, as SPEC §12 writes them
            waiting_for=waiting_for,  # and which agent each one is
            session_id=session.id if session else None,
            **({"customer_presence": "verified"} if verified else {}),
        )


def acceptor_in_target_org(a: Attempt) -> None:
    acceptor, handoff = _agent_to_own(a), a.case.pending_handoff
    if handoff is None or acceptor.org_id != handoff.to_org_id:
        raise Refusal(
            "cold_transfer_forbidden",
            "only an agent of the org the handoff is addressed to can take ownership.",
            agent_id=acceptor.id,
        )
    _can_own(acceptor)


def no_open_requests(a: Attempt) -> None:
    """Requests to other orgs (SPEC §3): one the case's owner org now owes itself (it was asked
    before a handoff made it the owner) is its own work and does not hold the resolution up."""
    still_open = [r for r in a.case.open_requests if r.to_org_id != a.case.owner_org_id]
    if still_open:
        owing = sorted({r.to_org_id for r in still_open})
        verb = "owes" if len(owing) == 1 else "owe"
        raise Refusal(
            "open_requests",
            f"The case cannot be resolved while {', '.join(owing)} still {verb} work on it.",
            requests=[
                {"id": r.id, "to_org": r.to_org_id, "action": r.action, "state": r.state}
                for r in still_open
            ],
        )


def resolution_code_valid(a: Attempt) -> None:
    if a.params.get("code") not in RESOLUTION_CODES:
        raise InvalidInput(
            "code",
            f"resolution code must be one of {', '.join(RESOLUTION_CODES)}",
            allowed=list(RESOLUTION_CODES),
        )


def claim_window_passed(a: Attempt) -> None:
    _window_passed(a, a.case.claim_due_at, "claim window")


def auto_close_window_passed(a: Attempt) -> None:
    _window_passed(a, a.case.auto_close_due_at, "auto-close window")


def handoff_window_passed(a: Attempt) -> None:
    handoff = a.case.pending_handoff
    _window_passed(a, handoff.expires_at if handoff else None, "handoff window")


def _window_passed(a: Attempt, due: object, name: str) -> None:
    if due is None or a.now < due:  # type: ignore[operator]
        raise Refusal("window_not_passed", f"the {name} has not passed yet", due=due)


def request_overdue(a: Attempt) -> None:
    request = a.params.get("request")
    due = request.respond_by if request is not None and request.is_open else None
    _window_passed(a, due, "request's respond-by time")
    if request is not None and request.escalated_at is not None:
        raise Refusal("already_escalated", "this overdue request was escalated already")


def within_reopen_window(a: Attempt) -> None:
    until = a.case.reopen_until
    if until is not None and a.now > until:
        raise Refusal(
            "window_passed",
            f"The reopen window closed at {until.isoformat()}; open a new case instead.",
            reopen_until=until.isoformat(),
        )


def no_live_session(a: Attempt) -> None:
    session = a.case.live_session
    if session is not None:
        raise Refusal(
            "session_live",
            "A joint session is already live on this case; end it before starting another.",
            session_id=session.id,
        )


def session_for_pending_handoff(a: Attempt) -> None:
    handoff_id = a.params.get("handoff_id")
    pending = a.case.pending_handoff
    if handoff_id is not None and (pending is None or pending.id != handoff_id):
        raise Refusal(
            "handoff_not_pending",
            "A session can only carry the case's pending handoff, and this one is not pending.",
            handoff_id=handoff_id,
        )


def _joining_agent(a: Attempt) -> Agent | None:
    agent = a.params.get("agent")
    return agent if isinstance(agent, Agent) else None


def party_speaks_for_itself(a: Attempt) -> None:
    """An agent is joined or left only by itself or its own org's partner system; the customer
    only by the owner org (SPEC §11, joint-session parties)."""
    party, agent, actor = a.params.get("party"), _joining_agent(a), a.actor
    if party not in PARTIES:
        raise InvalidInput("party", f"party must be one of {', '.join(PARTIES)}")
    if party == "customer":
        is_the_customer = actor.kind == "customer" and actor.case_id == a.case.id
        if not (is_the_customer or actor.kind == "timer" or actor.speaks_for(a.case.owner_org_id)):
            raise Forbidden("the customer joins from their own page, or by the owner org")
        return
    if actor.kind == "customer":
        raise Forbidden("the customer joins and leaves as the customer only")
    if actor.kind == "timer":
        raise Forbidden("the timer leaves only for a customer whose page went quiet")
    if agent is None:
        raise InvalidInput("agent_id", f"agent_id is needed for the {party} party")
    if not (actor.kind == "agent" and actor.id == agent.id) and not (
        actor.kind == "system" and actor.org_id == agent.org_id
    ):
        raise Forbidden(
            "an agent joins or leaves only by itself or by its own org's partner system"
        )


def party_fits_case(a: Attempt) -> None:
    party, agent, case = a.params.get("party"), _joining_agent(a), a.case
    if agent is None:
        return
    if agent.org_id not in case.participant_org_ids:
        raise Refusal(
            "not_participant",
            f"{agent.org_id} is not a participant of this case.",
            org_id=agent.org_id,
        )
    if isinstance(party, str) and not party_fits(party, agent.org_id, case.owner_org_id):
        side = "owner org" if party == "owner" else "receiving org"
        raise InvalidInput("party", f"the {party} party is a person of the {side}")


def party_not_present(a: Attempt) -> None:
    """A party joins once; a customer present on the owner's word may yet prove it."""
    presence = _find_presence(a)
    if presence is not None and not proves_presence(presence, a):
        raise Refusal(
            "already_present",
            "That party is already present in the session.",
            party=a.params.get("party"),
        )


def party_present(a: Attempt) -> None:
    if _find_presence(a) is None:
        raise InvalidInput("party", "that party is not present in the session")


def proves_presence(presence: SessionParty, a: Attempt) -> bool:
    """This join, by their own link or a partner system, proves a customer's attested presence."""
    via, attested = presence_via(a.actor.kind, "customer"), presence.via in (None, "attested")
    return presence.party == "customer" and attested and via in PROVEN_CUSTOMER_VIAS


def _find_presence(a: Attempt) -> SessionParty | None:
    session, agent = a.params.get("session"), _joining_agent(a)
    if not isinstance(session, JointSession):
        return None
    return session.presence_of(str(a.params.get("party")), agent.id if agent else None)


def text_given(a: Attempt) -> None:
    _text_given(a, "text")


def author_present(a: Attempt) -> None:
    """Messages are said inside the session: by a present agent, or the customer present."""
    session = a.params.get("session")
    present = session.present if session is not None else []
    if a.actor.kind == "customer":
        here = any(p.party == "customer" for p in present)
    else:
        here = any(p.agent_id == a.actor.id for p in present if p.party != "customer")
    if not here:
        raise Forbidden("only someone present in the session speaks in it; join it first")


def message_not_send_away(a: Attempt) -> None:
    """An agent's message is customer-facing; the customer's own words are not checked."""
    if a.actor.kind != "customer":
        _no_send_away(a, "text")


def a_session_is_live(a: Attempt) -> None:
    if a.case.live_session is None:
        raise Refusal("invalid_transition", "No joint session is live on this case.")


MAX_PARTICIPANTS = 50  # orgs taking part in one case (SPEC §14)


def open_requests_below_limit(a: Attempt) -> None:
    """A case holds a bounded number of open requests, so no one case grows without end."""
    limit = int(a.params.get("open_request_limit") or 50)
    if len(a.case.open_requests) >= limit:
        raise Refusal(
            "limit_reached",
            f"This case already has {limit} open requests; close some before asking for more.",
            limit=limit,
            what="open_requests",
        )


def participants_below_limit(a: Attempt) -> None:
    if len(a.case.participants) >= MAX_PARTICIPANTS:
        raise Refusal(
            "limit_reached",
            f"This case already has {MAX_PARTICIPANTS} participant orgs.",
            limit=MAX_PARTICIPANTS,
            what="participants",
        )
