"""Which cases a principal may see (SPEC §7); a case it may not see does not exist for it."""

from sqlalchemy import Select, exists, false, select

from handoff.domain.case import Case
from handoff.domain.principals import Actor
from handoff.store.models import CaseRow, ParticipantRow


def can_see(case: Case, actor: Actor) -> bool:
    if actor.kind == "timer":
        return True
    if actor.kind == "customer":
        return actor.case_id == case.id
    if actor.is_auditor:
        return actor.orgs is None or bool(actor.orgs & set(case.participant_org_ids))
    if actor.kind in ("agent", "system"):
        return actor.org_id in case.participant_org_ids
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
