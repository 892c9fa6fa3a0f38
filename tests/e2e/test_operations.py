"""Liveness, readiness and Prometheus metrics; the OpenAPI document and the docs page."""

import gc

from fastapi.testclient import TestClient

from api.app import create_app
from handoff.config import Settings
from handoff.store.db import Database
from tests.e2e.conftest import auth
from tests.integration.world import World


def test_the_process_is_live_and_ready_while_the_database_answers(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_not_ready_without_a_database() -> None:
    db = Database(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    with TestClient(create_app(db)) as client:
        assert client.get("/healthz").status_code == 200
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "database_unreachable"


def test_metrics_count_requests_by_route_template_and_refusals_by_code(
    client: TestClient,
) -> None:
    case = client.post(
        "/v1/cases", json={"customer": {"name": "A"}, "subject": "S"}, headers=auth("dana")
    ).json()
    client.post(f"/v1/cases/{case['id']}/claim", json={}, headers=auth("dana"))
    client.get("/v1/cases/" + "0" * 32, headers=auth("dana"))
    text = client.get("/metrics", headers=auth("root")).text
    assert 'handoff_http_requests_total{method="POST",route="/v1/cases",status="201"} 1.0' in text
    assert (
        'handoff_http_requests_total{method="GET",route="/v1/cases/{case_id}",status="404"} 1.0'
        in text
    )
    assert 'handoff_refusals_total{code="invalid_transition"} 1.0' in text
    assert "handoff_http_request_duration_seconds_bucket" in text
    assert case["id"] not in text


def test_every_endpoint_of_the_spec_is_described_and_browsable(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    # SPEC §8's operations, three more to look after webhooks (docs/differences-from-spec.md),
    # §12's two streams, its session messages, files given for a case and downloaded, and §14's
    # list of a case's requests.
    assert len([op for ops in paths.values() for op in ops]) == 52
    assert "get" in paths["/v1/cases/{case_id}/requests"]
    assert "get" in paths["/v1/cases/{case_id}/stream"]
    assert "get" in paths["/v1/stream"]
    assert "post" in paths["/v1/cases/{case_id}/sessions/{session_id}/messages"]
    assert "post" in paths["/v1/cases/{case_id}/attachments"]
    assert "get" in paths["/v1/cases/{case_id}/attachments/{attachment_id}"]
    assert "get" in paths["/v1/webhooks"]
    assert "post" in paths["/v1/webhooks/{webhook_id}/deactivate"]
    assert "post" in paths["/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"]
    claim = paths["/v1/cases/{case_id}/claim"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in claim["parameters"]]
    assert "application/problem+json" in claim["responses"]["409"]["content"]
    assert "application/problem+json" in claim["responses"]["503"]["content"]
    assert client.get("/docs").status_code == 200


def test_a_server_process_puts_what_start_up_built_out_of_the_collectors_sight(
    world: World,
) -> None:
    gc.unfreeze()
    try:
        with TestClient(create_app(world.db, serving=True)) as served:
            assert served.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_an_app_built_for_tests_leaves_the_collector_alone(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0
