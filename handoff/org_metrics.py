"""Metrics per org and period (SPEC §6), computed from the cases' histories.

A case counts for every org that took part in it, in the period it was created in. Durations are
in seconds; a case still waiting counts up to the moment of asking.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from handoff.audit import require_auditor
from handoff.commands.flow import now
from handoff.db import Database
from handoff.errors import RECORDED_CODES
from handoff.models import Case, Event
from handoff.principals import Actor
from handoff.replay import standings
from handoff.visibility import visible_cases

CLOSING = ("resolution_confirmed", "auto_closed", "withdrawn")


@dataclass(frozen=True)
class Durations:
    cases: int
    mean_seconds: float | None
    max_seconds: float | None

    @classmethod
    def of(cls, seconds: list[float]) -> "Durations":
        if not seconds:
            return cls(0, None, None)
        return cls(len(seconds), round(sum(seconds) / len(seconds), 3), round(max(seconds), 3))


@dataclass(frozen=True)
class CaseFigures:
    """One case's figures, from its history."""

    orgs: list[str]
    agent_changes: int  # the named owner changed from one person to another
    org_changes: int  # accepted handoffs
    bounces: int  # an org became owner again after handing the case off
    reopens: int
    refused: Counter[str]
    time_to_claim: float | None
    time_without_owner: float
    time_to_resolution: float | None


@dataclass(frozen=True)
class OrgMetrics:
    org_id: str
    cases: int
    owner_changes_people: int
    owner_changes_orgs: int
    bounces: int
    cases_bounced: int
    reopens: int
    send_away_refused: dict[str, int]
    time_to_claim: Durations
    time_without_owner: Durations
    time_to_resolution: Durations
    period_start: datetime | None = None
    period_end: datetime | None = None


def figures_of(events: Iterable[Event], until: datetime) -> CaseFigures:
    created = claimed = resolved = None
    agent_changes = org_changes = bounces = reopens = 0
    refused: Counter[str] = Counter()
    owners_before: list[str] = []
    ownerless_since: datetime | None = None
    without_owner = 0.0
    orgs: list[str] = []
    previous = None
    for event, standing in standings(events):
        assert standing is not None
        created = created or event.at
        if previous is None:
            owners_before, ownerless_since = [standing.owner_org], event.at
        else:
            if standing.owner_agent != previous.owner_agent and previous.owner_agent is not None:
                agent_changes += 1
            if standing.owner_org != previous.owner_org:
                org_changes += 1
                bounces += standing.owner_org in owners_before
                owners_before.append(standing.owner_org)
        if standing.owner_agent is None and ownerless_since is None:
            ownerless_since = event.at
        if standing.owner_agent is not None and ownerless_since is not None:
            without_owner += (event.at - ownerless_since).total_seconds()
            ownerless_since = None
            claimed = claimed or event.at
        reopens += event.type == "reopened"
        if event.type == "refused" and event.data.get("code") in RECORDED_CODES:
            refused[str(event.data["code"])] += 1
        if event.type in CLOSING and resolved is None:
            resolved = event.at
        orgs, previous = list(standing.participants), standing
    if ownerless_since is not None:
        without_owner += (until - ownerless_since).total_seconds()
    assert created is not None
    return CaseFigures(
        orgs=orgs,
        agent_changes=agent_changes,
        org_changes=org_changes,
        bounces=bounces,
        reopens=reopens,
        refused=refused,
        time_to_claim=(claimed - created).total_seconds() if claimed else None,
        time_without_owner=without_owner,
        time_to_resolution=(resolved - created).total_seconds() if resolved else None,
    )


@dataclass
class _Tally:
    figures: list[CaseFigures] = field(default_factory=list)

    def metrics(self, org_id: str, start: datetime | None, end: datetime | None) -> OrgMetrics:
        fs = self.figures
        refused: Counter[str] = sum((f.refused for f in fs), Counter())
        return OrgMetrics(
            org_id=org_id,
            cases=len(fs),
            owner_changes_people=sum(f.agent_changes for f in fs),
            owner_changes_orgs=sum(f.org_changes for f in fs),
            bounces=sum(f.bounces for f in fs),
            cases_bounced=sum(1 for f in fs if f.bounces),
            reopens=sum(f.reopens for f in fs),
            send_away_refused=dict(sorted(refused.items())),
            time_to_claim=Durations.of(
                [f.time_to_claim for f in fs if f.time_to_claim is not None]
            ),
            time_without_owner=Durations.of([f.time_without_owner for f in fs]),
            time_to_resolution=Durations.of(
                [f.time_to_resolution for f in fs if f.time_to_resolution is not None]
            ),
            period_start=start,
            period_end=end,
        )


def org_metrics(
    db: Database,
    actor: Actor,
    *,
    org: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[OrgMetrics]:
    """One line per org (or just `org`) over the cases created in [start, end) the auditor sees."""
    require_auditor(actor)
    query = visible_cases(actor).with_only_columns(Case.id).order_by(Case.number)
    if start:
        query = query.where(Case.created_at >= start)
    if end:
        query = query.where(Case.created_at < end)
    tallies: dict[str, _Tally] = {}
    at = now()
    with db.reading() as session:
        for case_id in list(session.scalars(query)):
            events = session.scalars(
                select(Event).where(Event.case_id == case_id).order_by(Event.seq)
            )
            figures = figures_of(events, at)
            for org_id in figures.orgs:
                if org is None or org_id == org:
                    tallies.setdefault(org_id, _Tally()).figures.append(figures)
    return [tallies[o].metrics(o, start, end) for o in sorted(tallies)]
