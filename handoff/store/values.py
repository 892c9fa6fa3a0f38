"""Values between Python and the database: how each column's values are converted, explicitly,
per column kind and per database (handoff.store.sql sends them)."""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from functools import cached_property
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import JSON, Boolean, Connection, Table

from handoff.domain.canonical import canonical_json
from handoff.store.models import UTCDateTime


def is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


class Kind(Enum):
    """How a column's values are converted between Python and the database."""

    PLAIN = "plain"
    TIME = "time"  # aware UTC datetime; SQLite keeps naive UTC text
    JSON = "json"  # dicts and lists, written in the hash chain's canonical encoding
    BOOL = "bool"


def kind_of(column: Any) -> Kind:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return Kind.TIME
    if isinstance(kind, JSON):
        return Kind.JSON
    if isinstance(kind, Boolean):
        return Kind.BOOL
    return Kind.PLAIN


def _time_to_sqlite(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given; handoff stores aware UTC times only")
    # SQLAlchemy's own spelling of a DATETIME on SQLite, so both read the same rows.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _time_from_db(value: Any) -> datetime:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(at, datetime)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _time_to_postgres(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given; handoff stores aware UTC times only")
    return value


@dataclass(frozen=True)
class Target:
    """What converting a value for a connection depends on: the database, and how JSON is
    written (canonically, unless the engine was made with another `json_serializer`)."""

    sqlite: bool
    dumps: Callable[[Any], str]

    @classmethod
    def of(cls, conn: Connection) -> "Target":
        dumps = conn.get_execution_options().get(JSON_SERIALIZER, canonical_json)
        return cls(is_sqlite(conn), dumps)


JSON_SERIALIZER = "handoff_json_serializer"  # the engine's execution option naming it


def to_db(kind: Kind, value: Any, target: Target) -> Any:
    if value is None or kind is Kind.PLAIN:
        return value
    if kind is Kind.TIME:
        return _time_to_sqlite(value) if target.sqlite else _time_to_postgres(value)
    if kind is Kind.JSON:
        return target.dumps(value) if target.sqlite else Json(value, dumps=target.dumps)
    return int(value) if target.sqlite else bool(value)


def from_db(kind: Kind, value: Any) -> Any:
    if value is None or kind is Kind.PLAIN:
        return value
    if kind is Kind.TIME:
        return _time_from_db(value)
    if kind is Kind.JSON:
        return json.loads(value) if isinstance(value, str | bytes) else value
    return bool(value)


@dataclass(frozen=True)
class Columns:
    """A table's columns, in order, with how each converts."""

    names: tuple[str, ...]
    kinds: tuple[Kind, ...]

    @classmethod
    def of(cls, table: Table) -> "Columns":
        return cls(tuple(c.key for c in table.c), tuple(kind_of(c) for c in table.c))

    def only(self, names: Sequence[str]) -> "Columns":
        """These columns of the table, in this order."""
        kinds = dict(zip(self.names, self.kinds, strict=True))
        return Columns(tuple(names), tuple(kinds[name] for name in names))

    def listed(self, prefix: str = "") -> str:
        return ", ".join(f"{prefix}{name}" for name in self.names)

    def values(self, row: Sequence[Any]) -> dict[str, Any]:
        """A row's values (in this order) as Python values by column name."""
        return dict(zip(self.names, self.converted(row), strict=True))

    def converted(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """A row's values (in this order) as Python values, in the same order."""
        if len(row) != len(self.kinds):
            raise ValueError(f"a row of {len(row)} values for {len(self.kinds)} columns")
        values = list(row)
        for i, kind in self._converting:  # the plain columns' values are taken as they come
            if values[i] is not None:
                values[i] = from_db(kind, values[i])
        return tuple(values)

    @cached_property
    def _converting(self) -> tuple[tuple[int, Kind], ...]:
        return tuple((i, kind) for i, kind in enumerate(self.kinds) if kind is not Kind.PLAIN)

    def params(self, values: Mapping[str, Any], conn: Connection) -> dict[str, Any]:
        """The driver's parameters for the given columns' values."""
        kinds, target = dict(zip(self.names, self.kinds, strict=True)), Target.of(conn)
        return {name: to_db(kinds[name], value, target) for name, value in values.items()}
