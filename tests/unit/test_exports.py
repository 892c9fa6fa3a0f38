"""NDJSON export lines: written by orjson, the same bytes as the API's pydantic serializer."""

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from api.exports import EVENTS, ndjson_line
from handoff.services.views import EventView

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def event(data: dict[str, Any], at: datetime, actor_id: str | None = "dana") -> EventView:
    return EventView(
        case_id="c1",
        seq=2,
        type="note_added",
        actor={"kind": "agent", "id": actor_id},
        org_id=None if actor_id is None else "acme",
        at=at,
        data=data,
        prev_hash="0" * 64,
        hash="f" * 64,
    )


@given(
    data=st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])), JSON, max_size=5),
    at=st.datetimes(timezones=st.just(UTC)),
    actor_id=st.none() | st.just("dana"),
)
def test_a_line_is_the_event_as_the_api_renders_it(
    data: dict[str, Any], at: datetime, actor_id: str | None
) -> None:
    view = event(data, at, actor_id)
    assert ndjson_line(view) == EVENTS.dump_json(view).decode() + "\n"


def test_an_integer_orjson_refuses_is_written_as_the_api_writes_it() -> None:
    view = event({"big": 2**70}, datetime(2026, 1, 2, tzinfo=UTC))
    line = ndjson_line(view)
    assert line == EVENTS.dump_json(view).decode() + "\n"
    assert '"data":{"big":1180591620717411303424}' in line
