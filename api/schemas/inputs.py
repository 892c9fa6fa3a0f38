"""Request bodies (SPEC §8 "Bodies and answers"); unknown fields are refused."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from api.schemas.fields import (
    CustomerPresence,
    EventType,
    FilledLine,
    FilledName,
    FilledText,
    Id,
    Instant,
    Line,
    Name,
    OrgKind,
    Party,
    PrincipalKind,
    Priority,
    ResolutionCode,
    Role,
    Text,
    Url,
    Visibility,
    WholeNumber,
)

WINDOWS = ("claim", "handoff", "request", "auto_close", "reopen")
MAX_WINDOW = 10 * 365 * 24 * 3600  # ten years, in seconds
Seconds = Annotated[WholeNumber, AfterValidator(lambda s: _within(s, 1, MAX_WINDOW))]
# The keys and values are checked one by one; the schema says the same of the whole at once.
Windows = Annotated[
    dict[Annotated[str, Field(pattern=rf"^({'|'.join(WINDOWS)})_window$")], Seconds],
    WithJsonSchema(
        {
            "type": "object",
            "properties": {
                f"{name}_window": {"type": "integer", "minimum": 1, "maximum": MAX_WINDOW}
                for name in WINDOWS
            },
            "additionalProperties": False,
        }
    ),
]


def _within(value: int, least: int, most: int) -> int:
    if not least <= value <= most:
        raise ValueError(f"must be from {least} to {most}")
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Empty(Body):
    """`{}`: the action needs nothing more."""


class Customer(Body):
    name: FilledName
    email: Line | None = None
    phone: Line | None = None
    external_ref: Line | None = None


class NewCase(Body):
    customer: Customer
    subject: FilledLine
    description: Text = ""
    participants: Annotated[list[Id], Field(max_length=20)] = []
    priority: Priority = "normal"


class Assignment(Body):
    agent_id: Id


class NewParticipant(Body):
    org_id: Id
    reason: FilledText


class NewRequest(Body):
    to_org: Id
    action: FilledLine
    details: Text = ""
    respond_by: Instant | None = None


class Completion(Body):
    note: FilledText


class Reason(Body):
    reason: FilledText


class OptionalReason(Body):
    reason: Text | None = None


class NewHandoff(Body):
    to_org: Id
    summary: FilledText
    override_reason: Text | None = None


class Acceptance(Body):
    agent_id: Id | None = Field(
        None, description="The accepting agent; needed when a partner system accepts for them."
    )


class NewSession(Body):
    handoff_id: Id | None = None


class Presence(Body):
    party: Party
    agent_id: Id | None = Field(None, description="Needed for every party but the customer.")


class Needed(Body):
    needed: FilledText


class CustomerResponse(Body):
    note: Text | None = None


class Resolution(Body):
    code: ResolutionCode
    summary: FilledText


class Note(Body):
    text: FilledText
    visibility: Visibility = "internal"


class Message(Body):
    text: FilledText


class NewOrg(Body):
    id: Id
    customer_presence: CustomerPresence | None = Field(
        None,
        description="verified: a handoff to this org needs the customer present by their own "
        "link or a partner system; attested (the deployment's default) takes the owner's word.",
    )
    name: Name
    kind: OrgKind
    windows: Windows | None = Field(
        None, description='Per-org windows in seconds, e.g. {"claim_window": 600}.'
    )


class NewAgent(Body):
    id: Id
    name: Name
    role: Role


class NewCredential(Body):
    kind: PrincipalKind
    id: Id
    org_id: Id | None = Field(
        None, description="For a partner system: its org; the system is created if missing."
    )
    orgs: Annotated[list[Id], Field(max_length=50)] | None = Field(
        None, description="For an auditor: only these orgs' cases; left out, every case."
    )


class NewWebhook(Body):
    url: Url
    org_id: Id | None = Field(
        None, description="Named by an admin; others subscribe their own org."
    )
    events: Annotated[list[EventType], Field(min_length=1, max_length=100)] | None = Field(
        None, description="Event types to deliver (at least one); left out, every type."
    )
