"""The options of a case page's select boxes, in names rather than ids."""

from dataclasses import dataclass

from api.ui.words import RESOLUTIONS
from handoff.domain.authority import parties_to_join
from handoff.domain.principals import Actor
from handoff.domain.vocabulary import RESOLUTION_CODES
from handoff.services.directory import Directory
from handoff.services.views import CaseView

Options = list[tuple[str, str]]


@dataclass(frozen=True)
class Choices:
    others: Options  # participant orgs other than the owner org
    outside: Options  # orgs not taking part yet
    people: Options  # who else in the owner org may take the case
    codes: Options
    join_parties: Options
    join_as: str
    leave_parties: Options


def choices_for(case: CaseView, names: Directory, actor: Actor) -> Choices:
    taking_part = {p.org_id for p in case.participants}
    present = case.session.present if case.session else []
    joinable = parties_to_join(
        actor, case.id, case.owner.org_id, [(p.party, p.agent_id) for p in present]
    )
    likely = _likely_party(case, actor)
    owner_side = actor.org_id == case.owner.org_id
    return Choices(
        others=[
            (p.org_id, names.org_name(p.org_id)) for p in case.participants if p.role != "owner"
        ],
        outside=sorted(
            ((o, name) for o, name in names.orgs.items() if o not in taking_part),
            key=lambda option: option[1],
        ),
        people=[
            (p.id, f"{p.name} ({p.role})")
            for p in names.can_own_cases(case.owner.org_id)
            if p.id != case.owner.agent_id  # the case is theirs already
        ],
        codes=[(code, RESOLUTIONS[code]) for code in RESOLUTION_CODES],
        join_parties=[
            (party, "The customer" if party == "customer" else f"Me, as {party}")
            for party in joinable
        ],
        join_as=likely if likely in joinable or not joinable else joinable[0],
        leave_parties=[
            (p.party, "The customer" if p.party == "customer" else f"Me, as {p.party}")
            for p in present
            if (p.party == "customer" and owner_side) or p.agent_id == actor.id
        ],
    )


def _likely_party(case: CaseView, actor: Actor) -> str:
    """The party a person most likely joins next: a first guess for the form, nothing more."""
    present = case.session.present if case.session else []
    if actor.org_id == case.owner.org_id:
        return "customer" if any(p.agent_id == actor.id for p in present) else "owner"
    if case.handoff and case.handoff.to_org == actor.org_id:
        return "receiver"
    return "collaborator"
