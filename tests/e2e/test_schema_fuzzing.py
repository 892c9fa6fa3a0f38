"""Schemathesis drives every operation with generated input, valid and invalid, and the token of
every role, under every check it has: no answer is a 5xx; every answer matches the status codes,
media types, headers and schemas the API documents; what the schema allows is accepted and what
it forbids is refused; an operation refuses a request without its token; what was deleted is gone.
"""

import collections
import itertools
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from sqlalchemy import delete

from api.app import create_app
from handoff.config import Settings
from handoff.store.db import Database
from handoff.store.models import TokenFailures
from tests.e2e.conftest import auth, issue_tokens
from tests.integration.world import build_world

# The schema is read once, from an app whose database each test then gives it (SQLite only).
APP = create_app(Database(Settings(database_url="sqlite://")))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# Input the schema allows may still be refused for what it refers to, which no schema can state:
# an If-Match of another version (412), an org, agent or cursor that does not exist (422, by the
# engine). `refused_only_for_what_it_refers_to` keeps 422 from hiding a refusal of the input's
# shape.
schema.config.checks.positive_data_acceptance.expected_statuses = [
    *schema.config.checks.positive_data_acceptance.expected_statuses,
    "412",
    "422",
]


def refused_only_for_what_it_refers_to(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A request the schema allows is never refused by the server's own reading of its shape
    (every such refusal lists `errors` only): a 422 for it is the engine's, naming the one
    `field` whose referent is missing or out of place. (Cases of the coverage phase are left
    out: it fills optional headers with values outside their pattern and calls them valid.)"""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or meta.phase.name == "coverage":
        return None
    if response.status_code == 422:
        problem = response.json()
        assert "field" in problem, f"schema-valid input refused as malformed: {problem['detail']}"
    return None


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
turns: dict[str, Iterator[int]] = collections.defaultdict(itertools.count)


def caller(path: str) -> str:
    """Each operation's own turn: the same roles meet the same examples in every run."""
    turn = next(turns[path]) % (len(ROLES) + 1)
    if turn < len(ROLES):
        return ROLES[turn]
    if path.startswith(("/v1/orgs", "/v1/credentials")):
        return "root"
    if path.startswith("/v1/audit"):
        return "ada"
    return "sam"


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,  # the same examples in every run: CI fails for a change, never by chance
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_a_server_error_or_an_answer_outside_the_schema(
    case: schemathesis.Case, real_ids: dict[str, str]
) -> None:
    headers = auth(caller(case.operation.path))
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if negative and not any(name.lower() == "authorization" for name in case.headers or {}):
        headers = {}  # what the negative case leaves out is the token itself
    if case.meta is not None and case.meta.generation.mode.is_positive:
        # Half the time, aim at things that exist, so the engine's own answers get exercised too.
        for name, real in real_ids.items():
            generated = (case.path_parameters or {}).get(name)
            if isinstance(generated, str) and len(generated) % 2 == 0:
                case.path_parameters[name] = real
        if case.method == "POST":  # a key once used answers with its first answer
            headers["Idempotency-Key"] = str(uuid.uuid4())
    # The fuzzer sends bad tokens on purpose, far more than 20 a minute: each call starts with a
    # clean count (what guessing earns is tested in test_token_guessing.py).
    with APP.state.db.session() as session:
        session.execute(delete(TokenFailures))
        session.commit()
    case.call_and_validate(headers=headers, additional_checks=[refused_only_for_what_it_refers_to])
