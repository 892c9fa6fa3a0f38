"""Loading the seed file (SPEC §11), on every database."""

import copy
from typing import Any

import pytest
from sqlalchemy import text

from handoff import services
from handoff.domain.errors import InvalidInput, Refusal
from handoff.domain.principals import Actor
from handoff.seed import parse_seed, seed
from handoff.services.authentication import hash_token
from handoff.store.db import Database
from tests.integration.world import World

SPEC_EXAMPLE: dict[str, Any] = {
    "orgs": [
        {
            "id": "acme",
            "name": "Acme Store",
            "kind": "merchant",
            "agents": [
                {"id": "dana", "name": "Dana Reyes", "role": "rep", "token": "tok-dana"},
                {"id": "sam", "name": "Sam Ortiz", "role": "supervisor", "token": "tok-sam"},
            ],
            "systems": [{"id": "acme-crm", "token": "tok-acme-crm"}],
        },
        {"id": "firstbank", "name": "First Bank", "kind": "bank", "agents": [], "systems": []},
    ],
    "admins": [{"id": "root", "token": "tok-root"}],
}
TOKENS = ("tok-dana", "tok-sam", "tok-acme-crm", "tok-root")
TABLES = ("orgs", "agents", "partner_systems", "credentials")


def example(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SPEC_EXAMPLE)
    data.update(changes)
    return data


def query(db: Database, sql: str) -> list[tuple[Any, ...]]:
    with db.reading() as session:
        return [tuple(row) for row in session.execute(text(sql))]


def rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a seed writes, to compare before and after."""
    return {table: query(db, f"SELECT * FROM {table} ORDER BY id") for table in TABLES}


def test_the_spec_example_seeds_its_orgs_agents_systems_and_admin(db: Database) -> None:
    assert seed(db, example()) == []

    assert services.authenticate(db, "tok-dana") == Actor(
        kind="agent", id="dana", org_id="acme", role="rep"
    )
    assert services.authenticate(db, "tok-sam") == Actor(
        kind="agent", id="sam", org_id="acme", role="supervisor"
    )
    assert services.authenticate(db, "tok-acme-crm") == Actor(
        kind="system", id="acme-crm", org_id="acme"
    )
    assert services.authenticate(db, "tok-root") == Actor(kind="admin", id="root")
    assert query(db, "SELECT id, name, kind FROM orgs ORDER BY id") == [
        ("acme", "Acme Store", "merchant"),
        ("firstbank", "First Bank", "bank"),
    ]
    assert len(rows(db)["credentials"]) == 4


def test_seeding_the_same_file_twice_changes_nothing(db: Database) -> None:
    seed(db, example())
    before = rows(db)

    assert seed(db, example()) == []

    assert rows(db) == before


def test_tokens_are_stored_only_as_their_sha256(db: Database) -> None:
    seed(db, example())

    stored = str(rows(db)["credentials"])
    for token in TOKENS:
        assert token not in stored
        assert hash_token(token) in stored


def test_a_left_out_token_is_generated_once_and_never_again(db: Database) -> None:
    data = example()
    del data["orgs"][0]["agents"][0]["token"]
    del data["admins"][0]["token"]

    issued = seed(db, data)

    assert sorted((t.principal_kind, t.principal_id) for t in issued) == [
        ("admin", "root"),
        ("agent", "dana"),
    ]
    assert all(t.token not in str(rows(db)["credentials"]) for t in issued)
    dana = next(t for t in issued if t.principal_id == "dana")
    assert services.authenticate(db, dana.token) == Actor(
        kind="agent", id="dana", org_id="acme", role="rep"
    )
    before = rows(db)
    assert seed(db, data) == []
    assert rows(db) == before


def test_a_left_out_token_leaves_a_credential_issued_earlier_alone(db: Database) -> None:
    seed(db, example())
    data = example()
    del data["orgs"][0]["agents"][0]["token"]

    assert seed(db, data) == []
    assert services.authenticate(db, "tok-dana") is not None


def test_a_changed_name_or_role_updates_the_row(db: Database) -> None:
    seed(db, example())
    data = example()
    data["orgs"][0]["name"] = "Acme Stores Ltd"
    data["orgs"][0]["agents"][0].update(name="Dana Reyes-Ortiz", role="supervisor")

    seed(db, data)

    dana = services.authenticate(db, "tok-dana")
    assert dana is not None
    assert dana.role == "supervisor"
    assert query(db, "SELECT name FROM orgs WHERE id = 'acme'") == [("Acme Stores Ltd",)]
    assert query(db, "SELECT name, role FROM agents WHERE id = 'dana'") == [
        ("Dana Reyes-Ortiz", "supervisor")
    ]
    assert len(rows(db)["credentials"]) == 4


def test_an_auditor_credential_is_limited_to_the_orgs_named(db: Database) -> None:
    data = example()
    auditor = {"id": "ada", "name": "Ada Quinn", "role": "auditor", "token": "tok-ada"}
    data["orgs"][0]["agents"].append({**auditor, "orgs": ["firstbank", "acme"]})

    seed(db, data)

    ada = services.authenticate(db, "tok-ada")
    assert ada is not None
    assert ada.orgs == frozenset({"acme", "firstbank"})


def test_an_agent_of_another_org_is_refused_and_nothing_is_written(db: Database) -> None:
    seed(db, example())
    before = rows(db)
    dana = {"id": "dana", "name": "Dana Reyes", "role": "rep"}
    data = {
        "orgs": [
            {"id": "zeta", "name": "Zeta", "kind": "other"},
            {"id": "firstbank", "name": "First Bank", "kind": "bank", "agents": [dana]},
        ]
    }

    with pytest.raises(InvalidInput) as refused:
        seed(db, data)

    assert (
        refused.value.message == "orgs[1].agents[0].id: agent dana belongs to acme, not firstbank"
    )
    assert rows(db) == before


def test_a_token_already_used_by_another_principal_is_refused(db: Database) -> None:
    seed(db, example())
    before = rows(db)
    system = {"id": "firstbank-disputes", "token": "tok-acme-crm"}
    data = {
        "orgs": [{"id": "firstbank", "name": "First Bank", "kind": "bank", "systems": [system]}]
    }

    with pytest.raises(InvalidInput) as refused:
        seed(db, data)

    assert refused.value.message == "orgs[0].systems[0].token: that token is already in use"
    assert rows(db) == before


def test_an_agent_who_owns_open_cases_cannot_be_made_an_auditor(world: World) -> None:
    case = services.create_case(world.db, world.agent("dana"), customer={"name": "C"}, subject="s")
    data = {
        "orgs": [
            {
                "id": "acme",
                "name": "Acme Store",
                "kind": "merchant",
                "agents": [{"id": "dana", "name": "Dana Reyes", "role": "auditor"}],
            }
        ]
    }

    with pytest.raises(Refusal) as refused:
        seed(world.db, data)

    assert refused.value.code == "owner_required"
    assert query(world.db, "SELECT role FROM agents WHERE id = 'dana'") == [("rep",)]
    assert case.owner.agent_id == "dana"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["orgs"][0]["agents"][1].update(role="boss"),
            "orgs[0].agents[1].role: must be one of rep, supervisor, auditor",
        ),
        (
            lambda d: d["orgs"][1].update(kind="shop"),
            "orgs[1].kind: must be one of merchant, bank, vendor, manufacturer, carrier, other",
        ),
        (lambda d: d["orgs"][0].pop("name"), "orgs[0].name: is required"),
        (lambda d: d["orgs"][0].update(agnets=[]), "orgs[0].agnets: is not a known field"),
        (lambda d: d["admins"][0].update(id=7), "admins[0].id: must be a string"),
        (lambda d: d.update(orgs={}), "orgs: must be a list"),
        (
            lambda d: d["orgs"][0]["agents"][1].update(token="tok-dana"),
            "orgs[0].agents[1].token: the same token is already given at orgs[0].agents[0].token",
        ),
        (
            lambda d: d["orgs"][0]["agents"][0].update(orgs=["acme"]),
            "orgs[0].agents[0].orgs: only an auditor's credential is limited to orgs",
        ),
    ],
)
def test_a_bad_field_is_named_by_its_path(change: Any, message: str) -> None:
    data = example()
    change(data)

    with pytest.raises(InvalidInput) as refused:
        parse_seed(data)

    assert refused.value.message == message
