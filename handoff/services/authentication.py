"""Who is calling: a bearer token's principal, slowed down for an address that guesses tokens,
and a web UI session's principal, read afresh from its credential on every request (SPEC §14)."""

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from handoff.domain.errors import Forbidden
from handoff.domain.principals import Actor
from handoff.store import throttle, web_sessions
from handoff.store.db import Database
from handoff.store.models import utcnow as now
from handoff.store.sql import Statement
from handoff.store.throttle import Failures
from handoff.store.values import Kind, from_db


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class TooManyFailedTokens(Exception):
    """The address sent more tokens that were not valid than a minute allows (answered 429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many tokens that were not valid; retry after {retry_after} s")
        self.retry_after = retry_after


# One statement per request: the credential and, by its kind, the agent or system behind it,
# beside the calling address's failed tokens (always one row, so a token that matches nothing
# still reads them). Every request asks it: straight to the driver, with no SQLAlchemy
# transaction around it.
PRINCIPAL_OF_TOKEN = Statement(
    """SELECT c.id, c.principal_kind, c.principal_id, c.orgs, a.org_id, a.role, a.active,
              s.org_id, f.failures, f.window_start
       FROM (SELECT 1 AS one) q
       LEFT OUTER JOIN credentials c ON c.token_hash = :token_hash AND c.revoked_at IS NULL
       LEFT OUTER JOIN agents a ON c.principal_kind = 'agent' AND a.id = c.principal_id
       LEFT OUTER JOIN partner_systems s ON c.principal_kind = 'system' AND s.id = c.principal_id
       LEFT OUTER JOIN token_failures f ON f.address = :address
       LIMIT 1"""
)

# Each page a signed-in person opens asks it: their credential as it is now, and whether the
# session was signed out.
PRINCIPAL_OF_SESSION = Statement(
    """SELECT c.id, c.principal_kind, c.principal_id, c.orgs, a.org_id, a.role, a.active,
              c.revoked_at, e.id
       FROM credentials c
       LEFT OUTER JOIN agents a ON c.principal_kind = 'agent' AND a.id = c.principal_id
       LEFT OUTER JOIN ended_ui_sessions e ON e.id = :session_id
       WHERE c.id = :credential_id"""
)


def authenticate(db: Database, token: str) -> Actor | None:
    """The principal behind a bearer token, or None (unknown, revoked, or a deactivated agent)."""
    with db.read_connection() as conn:
        rows = PRINCIPAL_OF_TOKEN.rows(conn, {"token_hash": hash_token(token), "address": None})
    return _principal(rows[0][:8])


def admit(db: Database, token: str, address: str, at: datetime | None = None) -> Actor | None:
    """As `authenticate`, for a token sent from `address`; counts it there if it is not valid.

    An address past the most failed tokens a minute allows is refused (`TooManyFailedTokens`)
    until its minute ends, even with a valid token: answering a valid token otherwise would tell
    a guesser which guess was right. A valid token from any other address writes nothing.
    """
    at, address = at or now(), throttle.address_key(address)
    with db.read_connection() as conn:
        rows = PRINCIPAL_OF_TOKEN.rows(conn, {"token_hash": hash_token(token), "address": address})
    actor = _admitted(rows[0], at)
    if actor is None:
        _count_failure(db, address, at)
    return actor


@contextmanager
def admitted_to_change(
    db: Database, token: str, address: str, case_id: str, at: datetime | None = None
) -> Iterator[Actor | None]:
    """As `admit`, for a request that changes the case `case_id`: on PostgreSQL the token is read
    in the round trip that begins the command's transaction (`Database.opening_change`), which
    the command inside the block then takes."""
    if not db.opens_changes_ahead:
        yield admit(db, token, address, at)
        return
    at, address = at or now(), throttle.address_key(address)
    params = {"token_hash": hash_token(token), "address": address}
    # The case is locked only for a token that is a credential's: a guess locks nothing.
    with db.opening_change(case_id, PRINCIPAL_OF_TOKEN, params, found="id") as row:
        actor = _admitted(row, at)
        if actor is not None:
            yield actor
            return
    _count_failure(db, address, at)  # once the case is let go
    yield None


def _admitted(row: Sequence[Any], at: datetime) -> Actor | None:
    """The principal of a PRINCIPAL_OF_TOKEN row; refused while its address is slowed."""
    failures = Failures.of(row[8], row[9])
    if failures is not None and failures.slowed(at):
        raise TooManyFailedTokens(failures.retry_after(at))
    return _principal(row[:8])


def _count_failure(db: Database, address: str, at: datetime) -> None:
    """A token that was not valid, counted against its address (refused once it is slowed)."""
    failures = throttle.failed(db, address, at)
    if failures.slowed(at):
        raise TooManyFailedTokens(failures.retry_after(at))


def session_principal(
    db: Database, session_id: str, credential_id: str, signed_in_at: datetime
) -> Actor | None:
    """The agent of a web UI session as their credential says now (role, auditor scope), or
    None once the session is over: signed out, past its hours since sign-in, its credential
    revoked, or its agent deactivated."""
    if not web_sessions.is_current(signed_in_at, now()):
        return None
    with db.read_connection() as conn:
        params = {"session_id": session_id, "credential_id": credential_id}
        rows = PRINCIPAL_OF_SESSION.rows(conn, params)
    if not rows:
        return None  # the credential is gone
    *principal, revoked_at, ended = rows[0]
    if revoked_at is not None or ended is not None:
        return None
    actor = _principal([*principal, None])
    return actor if actor is not None and actor.kind == "agent" else None


def require_operations_reader(actor: Actor) -> None:
    """Operations' figures (`/metrics`) are for an admin or an auditor."""
    if actor.kind != "admin" and not actor.is_auditor:
        raise Forbidden("only an admin or an auditor may read the metrics")


def _principal(row: Sequence[Any]) -> Actor | None:
    credential, kind, pid, stored_orgs, agent_org, role, stored_active, system_org = row
    if credential is None:
        return None
    orgs, active = from_db(Kind.JSON, stored_orgs), from_db(Kind.BOOL, stored_active)
    if kind == "admin":
        return Actor(kind="admin", id=pid, credential_id=credential)
    if kind == "system":
        if not system_org:
            return None
        return Actor(kind="system", id=pid, org_id=system_org, credential_id=credential)
    if agent_org is None or not active:
        return None
    scope = frozenset(orgs) if orgs is not None else None
    return Actor(
        kind="agent", id=pid, org_id=agent_org, role=role, orgs=scope, credential_id=credential
    )
