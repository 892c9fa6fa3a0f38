"""The store's explicit converters: a row read from the database becomes Python values, column by
column, whatever the driver handed over."""

from datetime import UTC, datetime

import pytest

from handoff.store.models import Event
from handoff.store.values import Columns

EVENT = Columns.of(Event.__table__)  # type: ignore[arg-type]


def a_stored_event(**values: object) -> tuple[object, ...]:
    row = {
        "id": 7,
        "case_id": "c1",
        "seq": 3,
        "type": "note_added",
        "actor_kind": "agent",
        "actor_id": "dana",
        "org_id": "acme",
        "at": "2026-12-04 10:30:00.250000",
        "data": '{"text":"Called the bank."}',
        "prev_hash": "a" * 64,
        "hash": "b" * 64,
    }
    row.update(values)
    return tuple(row[name] for name in EVENT.names)


def test_a_sqlite_row_reads_as_aware_times_and_decoded_json() -> None:
    values = EVENT.values(a_stored_event())
    assert values["at"] == datetime(2026, 12, 4, 10, 30, 0, 250000, tzinfo=UTC)
    assert values["data"] == {"text": "Called the bank."}


def test_plain_columns_are_taken_as_they_come() -> None:
    values = EVENT.values(a_stored_event())
    assert (values["id"], values["seq"], values["type"]) == (7, 3, "note_added")
    assert values["hash"] == "b" * 64


def test_a_postgres_row_keeps_its_parsed_values_in_utc() -> None:
    at = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)
    values = EVENT.values(a_stored_event(at=at, data={"text": "x"}))
    assert values["at"] == at
    assert values["at"].tzinfo is UTC
    assert values["data"] == {"text": "x"}


def test_a_null_stays_none_in_a_converted_column() -> None:
    assert EVENT.values(a_stored_event(data=None))["data"] is None


def test_a_row_of_the_wrong_width_is_an_error_not_a_shifted_read() -> None:
    with pytest.raises(ValueError, match="columns"):
        EVENT.converted(a_stored_event()[:-1])
