"""Names of orgs and people, for pages that speak to humans rather than in ids."""

from dataclasses import dataclass

from sqlalchemy import select

from handoff.domain.principals import WORKING_ROLES
from handoff.store.db import Database
from handoff.store.models import AgentRow, Org


@dataclass(frozen=True)
class Person:
    id: str
    org_id: str
    name: str
    role: str
    active: bool


@dataclass(frozen=True)
class Directory:
    orgs: dict[str, str]
    people: dict[str, Person]

    def org_name(self, org_id: str | None) -> str:
        return self.orgs.get(org_id or "", org_id or "an unknown org")

    def person_name(self, agent_id: str | None) -> str:
        person = self.people.get(agent_id or "")
        return person.name if person else (agent_id or "nobody")

    def can_own_cases(self, org_id: str) -> list[Person]:
        """The org's active reps and supervisors, by name: the people a case may be given to."""
        return sorted(
            (
                p
                for p in self.people.values()
                if p.org_id == org_id and p.active and p.role in WORKING_ROLES
            ),
            key=lambda p: (p.name, p.id),
        )


def load_directory(db: Database) -> Directory:
    with db.reading() as session:
        orgs = {o.id: o.name for o in session.scalars(select(Org))}
        people = {
            a.id: Person(a.id, a.org_id, a.name, a.role, a.active)
            for a in session.scalars(select(AgentRow))
        }
    return Directory(orgs, people)
