"""Which cases a principal may see (SPEC §7); a case it may not see does not exist for it."""

from collections.abc import Collection

from sqlalchemy import Select, exists, false, select

from handoff.domain.case import Case
from handoff.domain.principals import Actor
from handoff.store.models import CaseRow, ParticipantRow


def can_see(case: Case, actor: Actor) -> bool:
    return sees(actor, case.id, case.participant_org_ids)


def sees(actor: Actor, case_id: str, participant_org_ids: Collection[str]) -> bool:
    """`can_see` from the case's id and the orgs taking part, without loading the case."""
    if actor.kind == "timer":
        return True
    if actor.kind == "customer":
        return actor.case_id == case_id
    if actor.is_auditor:
        return actor.orgs is None or not actor.orgs.isdisjoint(participant_org_ids)
    if actor.kind in ("agent", "system"):
        return actor.org_id in participant_org_ids
    return False


def visible_cases(actor: Actor) -> Select[CaseRow]:
    """The cases an actor may see, as a query to filter further."""
    query = select(CaseRow)
    if actor.is_auditor and actor.orgs is None:
        return query
    if actor.is_auditor and actor.orgs is not None:
        orgs = sorted(actor.orgs)
    elif actor.kind in ("agent", "system") and actor.org_id is not None:
        orgs = [actor.org_id]
    elif actor.kind == "customer":
        return query.where(CaseRow.id == actor.case_id)
    else:
        return query.where(false())
    takes_part = exists().where(
        ParticipantRow.case_id == CaseRow.id, ParticipantRow.org_id.in_(orgs)
    )
    return query.where(takes_part)
