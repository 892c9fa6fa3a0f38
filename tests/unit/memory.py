"""An in-memory store that answers the use cases as the database does (handoff.services.ports),
so the services run in unit tests without SQL: each command works on copies and commits them."""

import copy
import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from handoff.config import Settings
from handoff.domain.case import Agent, Case, Request
from handoff.domain.send_away import PhraseRules, default_rules
from handoff.store.models import Event


@dataclass
class Held:
    case: Case
    windows: dict[str, Any] | None = None

    def request(self, request_id: str) -> Request | None:
        return next((r for r in self.case.requests if r.id == request_id), None)


@dataclass
class MemoryStore:
    agents: dict[str, Agent] = field(default_factory=dict)
    orgs: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # id: window overrides
    presence: dict[str, str] = field(default_factory=dict)  # id: customer_presence
    cases: dict[str, Case] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    settings: Settings = field(default_factory=lambda: Settings(database_url="sqlite://"))
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    commits: int = 0

    @property
    def rules(self) -> PhraseRules:
        return default_rules()

    @contextmanager
    def work(self, within: Any = None) -> Iterator["MemoryWork"]:
        yield MemoryWork(self)

    def history(self, case_id: str) -> list[str]:
        return [e.type for e in self.events if e.case_id == case_id]


class MemoryWork:
    """One command's transaction: nothing reaches the store until `commit`."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.cases: dict[str, Case] = {}
        self.events: list[Event] = []

    def hold_agents(self, agent_ids: Sequence[str | None]) -> None:
        pass  # one writer at a time: nothing to hold

    def agent(self, agent_id: str) -> Agent | None:
        return copy.deepcopy(self.store.agents.get(agent_id))

    def fallback_owner(self, org_id: str, excluding: str | None = None) -> Agent | None:
        for role in ("supervisor", "rep"):
            found = sorted(
                (a for a in self.store.agents.values() if a.org_id == org_id and a.role == role),
                key=lambda a: (a.name, a.id),
            )
            found = [a for a in found if a.active and a.id != excluding]
            if found:
                return copy.deepcopy(found[0])
        return None

    def org_exists(self, org_id: str) -> bool:
        return org_id in self.store.orgs

    def org_windows(self, org_id: str) -> dict[str, Any] | None:
        return self.store.orgs.get(org_id)

    def next_case_number(self) -> int:
        return next(self.store.numbers)

    def lock_case(self, case_id: str) -> Held | None:
        case = self.store.cases.get(case_id)
        if case is None:
            return None
        held = Held(copy.deepcopy(case), self.store.orgs.get(case.owner_org_id))
        for handoff in held.case.handoffs:  # as the case store reads them: with the org's setting
            handoff.to_org_presence = self.store.presence.get(handoff.to_org_id)
        return held

    def new_case(self, case: Case) -> Held:
        return Held(case)

    def save(self, loaded: Held, events: Iterable[Event]) -> None:
        self.cases[loaded.case.id] = copy.deepcopy(loaded.case)
        self.events.extend(events)

    def commit(self) -> None:
        self.store.cases.update(self.cases)
        self.store.events.extend(self.events)
        self.store.commits += 1
        self.cases, self.events = {}, []

    def start_over(self) -> None:
        self.cases, self.events = {}, []
