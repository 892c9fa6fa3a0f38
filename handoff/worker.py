"""The worker's pass over due work: windows that passed, found by indexed queries on due times.

Each item is picked with `FOR UPDATE SKIP LOCKED` and acted on in that same transaction, so
several workers on one PostgreSQL never act twice on one item, and a worker killed mid-pass
leaves every item either done or still due for the next pass.
"""

import logging
import signal
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Select, exists, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from handoff import idempotency, web_sessions
from handoff.commands.flow import now
from handoff.commands.handoffs import expire_handoff
from handoff.commands.resolution import auto_close
from handoff.commands.timers import escalate_overdue_request, escalate_unclaimed
from handoff.db import Database
from handoff.errors import DomainError
from handoff.models import Agent, Case, Handoff, Request
from handoff.principals import WORKING_ROLES
from handoff.webhooks import deliver_due

log = logging.getLogger("handoff.worker")


@dataclass(frozen=True)
class DueWork:
    name: str
    key: Any  # the due item's id column, to skip items a rule refused
    query: Callable[[datetime], Select[str, str]]
    act: Callable[[Database, Any, Session], object]


# An org with someone who could own a case: an escalation that found nobody is tried again then.
_SOMEONE_TO_ESCALATE_TO = (
    exists()
    .where(Agent.org_id == Case.owner_org_id, Agent.active.is_(True))
    .where(Agent.role.in_(WORKING_ROLES))
)


def _unclaimed(at: datetime) -> Select[str, str]:
    return (
        select(Case.id, Case.id)
        .where(Case.state == "unclaimed", Case.claim_due_at <= at)
        .where(or_(Case.unclaimed_escalation_failed.is_(False), _SOMEONE_TO_ESCALATE_TO))
        .order_by(Case.claim_due_at)
    )


def _handoffs(at: datetime) -> Select[str, str]:
    return (
        select(Handoff.case_id, Handoff.id)
        .join(Case, Case.id == Handoff.case_id)
        .where(Handoff.state == "proposed", Handoff.expires_at <= at)
        .order_by(Handoff.expires_at)
    )


def _requests(at: datetime) -> Select[str, str]:
    return (
        select(Request.case_id, Request.id)
        .join(Case, Case.id == Request.case_id)
        .where(Request.state.in_(("open", "acknowledged")), Request.respond_by <= at)
        .where(Request.escalated_at.is_(None))
        .order_by(Request.respond_by)
    )


def _auto_close(at: datetime) -> Select[str, str]:
    return (
        select(Case.id, Case.id)
        .where(Case.state == "resolution_proposed", Case.auto_close_due_at <= at)
        .order_by(Case.auto_close_due_at)
    )


DUE_WORK = (
    DueWork(
        "escalated_unclaimed",
        Case.id,
        _unclaimed,
        lambda db, row, s: escalate_unclaimed(db, row[0], within=s),
    ),
    DueWork(
        "expired_handoffs",
        Handoff.id,
        _handoffs,
        lambda db, row, s: expire_handoff(db, row[0], within=s),
    ),
    DueWork(
        "overdue_requests",
        Request.id,
        _requests,
        lambda db, row, s: escalate_overdue_request(db, row[0], row[1], within=s),
    ),
    DueWork(
        "auto_closed", Case.id, _auto_close, lambda db, row, s: auto_close(db, row[0], within=s)
    ),
)


def tick(
    db: Database, at: datetime | None = None, client: httpx.Client | None = None
) -> Counter[str]:
    """One pass: act once on every timer due at `at` (default: now), deliver the webhooks due,
    and forget idempotency keys and signed-out sessions that have run out; returns counts per
    kind of work."""
    at = at or now()
    done: Counter[str] = Counter()
    for work in DUE_WORK:
        skipped: list[Any] = []
        while (outcome := _one(db, work, at, skipped)) is not None:
            done[outcome] += 1
    with httpx.Client() if client is None else nullcontext(client) as http:
        deliveries = deliver_due(db, http, at)
    done.update({f"webhooks_{outcome}": n for outcome, n in deliveries.items()})
    done["idempotency_keys_forgotten"] = idempotency.forget_expired(db, at)
    done["ui_sessions_forgotten"] = web_sessions.forget_ended(db, at)
    return +done


def _one(db: Database, work: DueWork, at: datetime, skipped: list[Any]) -> str | None:
    """Pick one due item nobody else holds and act on it; None when nothing is left.

    Returns what happened: the work's name, `escalation_failed` when there was nobody to take
    an unclaimed case, or `skipped` when a rule refused (the item is left for a later pass)."""
    with db.session() as session:
        query = work.query(at).limit(1).with_for_update(of=Case, skip_locked=True)
        if skipped:
            query = query.where(work.key.not_in(skipped))
        row = session.execute(query).first()
        if row is None:
            return None
        try:
            acted = work.act(db, row, session)
        except DomainError as error:
            log.warning("%s: %s on %s: %s", work.name, error.code, row[1], error.message)
            skipped.append(row[1])
            return "skipped"
        return work.name if acted is not None else "escalation_failed"


def run(db: Database, interval: float = 5.0, stop: threading.Event | None = None) -> None:
    """Pass after pass until SIGTERM or SIGINT (or `stop` is set); a pass is never cut in half,
    since each item commits on its own, and the database being away only delays the next pass."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    log.info("worker started (pass every %.1f s)", interval)
    while not stop.is_set():
        try:
            done = tick(db)
            if done:
                log.info("pass: %s", dict(done))
        except OperationalError as error:
            log.warning("database unavailable, retrying: %s", error.orig)
        stop.wait(interval)
    log.info("worker stopped")
