"""`handoff serve`'s access log never holds a customer's status link or what a query carried
(SPEC §14): the link is the customer's only key, and a query may carry a token a client put
there."""

import signal
from pathlib import Path

import httpx

from handoff import services
from handoff.services import queries
from handoff.store.db import Database
from tests.integration.world import World
from tests.reliability.servers import Api, bearer, populated


def test_the_access_log_masks_customer_links_and_query_values(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    populated(db)
    dana = World(db).agent("dana")
    case = services.create_case(db, dana, customer={"name": "Omar"}, subject="Parcel")
    link = str(queries.get_case(db, dana, case.id).customer_link)
    secret = link.removeprefix("/c/")
    api = Api(db_url, tmp_path / "serve.log").start()
    try:
        assert httpx.get(api.base + link).status_code == 200
        assert httpx.head(f"{api.base}{link}/stream").status_code == 200
        httpx.get(f"{api.base}/v1/cases", params={"cursor": "tok-dana"}, headers=bearer("dana"))
        httpx.get(f"{api.base}/ui/sign-in", params={"next": "/ui/", "token": "tok-sam"})
    finally:
        api.kill(signal.SIGTERM)  # uvicorn writes every line before it ends
    log = api.output()

    for masked in (
        '"GET /c/*** ',
        '"HEAD /c/***/stream ',
        '"GET /v1/cases?cursor=*** ',
        '"GET /ui/sign-in?next=***&token=*** ',
    ):
        assert masked in log, log
    for secret_text in (secret, "tok-dana", "tok-sam"):
        assert secret_text not in log
