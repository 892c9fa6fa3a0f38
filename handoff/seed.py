"""The seed file (SPEC §11): orgs, their agents and partner systems, admins, and their tokens."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.domain.errors import InvalidInput, Refusal
from handoff.domain.vocabulary import CUSTOMER_PRESENCE, ORG_KINDS, ROLES
from handoff.services.admin import IssuedCredential, add_credential
from handoff.services.authentication import hash_token
from handoff.store.db import Database
from handoff.store.models import AgentRow, CaseRow, Credential, Org, PartnerSystem
from handoff.store.models import utcnow as now

# A token the seed generated: the only time anyone sees it.
IssuedToken = IssuedCredential

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _id(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise PydanticCustomError(
            "id", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def _token(value: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise PydanticCustomError("token", "must be a non-empty token without spaces")
    return value


def _one_of(choices: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in choices:
            raise PydanticCustomError(
                "one_of", "must be one of {choices}", {"choices": ", ".join(choices)}
            )
        return value

    return AfterValidator(check)


Id = Annotated[str, AfterValidator(_id)]
Token = Annotated[str, AfterValidator(_token)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AgentEntry(Entry):
    id: Id
    name: Name
    role: Annotated[str, _one_of(ROLES)]
    token: Token | None = None
    # An auditor's credential may be limited to these orgs' cases.
    orgs: list[Id] | None = None


class SystemEntry(Entry):
    id: Id
    name: Name | None = None
    token: Token | None = None


class AdminEntry(Entry):
    id: Id
    token: Token | None = None


class OrgEntry(Entry):
    id: Id
    name: Name
    kind: Annotated[str, _one_of(ORG_KINDS)]
    # "verified": a handoff to this org needs the customer present by link or system (SPEC §12).
    customer_presence: Annotated[str, _one_of(CUSTOMER_PRESENCE)] | None = None
    agents: list[AgentEntry] = []
    systems: list[SystemEntry] = []


class SeedFile(Entry):
    orgs: list[OrgEntry] = []
    admins: list[AdminEntry] = []


def read_seed_file(path: Path) -> Any:
    """The file's JSON, or one clear error: missing, unreadable, or not JSON (line and column)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput("file", f"seed file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise InvalidInput("file", f"cannot read seed file {path}: {reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            "file",
            f"{path}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}",
        ) from None


def parse_seed(data: Any) -> SeedFile:
    """Validate seed data, naming each bad field by its path (`orgs[0].agents[1].role`)."""
    try:
        seed_file = SeedFile.model_validate(data)
    except ValidationError as error:
        problems = [_describe(e) for e in error.errors()]
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise InvalidInput(_path(error.errors()[0]["loc"]), shown) from None
    _check_consistent(seed_file)
    return seed_file


MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most 200 characters",
}


def _describe(error: ErrorDetails) -> str:
    message = MESSAGES.get(error["type"]) or error["msg"][:1].lower() + error["msg"][1:]
    return f"{_path(error['loc']) or 'the seed file'}: {message}"


def _path(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _check_consistent(seed_file: SeedFile) -> None:
    """No id or token given twice; an org scope only on an auditor."""
    for i, org in enumerate(seed_file.orgs):
        for j, agent in enumerate(org.agents):
            if agent.orgs is not None and agent.role != "auditor":
                path = f"orgs[{i}].agents[{j}].orgs"
                raise InvalidInput(path, f"{path}: only an auditor's credential is limited to orgs")
    seen: dict[tuple[str, str], str] = {}
    for path, kind, value in _keys(seed_file):
        first = seen.setdefault((kind, value), path)
        if first != path:
            what = "the same token" if kind == "token" else f"{kind} {value!r}"
            raise InvalidInput(path, f"{path}: {what} is already given at {first}")


def _keys(seed_file: SeedFile) -> Iterator[tuple[str, str, str]]:
    """(path, kind, value) of every id and token, to find the ones given twice."""
    for i, org in enumerate(seed_file.orgs):
        yield f"orgs[{i}].id", "org", org.id
        for j, agent in enumerate(org.agents):
            yield f"orgs[{i}].agents[{j}].id", "agent", agent.id
            if agent.token:
                yield f"orgs[{i}].agents[{j}].token", "token", agent.token
        for j, system in enumerate(org.systems):
            yield f"orgs[{i}].systems[{j}].id", "partner system", system.id
            if system.token:
                yield f"orgs[{i}].systems[{j}].token", "token", system.token
    for k, admin in enumerate(seed_file.admins):
        yield f"admins[{k}].id", "admin", admin.id
        if admin.token:
            yield f"admins[{k}].token", "token", admin.token


def seed(db: Database, data: Any) -> list[IssuedToken]:
    """Create or update everything in the file, in one transaction; return the tokens generated.

    Seeding the same file again changes nothing: rows are upserted by id, a given token already
    stored is left alone, and a token is generated only for a principal that has none.
    """
    seed_file = data if isinstance(data, SeedFile) else parse_seed(data)
    issued: list[IssuedToken] = []
    with db.session() as session:
        for org in seed_file.orgs:
            _upsert_org(session, org)
        session.flush()
        for i, org in enumerate(seed_file.orgs):
            for j, agent in enumerate(org.agents):
                path = f"orgs[{i}].agents[{j}]"
                _upsert_agent(session, org.id, agent, path)
                scope = _auditor_scope(session, agent, path)
                rescope = "orgs" in agent.model_fields_set
                issued += _credential(session, "agent", agent.id, agent.token, path, scope, rescope)
            for j, system in enumerate(org.systems):
                path = f"orgs[{i}].systems[{j}]"
                _upsert_system(session, org.id, system, path)
                issued += _credential(session, "system", system.id, system.token, path)
        for k, admin in enumerate(seed_file.admins):
            issued += _credential(session, "admin", admin.id, admin.token, f"admins[{k}]")
        session.commit()
    return issued


def _upsert_org(session: Session, entry: OrgEntry) -> None:
    org = session.get(Org, entry.id)
    if org is None:
        presence = entry.customer_presence
        session.add(
            Org(
                id=entry.id,
                name=entry.name,
                kind=entry.kind,
                customer_presence=presence,
                created_at=now(),
            )
        )
    else:
        given = {"customer_presence": entry.customer_presence} if entry.customer_presence else {}
        _update(org, name=entry.name, kind=entry.kind, **given)


def _upsert_agent(session: Session, org_id: str, entry: AgentEntry, path: str) -> None:
    agent = session.get(AgentRow, entry.id)
    if agent is None:
        fields = entry.model_dump(include={"id", "name", "role"})
        session.add(AgentRow(org_id=org_id, active=True, created_at=now(), **fields))
        session.flush()
        return
    _check_same_org("agent", agent, org_id, path)
    if agent.role != "auditor" and entry.role == "auditor" and _owns_open_cases(session, agent):
        # An auditor cannot work a case: its cases would be left without an owner who can.
        raise Refusal(
            "owner_required",
            f"{path}.role: {agent.id} owns open cases; assign them to someone else first",
        )
    _update(agent, name=entry.name, role=entry.role)


def _upsert_system(session: Session, org_id: str, entry: SystemEntry, path: str) -> None:
    system = session.get(PartnerSystem, entry.id)
    if system is None:
        name = entry.name or entry.id
        session.add(PartnerSystem(id=entry.id, org_id=org_id, name=name, created_at=now()))
        session.flush()
        return
    _check_same_org("partner system", system, org_id, path)
    if entry.name is not None:
        _update(system, name=entry.name)


def _check_same_org(kind: str, row: AgentRow | PartnerSystem, org_id: str, path: str) -> None:
    if row.org_id != org_id:
        message = f"{path}.id: {kind} {row.id} belongs to {row.org_id}, not {org_id}"
        raise InvalidInput(f"{path}.id", message)


def _owns_open_cases(session: Session, agent: AgentRow) -> bool:
    query = select(CaseRow.id).where(CaseRow.owner_agent_id == agent.id, CaseRow.state != "closed")
    return session.scalars(query.limit(1)).first() is not None


def _update(row: Org | AgentRow | PartnerSystem, **values: str) -> None:
    """Assign only what differs, so an unchanged file leaves rows untouched."""
    for field, value in values.items():
        if getattr(row, field) != value:
            setattr(row, field, value)


def _auditor_scope(session: Session, entry: AgentEntry, path: str) -> list[str] | None:
    if entry.orgs is None:
        return None
    for org_id in entry.orgs:
        if session.get(Org, org_id) is None:
            raise InvalidInput(f"{path}.orgs", f"{path}.orgs: there is no org {org_id}")
    return sorted(set(entry.orgs))


def _credential(
    session: Session,
    kind: str,
    principal_id: str,
    token: str | None,
    path: str,
    scope: list[str] | None = None,
    rescope: bool = False,
) -> list[IssuedToken]:
    """Store a given token's hash once; generate a token only for a principal that has none.

    `rescope`: the file names the scope, which then also applies to credentials it cannot name.
    """
    if token is None:
        live = session.scalars(
            select(Credential).where(
                Credential.principal_kind == kind,
                Credential.principal_id == principal_id,
                Credential.revoked_at.is_(None),
            )
        ).all()
        if not live:
            return [add_credential(session, kind, principal_id, None, scope)]
        for credential in live:
            if rescope and credential.orgs != scope:
                credential.orgs = scope
        return []
    stored = session.scalars(
        select(Credential).where(Credential.token_hash == hash_token(token))
    ).first()
    if stored is None:
        add_credential(session, kind, principal_id, token, scope)
    elif (stored.principal_kind, stored.principal_id) != (kind, principal_id):
        raise InvalidInput(f"{path}.token", f"{path}.token: that token is already in use")
    elif stored.revoked_at is not None:
        raise InvalidInput(f"{path}.token", f"{path}.token: that token was revoked; give a new one")
    elif stored.orgs != scope:
        stored.orgs = scope
    return []
