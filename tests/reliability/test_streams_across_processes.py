"""Two `handoff serve` processes on one PostgreSQL: a stream on one sees, within a second, an
event written through the other (LISTEN/NOTIFY, SPEC §12); and a server told to stop ends its
streams instead of waiting for them."""

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from handoff.config import Settings
from handoff.store.db import Database
from tests.e2e.sse import reading
from tests.reliability.servers import Api, bearer, populated

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROUNDS = 5


def test_a_stream_on_one_process_sees_an_event_written_through_the_other(
    own_postgres: str, tmp_path: Path
) -> None:
    db = Database(Settings(database_url=own_postgres))
    populated(db)
    db.dispose()
    reader, writer = (Api(own_postgres, tmp_path / f"api{n}.log").start() for n in range(2))
    try:
        body = {"customer": {"name": "Carla"}, "subject": "Pending charge"}
        case = httpx.post(f"{writer.base}/v1/cases", json=body, headers=bearer("acme-crm"))
        case_id = case.json()["id"]
        httpx.post(f"{writer.base}/v1/cases/{case_id}/claim", json={}, headers=bearer("dana"))
        url = f"{reader.base}/v1/cases/{case_id}/stream"
        delays = []
        with reading(url, **bearer("dana"), **{"Last-Event-ID": "2"}) as stream:
            for n in range(ROUNDS):
                note = {"text": f"note {n}", "visibility": "internal"}
                started = time.monotonic()
                answer = httpx.post(
                    f"{writer.base}/v1/cases/{case_id}/notes", json=note, headers=bearer("dana")
                )
                assert answer.status_code == 200, answer.text
                posted = time.monotonic() - started
                got = stream.next_event(timeout=10)
                delays.append((posted, time.monotonic() - started))
                assert (got.id, json.loads(got.data)["data"]["text"]) == (str(n + 3), f"note {n}")
        # From before the POST to the event read on the other process: within a second.
        assert max(d for _, d in delays) < 1.0, delays
        with reading(url, **bearer("dana")) as stream:
            stream.next_event()
            stopping = time.monotonic()
            reader.kill(signal.SIGTERM)  # its streams end rather than hold the server up
            assert time.monotonic() - stopping < 10
        print(f"delays {delays}, stop {time.monotonic() - stopping:.2f} s")
    finally:
        reader.kill()
        writer.kill()
