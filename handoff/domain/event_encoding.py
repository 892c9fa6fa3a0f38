"""How a typed event is stored: the base of every event class, which writes each named field
under its own key in the event's JSON `data` and reads it back from any shape ever stored.

Events are hash-chained, so a stored shape never changes: a key an older version did not write
reads as its fallback (None, "", False, ()) and is left out again by `data()`; a key this version
does not name, or a value it cannot read as the field's type, is kept as it was (`unnamed`). So
`data()` gives back exactly what was stored.
"""

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Union, get_args, get_origin

# A key written only when it has a value (only some of the writers, or only newer ones, write it).
OMITTED_IF_NONE = {"omitted_if_none": True}
# The field that holds every key the others do not name, stored beside them (a refusal's details).
THE_REST = {"the_rest": True}


@dataclass(frozen=True)
class DomainEvent:
    """What one event says; who wrote it and when is the envelope's (`Recorded`)."""

    TYPE: ClassVar[str]
    # Keys the class names that the stored data lacked, and keys (or values) it could not read:
    # both are kept so that `data()` re-encodes the event byte for byte.
    absent: frozenset[str] = field(default=frozenset(), kw_only=True, repr=False)
    unnamed: Mapping[str, Any] = field(default_factory=dict, kw_only=True, repr=False)

    @property
    def type(self) -> str:
        return self.TYPE

    def data(self) -> dict[str, Any]:
        rest = _rest_field(type(self))
        stored: dict[str, Any] = dict(getattr(self, rest)) if rest else {}
        for key in _keys(type(self)):
            value = getattr(self, key.name)
            if key.name in self.absent or (value is None and key.omitted_if_none):
                continue
            stored[key.name] = key.encode(value)
        return stored | dict(self.unnamed)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "DomainEvent":
        values: dict[str, Any] = {}
        absent: list[str] = []
        read = 0  # keys of `data` read into a field
        for key in _keys(cls):
            name = key.name
            value = key.decode(data[name]) if name in data else _UNREADABLE
            if value is None and key.omitted_if_none:  # stored as null: kept as it was
                value = _UNREADABLE
            if value is _UNREADABLE:
                values[name] = key.fallback
                if name in data or not key.omitted_if_none:
                    absent.append(name)
            else:
                values[name] = value
                read += 1
        if not absent and read == len(data):  # the shape this version writes
            return cls(**values)
        kept = {k: v for k, v in data.items() if k not in values or k in absent}
        rest = _rest_field(cls)
        if rest:
            values[rest] = {k: v for k, v in kept.items() if k not in values}
            kept = {k: v for k, v in kept.items() if k in values}
        return cls(**values, absent=frozenset(absent), unnamed=kept)


_UNREADABLE = object()


@dataclass(frozen=True)
class _Key:
    """How one named field is stored: its key, its fallback, its encoding."""

    name: str
    fallback: Any
    omitted_if_none: bool
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _rest_field(cls: type[DomainEvent]) -> str | None:
    return next((f.name for f in fields(cls) if f.metadata.get("the_rest")), None)


def _keys(cls: type[DomainEvent]) -> tuple[_Key, ...]:
    """The fields stored each under its own key (not the bookkeeping, not the rest)."""
    keys = _KEYS.get(cls)
    if keys is None:
        keys = _KEYS[cls] = _keys_of(cls)
    return keys


_KEYS: dict[type[DomainEvent], tuple[_Key, ...]] = {}


def _keys_of(cls: type[DomainEvent]) -> tuple[_Key, ...]:
    keys = []
    for f in fields(cls):
        if f.kw_only or f.metadata.get("the_rest"):
            continue
        kinds = [k for k in _alternatives(f.type) if k is not type(None)]
        nullable = len(kinds) < len(_alternatives(f.type))
        (kind,) = kinds  # one kind of value per field (optionally None)
        keys.append(
            _Key(
                name=f.name,
                fallback=None if nullable else _FALLBACK[get_origin(kind) or kind],
                omitted_if_none=bool(f.metadata.get("omitted_if_none")),
                encode=_encoder(kind),
                decode=_decoder(kind, nullable),
            )
        )
    return tuple(keys)


def _alternatives(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, types.UnionType) or get_origin(annotation) is Union:
        return get_args(annotation)
    return (annotation,)


_FALLBACK: dict[Any, Any] = {str: "", bool: False, tuple: ()}


def _encoder(kind: Any) -> Callable[[Any], Any]:
    if _is_time(kind):
        return lambda v: None if v is None else v.isoformat()
    if get_origin(kind) is tuple:
        return lambda v: None if v is None else list(v)
    return lambda v: v


def _decoder(kind: Any, nullable: bool) -> Callable[[Any], Any]:
    """Reads a stored value as `kind`, or answers _UNREADABLE (kept then as it was)."""
    null = None if nullable else _UNREADABLE
    if _is_time(kind):  # read only as written: isoformat's own spelling

        def read_time(value: Any) -> Any:
            if value is None:
                return null
            try:
                read = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                read = None
            return read if read is not None and read.isoformat() == value else _UNREADABLE

        return read_time
    if get_origin(kind) is tuple:
        (item, _ellipsis) = get_args(kind)

        def read_items(value: Any) -> Any:
            if value is None:
                return null
            fits = isinstance(value, list) and all(isinstance(v, item) for v in value)
            return tuple(value) if fits else _UNREADABLE

        return read_items
    exact = kind is not str  # a bool is an int, but not the other way round

    def read_plain(value: Any) -> Any:
        if value is None:
            return null
        fits = type(value) is kind if exact else isinstance(value, kind)
        return value if fits else _UNREADABLE

    return read_plain


def _is_time(kind: Any) -> bool:
    """`datetime`, also while freezegun has put its subclass in this module's `datetime`."""
    return isinstance(kind, type) and issubclass(datetime, kind) and kind is not object
