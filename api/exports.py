"""Events written out as NDJSON or CSV, one line at a time (the export streams)."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from pydantic import TypeAdapter

from handoff.services.views import EventView

CHUNK = 64 * 1024
CSV_COLUMNS = (
    "case_id", "seq", "type", "actor_kind", "actor_id", "org_id", "at", "data", "prev_hash", "hash",
)  # fmt: skip


# Events render as the API's JSON answers render them (the same pydantic serializer, in Rust).
EVENTS = TypeAdapter(EventView)


def _plain(view: EventView) -> dict[str, Any]:
    plain: dict[str, Any] = EVENTS.dump_python(view, mode="json")
    return plain


def ndjson_lines(events: Iterable[EventView]) -> Iterator[str]:
    for view in events:
        yield ndjson_line(view)


# orjson writes an event as the same bytes as pydantic does, in a third of the time; what it
# refuses (integers past 64 bits) pydantic still writes.
NDJSON = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE


def ndjson_line(view: EventView) -> str:
    try:
        return orjson.dumps(view, option=NDJSON).decode()
    except TypeError:
        return EVENTS.dump_json(view).decode() + "\n"


def csv_lines(events: Iterable[EventView]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for view in events:
        event = _plain(view)
        actor = view.actor
        yield line(
            [
                event["case_id"], event["seq"], event["type"], actor["kind"], actor["id"],
                event["org_id"], event["at"], json.dumps(event["data"], ensure_ascii=False),
                event["prev_hash"], event["hash"],
            ]
        )  # fmt: skip


def in_chunks(lines: Iterable[str], size: int = CHUNK) -> Iterator[str]:
    """Whole lines gathered into pieces of about `size` characters: a stream of many short
    lines costs one write (and one hop off the event loop) per piece rather than per line."""
    pending: list[str] = []
    length = 0
    for line in lines:
        pending.append(line)
        length += len(line)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)
