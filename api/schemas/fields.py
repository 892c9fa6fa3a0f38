"""Constrained values shared by request bodies and query parameters."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, StringConstraints

from handoff.domain.vocabulary import (
    CASE_STATES,
    CUSTOMER_PRESENCE,
    ORG_KINDS,
    PARTIES,
    PRINCIPAL_KINDS,
    PRIORITIES,
    REQUEST_STATES,
    RESOLUTION_CODES,
    ROLES,
    VISIBILITIES,
)

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"
EVENT_TYPE_PATTERN = r"^[a-z][a-z_]{0,39}$"


def _storable(value: str) -> str:
    """Databases refuse NUL characters and lone surrogates (JSON can carry both)."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range") from None


# The id of an org, agent, partner system, case, request, handoff or session.
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64)]
Cursor = Annotated[str, StringConstraints(pattern=CURSOR_PATTERN)]
EventType = Annotated[str, StringConstraints(pattern=EVENT_TYPE_PATTERN)]
Line = Annotated[str, StringConstraints(max_length=300), AfterValidator(_storable)]
Name = Annotated[str, StringConstraints(max_length=200), AfterValidator(_storable)]
Text = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_storable)]
Url = Annotated[
    str,
    StringConstraints(pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s\x00]+$", max_length=2000),
    AfterValidator(_storable),
]
# A moment with its offset (RFC 3339), held in UTC.
Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]

# The engine's words (handoff.domain.vocabulary) as the API's enums: built from the engine's
# tuples, which mypy cannot read as literals (hence the ignores).
CaseState = Literal[CASE_STATES]  # type: ignore[valid-type]
RequestState = Literal[REQUEST_STATES]  # type: ignore[valid-type]
Priority = Literal[PRIORITIES]  # type: ignore[valid-type]
ResolutionCode = Literal[RESOLUTION_CODES]  # type: ignore[valid-type]
Party = Literal[PARTIES]  # type: ignore[valid-type]
Visibility = Literal[VISIBILITIES]  # type: ignore[valid-type]
OrgKind = Literal[ORG_KINDS]  # type: ignore[valid-type]
Role = Literal[ROLES]  # type: ignore[valid-type]
PrincipalKind = Literal[PRINCIPAL_KINDS]  # type: ignore[valid-type]
CustomerPresence = Literal[CUSTOMER_PRESENCE]  # type: ignore[valid-type]
