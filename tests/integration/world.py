"""The orgs and people of the three stories, and a few shortcuts for tests."""

from dataclasses import dataclass

from handoff import commands
from handoff.db import Database
from handoff.principals import Actor

ADMIN = Actor(kind="admin", id="root")

ORGS = {
    "acme": ("Acme Store", "merchant"),
    "firstbank": ("First Bank", "bank"),
    "vendo": ("Vendo Machines", "vendor"),
    "forge": ("Forge Manufacturing", "manufacturer"),
    "dealer": ("Second Chance Appliances", "merchant"),
    "thermo": ("ThermoCo", "manufacturer"),
}
AGENTS = {
    # id: (org, name, role)
    "dana": ("acme", "Dana Reyes", "rep"),
    "dave": ("acme", "Dave Kim", "rep"),
    "sam": ("acme", "Sam Ortiz", "supervisor"),
    "ben": ("firstbank", "Ben Okafor", "rep"),
    "bea": ("firstbank", "Bea Lund", "supervisor"),
    "vic": ("vendo", "Vic Hale", "rep"),
    "vera": ("vendo", "Vera Stone", "supervisor"),
    "mia": ("forge", "Mia Chen", "rep"),
    "max": ("forge", "Max Brandt", "supervisor"),
    "dora": ("dealer", "Dora Fox", "rep"),
    "tom": ("thermo", "Tom Reed", "rep"),
    "ada": ("acme", "Ada Quinn", "auditor"),
}
SYSTEMS = {"acme-crm": "acme", "firstbank-disputes": "firstbank", "vendo-phone": "vendo"}


@dataclass(frozen=True)
class World:
    db: Database

    def agent(self, agent_id: str) -> Actor:
        org, _name, role = AGENTS[agent_id]
        return Actor(kind="agent", id=agent_id, org_id=org, role=role)

    def system(self, system_id: str) -> Actor:
        return Actor(kind="system", id=system_id, org_id=SYSTEMS[system_id])

    def auditor(self, orgs: frozenset[str] | None = None) -> Actor:
        return Actor(kind="agent", id="ada", org_id="acme", role="auditor", orgs=orgs)


def build_world(db: Database) -> World:
    for org_id, (name, kind) in ORGS.items():
        commands.create_org(db, ADMIN, org_id, name, kind)
    for agent_id, (org_id, name, role) in AGENTS.items():
        commands.create_agent(db, ADMIN, org_id, agent_id, name, role)
    for system_id, org_id in SYSTEMS.items():
        commands.create_system(db, ADMIN, org_id, system_id, system_id)
    return World(db)
