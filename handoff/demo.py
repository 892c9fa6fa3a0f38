"""The spec's three stories as data, for trying handoff out (`handoff demo`).

Fixed tokens (tok-dana, tok-acme-crm, tok-root, tok-ada …) so the printed examples work as they
are. Loading twice changes nothing: if the demo's cases exist, the demo is already there.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select

from handoff import services
from handoff.domain.errors import Refusal
from handoff.domain.principals import Actor
from handoff.services.authentication import hash_token
from handoff.store.db import Database
from handoff.store.models import AgentRow, CaseRow, Credential, PartnerSystem

ROOT = Actor(kind="admin", id="root")
ORGS = {
    "acme": ("Acme Store", "merchant"),
    "firstbank": ("First Bank", "bank"),
    "vendo": ("Vendo Machines", "vendor"),
    "forge": ("Forge Manufacturing", "manufacturer"),
    "dealer": ("Second Chance Appliances", "merchant"),
    "thermo": ("ThermoCo", "manufacturer"),
}
AGENTS = {  # id: (org, name, role)
    "dana": ("acme", "Dana Reyes", "rep"),
    "sam": ("acme", "Sam Ortiz", "supervisor"),
    "ada": ("acme", "Ada Quinn", "auditor"),
    "ben": ("firstbank", "Ben Okafor", "rep"),
    "bea": ("firstbank", "Bea Lund", "supervisor"),
    "vic": ("vendo", "Vic Hale", "rep"),
    "vera": ("vendo", "Vera Stone", "supervisor"),
    "mia": ("forge", "Mia Chen", "rep"),
    "max": ("forge", "Max Brandt", "supervisor"),
    "dora": ("dealer", "Dora Fox", "rep"),
    "dirk": ("dealer", "Dirk Vos", "supervisor"),
    "tom": ("thermo", "Tom Reed", "rep"),
}
SYSTEMS = {"acme-crm": "acme", "firstbank-disputes": "firstbank", "vendo-phone": "vendo"}
# First Bank takes a handoff only with the customer proven present: joined from their own link.
VERIFIED = {"firstbank"}
STORIES = {  # story: subject (each case's state is read afresh whenever the demo is listed)
    "merchant and bank": "Order never arrived; pending charge still on my card",
    "vendor and manufacturer": "Vending machine arrived without its coin mechanism",
    "dealer and thermostat maker": "Second-hand thermostat shows error E4",
    "Acme's queue": "Refund for order 7781 not received",
    "Acme's queue, too": "Wrong size delivered; customer wants an exchange",
}
DEFAULT_URL = "http://127.0.0.1:8000"


def token_of(principal_id: str) -> str:
    return f"tok-{principal_id}"


def _rep_of(org_id: str) -> str:
    """The token of the org's first rep in the demo."""
    reps = (a for a, (o, _n, role) in AGENTS.items() if o == org_id and role == "rep")
    return token_of(next(reps, "dana"))


@dataclass(frozen=True)
class DemoToken:
    token: str
    kind: str  # agent, system or admin
    principal_id: str
    org_id: str | None
    role: str | None


@dataclass(frozen=True)
class DemoCase:
    story: str
    id: str
    reference: str
    state: str
    customer_link: str  # the customer's status page: /c/...
    owner_org: str
    owner_agent: str | None

    def next_step(self) -> str:
        """What one can do with the case as it is now."""
        if self.state == "unclaimed":
            org = ORGS.get(self.owner_org, (self.owner_org,))[0]
            return f"in {org}'s queue: claim it as {_rep_of(self.owner_org)}"
        if self.state == "closed":
            return "done: read its history and check its chain as the auditor (tok-ada)"
        owner = f"{token_of(self.owner_agent)}'s" if self.owner_agent else "its owner's"
        return {
            "handoff_pending": "a handoff waits for its receiver to accept it in the joint session",
            "awaiting_customer": "waits for the customer's answer, given on the status page",
            "resolution_proposed": "its customer confirms or rejects it on the status page",
        }.get(self.state, f"open: {owner} to work on")


@dataclass(frozen=True)
class DemoInfo:
    created: bool  # False: the demo was already loaded
    tokens: list[DemoToken]
    cases: list[DemoCase]

    def case(self, story_start: str) -> DemoCase:
        return next(c for c in self.cases if c.story.startswith(story_start))

    def curl_examples(self, base_url: str = DEFAULT_URL) -> list[str]:
        """Commands that work on the cases as they are now: a claim only while one is unclaimed."""
        auth, json = '-H "Authorization: Bearer {}"', '-H "Content-Type: application/json"'
        vendor, merchant = self.case("vendor"), self.case("merchant")
        queued = [c for c in self.cases if c.state == "unclaimed"]
        if queued:
            rep = _rep_of(queued[0].owner_org)
            mine = (
                f"curl -X POST {auth.format(rep)} {json} -d '{{}}' "
                f"{base_url}/v1/cases/{queued[0].id}/claim"
            )
        else:  # every case was claimed already: the cases Dana owns instead
            mine = f'curl {auth.format("tok-dana")} "{base_url}/v1/cases?mine=true"'
        return [
            f'curl {auth.format("tok-dana")} "{base_url}/v1/cases?unclaimed=true"',
            mine,
            f"curl {auth.format('tok-mia')} {base_url}/v1/cases/{vendor.id}",
            f"curl {auth.format('tok-ada')} {base_url}/v1/cases/{merchant.id}/events/verify",
            f'curl {auth.format("tok-ada")} "{base_url}/v1/audit/events?format=ndjson"',
        ]

    def lines(self, base_url: str = DEFAULT_URL) -> list[str]:
        """What `handoff demo` prints: each case as it stands now, links on `base_url`."""
        base_url = base_url.rstrip("/")
        found = "Loaded the demo." if self.created else "The demo was already loaded."
        out = [found, "", "Tokens:"]
        for t in self.tokens:
            org = f" of {t.org_id}" if t.org_id else ""
            out.append(f"  {t.token:24} {t.principal_id} ({t.role or t.kind}{org})")
        out += ["", "Cases as they are now (each customer's status page, and what to try):"]
        for c in self.cases:
            out += [
                f"  {c.reference}  {c.state:20} {c.story}: {STORIES[c.story]}",
                f"             {base_url}{c.customer_link}",
                f"             {c.next_step()}",
            ]
        out += [
            "",
            "First Bank accepts a handoff only with the customer present from their own link",
            "(customer_presence: verified): open the case's status page, and Join there.",
        ]
        out += [
            "",
            f"Web UI: {base_url}/ui/sign-in (paste a token: tok-dana for a rep, tok-ada for the",
            "auditor). API docs: " + f"{base_url}/docs",
        ]
        return [*out, "", "Try:", *(f"  {line}" for line in self.curl_examples(base_url))]


TOKENS = [
    *(DemoToken(token_of(a), "agent", a, org, role) for a, (org, _n, role) in AGENTS.items()),
    *(DemoToken(token_of(s), "system", s, org, None) for s, org in SYSTEMS.items()),
    DemoToken(token_of("root"), "admin", "root", None, None),
]


def load_demo(db: Database) -> DemoInfo:
    """The demo's orgs, people and stories, once: a second run only lists them again."""
    created = not _demo_cases(db)
    if created:
        clash = _clash(db)
        if clash is not None:
            raise Refusal(
                "already_exists",
                f"this database is not one the demo fits: {clash}; load the demo into an empty "
                "database (or one seeded with SPEC §11's example)",
            )
        _set_up_people(db)
        _tell_the_stories(db)
    return DemoInfo(created=created, tokens=TOKENS, cases=_demo_cases(db))


def _clash(db: Database) -> str | None:
    """What already here differs from the demo's people, systems or tokens (None: nothing), so
    the stories never run as somebody else."""
    with db.reading() as session:
        for agent_id, (org_id, _name, role) in AGENTS.items():
            agent = session.get(AgentRow, agent_id)
            wanted = (org_id, role, True)
            if agent is not None and (agent.org_id, agent.role, agent.active) != wanted:
                return f"agent {agent_id} is not an active {role} of {org_id}"
        for system_id, org_id in SYSTEMS.items():
            system = session.get(PartnerSystem, system_id)
            if system is not None and system.org_id != org_id:
                return f"partner system {system_id} is not {org_id}'s"
        for t in TOKENS:
            holder = session.execute(
                select(Credential.principal_kind, Credential.principal_id).where(
                    Credential.token_hash == hash_token(t.token)
                )
            ).first()
            if holder is not None and tuple(holder) != (t.kind, t.principal_id):
                return f"{t.token} belongs to someone other than {t.principal_id}"
    return None


def _set_up_people(db: Database) -> None:
    """Whichever of the demo's orgs, people, systems and tokens are not there yet (a seed file,
    SPEC §11's example for one, may have made some of them already)."""
    steps: list[Callable[[], object]] = [
        *(
            partial(
                services.create_org,
                db,
                ROOT,
                o,
                name,
                kind,
                customer_presence="verified" if o in VERIFIED else None,
            )
            for o, (name, kind) in ORGS.items()
        ),
        *(
            partial(services.create_agent, db, ROOT, org_id, agent_id, name, role)
            for agent_id, (org_id, name, role) in AGENTS.items()
        ),
        *(partial(services.create_system, db, ROOT, o, s, s) for s, o in SYSTEMS.items()),
        *(
            partial(services.issue_credential, db, ROOT, t.kind, t.principal_id, t.token)
            for t in TOKENS
        ),
    ]
    for step in steps:
        try:
            step()
        except Refusal as refusal:
            if refusal.code != "already_exists":
                raise


def _as(db: Database, principal_id: str) -> Actor:
    actor = services.authenticate(db, token_of(principal_id))
    assert actor is not None, principal_id
    return actor


def _tell_the_stories(db: Database) -> None:
    subjects = list(STORIES.values())
    crm, dana, ben = _as(db, "acme-crm"), _as(db, "dana"), _as(db, "ben")
    case = services.create_case(
        db,
        crm,
        customer={"name": "Carla Diaz", "email": "carla@example.com"},
        subject=subjects[0],
        description="Order 5521 was cancelled by the shop, but the card still shows a hold.",
        participants=["firstbank"],
    )
    services.claim(db, dana, case.id)
    request = services.create_request(
        db, dana, case.id, "firstbank", "Release the authorization hold for order 5521"
    )
    services.acknowledge_request(db, ben, case.id, request.id)
    services.complete_request(db, ben, case.id, request.id, note="Authorization released.")
    summary = "We asked First Bank to release the hold; it is released."
    services.propose_resolution(db, dana, case.id, "credited", summary)
    services.confirm_resolution(db, dana, case.id)

    vic, mia = _as(db, "vic"), _as(db, "mia")
    case = services.create_case(
        db,
        vic,
        customer={"name": "Omar Haddad", "phone": "+1 555 0100"},
        subject=subjects[1],
        description="Machine VM-200, delivered last week; the coin mechanism is missing.",
        participants=["forge"],
    )
    summary = "VM-200 shipped without its coin mechanism; Forge makes and ships the part."
    handoff = services.propose_handoff(db, vic, case.id, "forge", summary)
    session = services.start_session(db, vic, case.id, handoff.id)
    services.join_session(db, vic, case.id, session.id, "owner", "vic")
    services.join_session(db, mia, case.id, session.id, "receiver", "mia")
    services.join_session(db, vic, case.id, session.id, "customer")

    dora = _as(db, "dora")
    case = services.create_case(
        db,
        dora,
        customer={"name": "Lena Park"},
        subject=subjects[2],
        description="Bought refurbished last month; the display shows E4 after a day.",
        participants=["thermo"],
    )
    services.await_customer(db, dora, case.id, "a photo of the label on the back of the unit")

    for subject in subjects[3:]:
        services.create_case(db, crm, customer={"name": "Ravi Shah"}, subject=subject)


def _demo_cases(db: Database) -> list[DemoCase]:
    with db.reading() as session:
        cases = session.scalars(
            select(CaseRow).where(CaseRow.subject.in_(STORIES.values())).order_by(CaseRow.number)
        ).all()
        by_subject = {c.subject: c for c in cases}
    found = []
    for story, subject in STORIES.items():
        case = by_subject.get(subject)
        if case is not None:
            link = f"/c/{case.customer_link}"
            found.append(
                DemoCase(
                    story,
                    case.id,
                    case.reference,
                    case.state,
                    link,
                    case.owner_org_id,
                    case.owner_agent_id,
                )
            )
    return found
