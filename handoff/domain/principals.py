"""Who is acting: an agent, a partner system, the customer, a timer or an admin."""

from dataclasses import dataclass, field
from typing import Literal

from handoff.domain.vocabulary import WORKING_ROLES as WORKING_ROLES

ActorKind = Literal["agent", "system", "customer", "timer", "admin"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str
    org_id: str | None = None
    role: str | None = None
    # An auditor's scope: None is every case, otherwise only cases these orgs take part in.
    orgs: frozenset[str] | None = None
    # The one case a customer (status-page link) may act on.
    case_id: str | None = None
    # The credential the actor signed in with (not part of who the actor is).
    credential_id: str | None = field(default=None, compare=False)

    @property
    def works_cases(self) -> bool:
        """A rep or supervisor: a person who may own and work cases."""
        return self.kind == "agent" and self.role in WORKING_ROLES

    @property
    def is_supervisor(self) -> bool:
        return self.kind == "agent" and self.role == "supervisor"

    @property
    def is_auditor(self) -> bool:
        return self.kind == "agent" and self.role == "auditor"

    def speaks_for(self, org_id: str | None) -> bool:
        """A working agent or the partner system of that org."""
        return (
            org_id is not None
            and self.org_id == org_id
            and (self.works_cases or self.kind == "system")
        )


def customer_of(case_id: str) -> Actor:
    return Actor(kind="customer", id="customer", case_id=case_id)


def timer(name: str) -> Actor:
    return Actor(kind="timer", id=name)
