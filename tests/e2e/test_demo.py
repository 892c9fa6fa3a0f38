"""The demo data: the three stories, loadable twice, usable with its printed tokens over HTTP."""

from fastapi.testclient import TestClient

from api.app import create_app
from handoff.demo import load_demo
from handoff.store.db import Database


def test_the_demo_loads_the_stories_once_and_its_tokens_work(db: Database) -> None:
    info = load_demo(db)
    assert info.created
    assert [c.state for c in info.cases] == [
        "closed",
        "handoff_pending",
        "awaiting_customer",
        "unclaimed",
        "unclaimed",
    ]
    again = load_demo(db)
    assert not again.created
    assert again.cases == info.cases
    assert any("tok-dana" in line for line in info.lines())

    with TestClient(create_app(db)) as client:
        queue = client.get("/v1/cases?unclaimed=true", headers={"Authorization": "Bearer tok-dana"})
        assert len(queue.json()["items"]) == 2
        mid = client.get(
            f"/v1/cases/{info.case('vendor').id}", headers={"Authorization": "Bearer tok-mia"}
        ).json()
        present = {p["party"] for p in mid["session"]["present"]}
        assert present == {"owner", "receiver", "customer"}
        assert "accept_handoff" in mid["allowed_actions"]
        accepted = client.post(
            f"/v1/cases/{mid['id']}/handoffs/{mid['handoff']['id']}/accept",
            json={},
            headers={"Authorization": "Bearer tok-mia"},
        )
        assert accepted.json()["owner"] == {"org_id": "forge", "agent_id": "mia"}
