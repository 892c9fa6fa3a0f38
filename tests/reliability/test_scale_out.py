"""Two API processes on different ports over one PostgreSQL act as one deployment: a claim race
split across them still has exactly one winner."""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from handoff import services
from handoff.config import Settings
from handoff.history.check import check
from handoff.store.db import Database
from tests.integration.world import ADMIN
from tests.reliability.conftest import scaled
from tests.reliability.servers import Api, bearer, populated

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
RACERS = 20
ROUNDS = scaled(3, 20)


def racers(db: Database) -> list[str]:
    """Acme reps, each with a token of their own."""
    ids = [f"racer{n:02d}" for n in range(RACERS)]
    for agent_id in ids:
        services.create_agent(db, ADMIN, "acme", agent_id, agent_id.title(), "rep")
        services.issue_credential(db, ADMIN, "agent", agent_id, f"tok-{agent_id}")
    return ids


def test_a_claim_race_across_two_api_processes_has_one_winner(
    own_postgres: str, tmp_path: Path
) -> None:
    db = Database(Settings(database_url=own_postgres))
    populated(db)
    reps = racers(db)
    apis = [Api(own_postgres, tmp_path / f"api{n}.log").start() for n in range(2)]
    try:
        for _ in range(ROUNDS):
            created = httpx.post(
                f"{apis[0].base}/v1/cases",
                json={"customer": {"name": "Carla Diaz"}, "subject": "Pending charge"},
                headers=bearer("acme-crm"),
            )
            case_id = created.json()["id"]
            start = threading.Barrier(RACERS)

            def claim(n: int, case_id: str = case_id, start: threading.Barrier = start) -> int:
                api = apis[n % 2]  # half the reps reach one process, half the other
                start.wait(timeout=30)
                answer = httpx.post(
                    f"{api.base}/v1/cases/{case_id}/claim",
                    json={},
                    headers={"Authorization": f"Bearer tok-{reps[n]}"},
                    timeout=30,
                )
                code = answer.json().get("code") if answer.status_code != 200 else None
                assert answer.status_code == 200 or code == "invalid_transition", answer.text
                return answer.status_code

            with ThreadPoolExecutor(RACERS) as pool:
                statuses = list(pool.map(claim, range(RACERS)))

            assert sorted(statuses) == [200] + [409] * (RACERS - 1)
            case = httpx.get(f"{apis[1].base}/v1/cases/{case_id}", headers=bearer("sam")).json()
            assert (case["state"], case["version"]) == ("active", 2)
    finally:
        for api in apis:
            api.kill()
    assert check(db) == []
    db.dispose()
