"""Schemathesis drives every operation with generated input, valid and invalid, and the token of
every role: no answer is a 5xx, and every answer matches the status codes, media types and
schemas the API documents."""

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from handoff.config import Settings
from handoff.store.db import Database
from tests.e2e.conftest import auth, issue_tokens
from tests.integration.world import build_world

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The schema is read once, from an app whose database each test then gives it (SQLite only).
APP = create_app(Database(Settings(database_url="sqlite://")))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture
def real_ids(sqlite_template: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh database for APP, with a case in every interesting part of its life."""
    path = tmp_path / "handoff.db"
    shutil.copy(sqlite_template, path)
    db = Database(Settings(database_url=f"sqlite:///{path}"))
    build_world(db)
    issue_tokens(db)
    APP.state.db = db
    client = TestClient(APP)

    def post(url: str, body: object) -> str:
        answer = client.post(url, json=body, headers=auth("sam"))
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    new = {"customer": {"name": "C"}, "subject": "S", "participants": ["firstbank"]}
    case = post("/v1/cases", new)
    at = f"/v1/cases/{case}"
    handoff = post(f"{at}/handoffs", {"to_org": "firstbank", "summary": "S"})
    yield {
        "case_id": case,
        "request_id": post(f"{at}/requests", {"to_org": "firstbank", "action": "A"}),
        "handoff_id": handoff,
        "session_id": post(f"{at}/sessions", {"handoff_id": handoff}),
        "webhook_id": post("/v1/webhooks", {"url": "https://acme.example/h"}),
        "org_id": "acme",
        "agent_id": "dave",
    }
    db.dispose()


# A valid token of every kind of principal: rep, supervisor, auditor, partner system, admin, and
# a rep of another org. Each operation's examples take turns among them, after one from whoever
# the operation is for, so each role meets each operation.
ROLES = ("dana", "sam", "ada", "acme-crm", "root", "ben")
turns = itertools.count()


def caller(path: str) -> str:
    turn = next(turns) % (len(ROLES) + 1)
    if turn < len(ROLES):
        return ROLES[turn]
    if path.startswith(("/v1/orgs", "/v1/credentials")):
        return "root"
    if path.startswith("/v1/audit"):
        return "ada"
    return "sam"


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_a_server_error_or_an_answer_outside_the_schema(
    case: schemathesis.Case, real_ids: dict[str, str]
) -> None:
    # Half the time, aim at things that exist, so the engine's own answers get exercised too.
    for name, real in real_ids.items():
        generated = (case.path_parameters or {}).get(name)
        if isinstance(generated, str) and len(generated) % 2 == 0:
            case.path_parameters[name] = real
    case.call_and_validate(headers=auth(caller(case.operation.path)), checks=CHECKS)
