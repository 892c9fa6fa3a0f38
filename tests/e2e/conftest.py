"""The API over each test database, with a token for every person and system of the stories."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from handoff import services
from handoff.store.db import Database
from tests.integration.world import ADMIN, AGENTS, SYSTEMS, World


def token(who: str) -> str:
    return f"tok-{who}"


def auth(who: str) -> dict[str, str]:
    """Headers of `who`: an agent id, a partner system id, or "root" (the admin)."""
    return {"Authorization": f"Bearer {token(who)}"}


def issue_tokens(db: Database) -> None:
    for agent_id in AGENTS:
        services.issue_credential(db, ADMIN, "agent", agent_id, token(agent_id))
    for system_id in SYSTEMS:
        services.issue_credential(db, ADMIN, "system", system_id, token(system_id))
    services.issue_credential(db, ADMIN, "admin", "root", token("root"))


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    issue_tokens(world.db)
    with TestClient(create_app(world.db)) as test_client:
        yield test_client
