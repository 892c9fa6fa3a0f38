"""`/metrics` is for an admin or an auditor, unless HANDOFF_METRICS_PUBLIC=1 (SPEC §14)."""

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from handoff.config import Settings
from handoff.store.db import Database
from tests.e2e.conftest import auth, issue_tokens
from tests.integration.world import build_world


def test_without_a_token_the_metrics_answer_401(client: TestClient) -> None:
    answer = client.get("/metrics")

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "handoff_http_requests_total" not in answer.text


@pytest.mark.parametrize("who", ["dana", "sam", "acme-crm"])
def test_a_rep_a_supervisor_or_a_partner_system_is_refused_the_metrics(
    client: TestClient, who: str
) -> None:
    answer = client.get("/metrics", headers=auth(who))

    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


@pytest.mark.parametrize("who", ["root", "ada"])
def test_an_admin_or_an_auditor_reads_the_metrics(client: TestClient, who: str) -> None:
    answer = client.get("/metrics", headers=auth(who))

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "handoff_http_requests_total" in answer.text


def test_handoff_metrics_public_opens_the_metrics_to_anyone(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANDOFF_METRICS_PUBLIC", "1")
    db = Database(Settings(database_url=db_url))
    build_world(db)
    issue_tokens(db)
    with TestClient(create_app(db)) as anyone:
        assert anyone.get("/metrics").status_code == 200
        assert anyone.get("/metrics", headers=auth("dana")).status_code == 200
    db.dispose()


def test_the_openapi_document_says_who_may_read_the_metrics(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/metrics"]["get"]

    assert {"401", "403"} <= set(operation["responses"])
    assert operation["security"] == [{"HTTPBearer": []}]
