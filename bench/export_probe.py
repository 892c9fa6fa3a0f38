"""Run in a process of its own, so its peak memory is the export's: every event as NDJSON, the
way `GET /v1/audit/events?format=ndjson` writes it, or (--raw) the bare-driver floor.

Prints one JSON line: events, seconds, bytes, peak and starting RSS in MB.
"""

import json
import os
import resource
import sqlite3
import sys
import time

from sqlalchemy.engine import make_url

from api.exports import ndjson_lines
from bench.chains import EVENT_COLUMNS
from handoff.config import Settings
from handoff.domain.principals import Actor
from handoff.services import audit
from handoff.store.db import Database


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine_export(url: str) -> tuple[int, int]:
    db = Database(Settings(database_url=url))
    auditor = Actor(kind="agent", id="ada", org_id="acme", role="auditor")
    count = size = 0
    with open(os.devnull, "w") as sink:
        for line in ndjson_lines(audit.export_events(db, auditor, audit.EventFilter())):
            sink.write(line)
            count += 1
            size += len(line)
    db.dispose()
    return count, size


def raw_export(url: str) -> tuple[int, int]:
    """The same rows read by sqlite3 and written as JSON lines: what the database and the JSON
    encoder cost with no engine in between."""
    connection = sqlite3.connect(make_url(url).database or "")
    columns = EVENT_COLUMNS.split(", ")
    count = size = 0
    with open(os.devnull, "w") as sink:
        cursor = connection.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY id")
        while rows := cursor.fetchmany(500):
            for row in rows:
                event = dict(zip(columns, row, strict=True))
                event["data"] = json.loads(event["data"])
                line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
                sink.write(line)
                count += 1
                size += len(line)
    connection.close()
    return count, size


def main() -> None:
    url, raw = sys.argv[1], "--raw" in sys.argv[2:]
    before = _rss_mb()
    started = time.perf_counter()
    count, size = raw_export(url) if raw else engine_export(url)
    seconds = time.perf_counter() - started
    result = {"events": count, "seconds": seconds, "bytes": size}
    print(json.dumps(result | {"peak_rss_mb": _rss_mb(), "start_rss_mb": before}))


if __name__ == "__main__":
    main()
