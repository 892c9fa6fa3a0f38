"""Events written out as NDJSON or CSV, one line at a time (the export streams)."""

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Iterator

from api.schemas.outputs import Event
from handoff.views import EventView

CSV_COLUMNS = (
    "case_id", "seq", "type", "actor_kind", "actor_id", "org_id", "at", "data", "prev_hash", "hash",
)  # fmt: skip


def _plain(view: EventView) -> dict[str, object]:
    return Event.model_validate(dataclasses.asdict(view)).model_dump(mode="json")


def ndjson_lines(events: Iterable[EventView]) -> Iterator[str]:
    for view in events:
        yield json.dumps(_plain(view), ensure_ascii=False, separators=(",", ":")) + "\n"


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
