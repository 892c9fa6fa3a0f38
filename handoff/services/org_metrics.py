"""Metrics per org and period (SPEC §6), computed from the cases' histories.

A case counts for every org that took part in it, in the period it was created in: owner changes,
bounces, reopens and time to resolution are the case's. What one org did is counted for that org
alone: a refused send-away attempt for the org of whoever tried, time to claim for the org the case
arrived at, time without a named owner for the org that owned the case meanwhile. Durations are in
seconds; a case still waiting counts up to the moment of asking.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists

from handoff.domain.events import Recorded
from handoff.domain.principals import Actor
from handoff.history.fold import CaseState, seconds, step
from handoff.services.audit import case_histories, require_auditor
from handoff.services.visibility import visible_cases
from handoff.store.db import Database
from handoff.store.models import CaseRow, Event, ParticipantRow
from handoff.store.models import utcnow as now


@dataclass(frozen=True)
class Durations:
    cases: int
    mean_seconds: float | None
    max_seconds: float | None


@dataclass
class RunningDurations:
    """Count, total and longest so far: a mean and a maximum without keeping every value."""

    cases: int = 0
    total: float = 0.0
    longest: float = 0.0

    def add(self, seconds: float) -> None:
        self.cases += 1
        self.total += seconds
        self.longest = max(self.longest, seconds)

    def durations(self) -> Durations:
        if not self.cases:
            return Durations(0, None, None)
        return Durations(self.cases, round(self.total / self.cases, 3), round(self.longest, 3))


@dataclass(frozen=True)
class CaseFigures:
    """One case's figures, from its history."""

    orgs: list[str]  # every org that took part
    agent_changes: int  # the named owner changed from one person to another
    org_changes: int  # accepted handoffs
    bounces: int  # an org became owner again after handing the case off
    reopens: int
    refused: Counter[tuple[str, str]]  # (org of whoever tried, code)
    claimed: tuple[str, float] | None  # (org it arrived at, seconds); None: it came claimed
    without_owner: dict[str, float]  # seconds without a named owner, by the org owning it then
    time_to_resolution: float | None  # until it was first closed


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


def figures_of(events: Iterable[Event], until: datetime) -> CaseFigures | None:
    """None when there is nothing to count: no history that starts with `case_created`."""
    case: CaseState | None = None
    for event in events:
        case = step(case, Recorded.of(event))
        if case is None:
            return None
    if case is None:
        return None
    without_owner: defaultdict[str, float] = defaultdict(float)
    for org, spell in case.without_owner:
        without_owner[org] += spell
    if case.ownerless_since is not None:
        without_owner[case.owner_org] += seconds(case.ownerless_since, until)
    resolved = case.first_closed_at
    return CaseFigures(
        orgs=list(case.participants),
        agent_changes=case.agent_changes,
        org_changes=len(case.owner_orgs) - 1,
        bounces=case.bounces,
        reopens=case.reopens,
        refused=Counter(case.refusals),
        claimed=case.claimed_after,
        without_owner=dict(without_owner),
        time_to_resolution=seconds(case.created_at, resolved) if resolved else None,
    )


@dataclass
class Tally:
    """One org's running sums over the cases it took part in."""

    org_id: str
    cases: int = 0
    agent_changes: int = 0
    org_changes: int = 0
    bounces: int = 0
    cases_bounced: int = 0
    reopens: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    to_claim: RunningDurations = field(default_factory=RunningDurations)
    without_owner: RunningDurations = field(default_factory=RunningDurations)
    to_resolution: RunningDurations = field(default_factory=RunningDurations)

    def add(self, f: CaseFigures) -> None:
        self.cases += 1
        self.agent_changes += f.agent_changes
        self.org_changes += f.org_changes
        self.bounces += f.bounces
        self.cases_bounced += f.bounces > 0
        self.reopens += f.reopens
        self.refused.update({code: n for (org, code), n in f.refused.items() if org == self.org_id})
        if f.claimed is not None and f.claimed[0] == self.org_id:
            self.to_claim.add(f.claimed[1])
        if self.org_id in f.without_owner:
            self.without_owner.add(f.without_owner[self.org_id])
        if f.time_to_resolution is not None:
            self.to_resolution.add(f.time_to_resolution)

    def metrics(self, start: datetime | None, end: datetime | None) -> OrgMetrics:
        return OrgMetrics(
            org_id=self.org_id,
            cases=self.cases,
            owner_changes_people=self.agent_changes,
            owner_changes_orgs=self.org_changes,
            bounces=self.bounces,
            cases_bounced=self.cases_bounced,
            reopens=self.reopens,
            send_away_refused=dict(sorted(self.refused.items())),
            time_to_claim=self.to_claim.durations(),
            time_without_owner=self.without_owner.durations(),
            time_to_resolution=self.to_resolution.durations(),
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
    """One line per org (or just `org`) over the cases created in [start, end) the auditor sees.

    Histories are read a batch of cases at a time and only running sums are kept, so memory
    does not grow with the number of cases.
    """
    require_auditor(actor)
    cases = visible_cases(actor).with_only_columns(CaseRow.id)
    if start:
        cases = cases.where(CaseRow.created_at >= start)
    if end:
        cases = cases.where(CaseRow.created_at < end)
    if org:
        cases = cases.where(
            exists().where(ParticipantRow.case_id == CaseRow.id, ParticipantRow.org_id == org)
        )
    tallies: dict[str, Tally] = {}
    at = now()
    for _head, events in case_histories(db, cases):
        figures = figures_of(events, at)
        if figures is None:
            continue
        for org_id in figures.orgs:
            if org is None or org_id == org:
                tallies.setdefault(org_id, Tally(org_id)).add(figures)
    return [tallies[o].metrics(start, end) for o in sorted(tallies)]
