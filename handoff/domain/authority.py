"""Who may fire a trigger (SPEC §3 "who" column, §7 access). Each raises Forbidden or passes."""

from collections.abc import Callable, Iterable

from handoff.domain.attempt import Attempt
from handoff.domain.errors import Forbidden
from handoff.domain.principals import Actor
from handoff.domain.vocabulary import PARTIES

Who = Callable[[Attempt], None]


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise Forbidden(message)


def rep_of_owner_org(a: Attempt) -> None:
    _require(
        a.actor.works_cases and a.actor.org_id == a.case.owner_org_id,
        "only a rep or supervisor of the owner org may do this",
    )


def owner_agent(a: Attempt) -> None:
    """The owner agent, or a supervisor of the owner org (who may do what its reps may)."""
    actor, case = a.actor, a.case
    _require(
        actor.works_cases
        and actor.org_id == case.owner_org_id
        and (actor.id == case.owner_agent_id or actor.is_supervisor),
        "only the owner agent or a supervisor of the owner org may do this",
    )


def owner_org(a: Attempt) -> None:
    """The owner agent, a supervisor of the owner org, or the owner org's partner system."""
    actor = a.actor
    if actor.kind == "system" and actor.org_id == a.case.owner_org_id:
        return
    owner_agent(a)


def customer_or_owner_org(a: Attempt) -> None:
    if a.actor.kind == "customer" and a.actor.case_id == a.case.id:
        return
    owner_org(a)


def handoff_target_org(a: Attempt) -> None:
    handoff = a.case.pending_handoff
    _require(
        handoff is not None and a.actor.speaks_for(handoff.to_org_id),
        "only the org the handoff is addressed to may answer it",
    )


def agent_of_handoff_target_org(a: Attempt) -> None:
    """A person of the org the handoff is addressed to: its partner system may accept for one of
    them (naming the agent), but saying no is not left to a machine (SPEC §7)."""
    handoff = a.case.pending_handoff
    _require(
        handoff is not None and a.actor.works_cases and a.actor.org_id == handoff.to_org_id,
        "only a rep or supervisor of the org the handoff is addressed to may decline it",
    )


def request_target_org(a: Attempt) -> None:
    """The org the request in hand is addressed to, whatever its state (answering one already
    answered is then the request's own invalid_transition); with none in hand, as when listing
    allowed actions, an org with an open request on the case."""
    request = a.params.get("request")
    if request is not None:
        allowed = a.actor.speaks_for(request.to_org_id)
    else:
        allowed = any(a.actor.speaks_for(r.to_org_id) for r in a.case.open_requests)
    _require(allowed, "only the org a request is addressed to may answer it")


def participant(a: Attempt) -> None:
    _require(
        a.actor.org_id in a.case.participant_org_ids
        and (a.actor.works_cases or a.actor.kind == "system"),
        "only a rep, supervisor or partner system of a participant org may do this",
    )


def participant_system(a: Attempt) -> None:
    _require(
        a.actor.kind == "system" and a.actor.org_id in a.case.participant_org_ids,
        "only a partner system of a participant org may do this",
    )


def party_fits(party: str, org_id: str | None, owner_org_id: str) -> bool:
    """Who may be which party of a joint session (SPEC §11): the owner org's people are the
    owner and bring the customer in; another org's people are the receiver; anyone collaborates.
    The guards check joins with it, and the web UI offers only what it allows."""
    if party in ("owner", "customer"):
        return org_id == owner_org_id
    if party == "receiver":
        return org_id != owner_org_id
    return party == "collaborator"


def parties_to_join(
    actor: Actor, case_id: str, owner_org_id: str, present: Iterable[tuple[str, str | None]]
) -> list[str]:
    """The parties `actor` can still join a live session as, given who is `present` (party,
    agent id): the customer, if it is the customer or speaks for the owner org; itself, as an
    agent, as each party it fits; never a party present already (the join's guards:
    party_speaks_for_itself, party_fits_case, party_not_present). The web UI offers these."""
    taken = set(present)
    parties = []
    for party in PARTIES:
        if party == "customer":
            may = (actor.kind == "customer" and actor.case_id == case_id) or actor.speaks_for(
                owner_org_id
            )
            agent_id = None
        else:
            may = actor.kind == "agent" and party_fits(party, actor.org_id, owner_org_id)
            agent_id = actor.id
        if may and (party, agent_id) not in taken:
            parties.append(party)
    return parties


def presence_via(actor_kind: str, party: str) -> str:
    """How a join proves its presence (SPEC §12): the customer by their own link, a partner
    system by its platform, an agent by being there; the owner's word for the customer is
    only attested."""
    if actor_kind == "customer":
        return "link"
    if actor_kind == "system":
        return "system"
    return "attested" if party == "customer" else "agent"


def session_member(a: Attempt) -> None:
    """A participant org's people and systems; and the case's customer, from their own page."""
    if a.actor.kind == "customer" and a.actor.case_id == a.case.id:
        return
    participant(a)


def session_member_or_timer(a: Attempt) -> None:
    """As session_member, and the timer (a customer's page gone quiet leaves for them)."""
    if a.actor.kind == "timer":
        return
    session_member(a)


def timer(a: Attempt) -> None:
    _require(a.actor.kind == "timer", "only the timer may do this")
