"""A deployment's own send-away wordings, named in its settings, are enforced by the engine."""

import json
from pathlib import Path

import pytest

from handoff import services
from handoff.config import Settings
from handoff.domain.errors import Refusal
from handoff.services import queries
from handoff.store.db import Database
from tests.integration.world import World, build_world


def test_a_deployments_own_wording_is_refused_in_customer_notes(
    db: Database, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"contact_verbs": ["pester"]}))
    deployment = Database(
        Settings(database_url=db.settings.database_url, send_away_rules=rules), engine=db.engine
    )
    world = build_world(deployment)
    dana = world.agent("dana")
    case = services.create_case(
        deployment,
        dana,
        customer={"name": "Carla"},
        subject="Hold on card",
        participants=["firstbank"],
    )
    with pytest.raises(Refusal) as refused:
        services.add_note(deployment, dana, case.id, "Please pester your bank.", "customer")
    assert refused.value.details["phrase"] == "Please pester your bank"
    note = services.add_note(
        deployment, dana, case.id, "We will pester your bank for you.", "customer"
    )
    assert note.version == case.version + 1  # the refusal changed nothing but the record
    types = [e.type for e in queries.case_events(deployment, world.auditor(), case.id)]
    assert types[-2:] == ["refused", "note_added"]


def test_the_built_in_wordings_still_apply_without_a_deployment_file(world: World) -> None:
    dana = world.agent("dana")
    case = services.create_case(world.db, dana, customer={"name": "Carla"}, subject="Hold")
    with pytest.raises(Refusal):
        services.add_note(
            world.db, dana, case.id, "You'll need to contact the card issuer.", "customer"
        )
