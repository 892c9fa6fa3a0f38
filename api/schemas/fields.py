"""Constrained values shared by request bodies and query parameters."""

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints

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
# `If-Match`: a case's ETag ("7", weak or strong) or `*` for any version.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[0-9]{1,9}")$'


def _storable(value: str) -> str:
    """Databases refuse NUL characters and lone surrogates (JSON can carry both)."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


RFC_3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _rfc_3339(value: object) -> object:
    """Only the text the schema names (`format: date-time`): not a number of seconds, which
    pydantic would otherwise read as a time since 1970."""
    if not isinstance(value, str) or not RFC_3339.fullmatch(value):
        raise ValueError("time must be RFC 3339 text with an offset, like 2024-05-01T09:30:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range") from None


# Texts never hold NUL; one that must be given holds something besides white space (the engine
# strips what it is given and refuses what is left empty: the schema says so first).
# White space spelled out as Python's str.strip() sees it: `\s` means other things to pydantic's
# regex engine and to JSON Schema's (ECMA 262).
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\x00]*$"
FILLED = rf"^[^\x00]*[^\x00{SPACE}][^\x00]*$"

# The id of an org, agent, partner system, case, request, handoff or session.
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64)]
Cursor = Annotated[str, StringConstraints(pattern=CURSOR_PATTERN)]
EventType = Annotated[str, StringConstraints(pattern=EVENT_TYPE_PATTERN)]
Line = Annotated[str, StringConstraints(max_length=300, pattern=NO_NUL), AfterValidator(_storable)]
Name = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL), AfterValidator(_storable)]
Text = Annotated[
    str, StringConstraints(max_length=10_000, pattern=NO_NUL), AfterValidator(_storable)
]
# The same, required to say something.
FilledLine = Annotated[
    str, StringConstraints(min_length=1, max_length=300, pattern=FILLED), AfterValidator(_storable)
]
FilledName = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=FILLED), AfterValidator(_storable)
]
FilledText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=10_000, pattern=FILLED),
    AfterValidator(_storable),
]
Url = Annotated[
    str,
    StringConstraints(pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$", max_length=2000),
    AfterValidator(_storable),
]


def _whole_number(value: object) -> object:
    """A JSON integer, written 600 or 600.0 (JSON Schema's `integer`), never text or true."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
# A moment with its offset (RFC 3339), held in UTC.
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc_3339), AfterValidator(_in_utc)]

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
