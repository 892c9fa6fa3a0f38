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
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Select, exists, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from handoff.delivery.webhooks import Leased, deliver_due, lease_next, send
from handoff.domain.errors import DomainError
from handoff.domain.principals import WORKING_ROLES
from handoff.services.addresses import CheckedTransport
from handoff.services.handoffs import expire_handoff
from handoff.services.resolution import auto_close
from handoff.services.sessions import customer_connection_lost
from handoff.services.timers import escalate_overdue_request, escalate_unclaimed
from handoff.store import idempotency, presence, throttle, web_sessions
from handoff.store.db import Database
from handoff.store.models import (
    OPEN_REQUEST_STATES,
    AgentRow,
    CaseRow,
    HandoffRow,
    RequestRow,
    SessionRow,
)
from handoff.store.models import utcnow as now

log = logging.getLogger("handoff.worker")
SENDERS = 8  # webhook deliveries in flight at once, each to a different subscription


@dataclass(frozen=True)
class DueWork:
    name: str
    key: Any  # the due item's id column, to skip items a rule refused
    query: Callable[[datetime], Select[str, str]]
    act: Callable[[Database, Any, Session], object]


# An org with someone who could own a case: an escalation that found nobody is tried again then.
_SOMEONE_TO_ESCALATE_TO = (
    exists()
    .where(AgentRow.org_id == CaseRow.owner_org_id, AgentRow.active.is_(True))
    .where(AgentRow.role.in_(WORKING_ROLES))
)


def _unclaimed(at: datetime) -> Select[str, str]:
    return (
        select(CaseRow.id, CaseRow.id)
        .where(CaseRow.state == "unclaimed", CaseRow.claim_due_at <= at)
        .where(or_(CaseRow.unclaimed_escalation_failed.is_(False), _SOMEONE_TO_ESCALATE_TO))
        .order_by(CaseRow.claim_due_at)
    )


def _handoffs(at: datetime) -> Select[str, str]:
    return (
        select(HandoffRow.case_id, HandoffRow.id)
        .join(CaseRow, CaseRow.id == HandoffRow.case_id)
        .where(HandoffRow.state == "proposed", HandoffRow.expires_at <= at)
        .order_by(HandoffRow.expires_at)
    )


def _requests(at: datetime) -> Select[str, str]:
    return (
        select(RequestRow.case_id, RequestRow.id)
        .join(CaseRow, CaseRow.id == RequestRow.case_id)
        .where(RequestRow.state.in_(OPEN_REQUEST_STATES), RequestRow.respond_by <= at)
        .where(RequestRow.escalated_at.is_(None))
        .order_by(RequestRow.respond_by)
    )


def _auto_close(at: datetime) -> Select[str, str]:
    return (
        select(CaseRow.id, CaseRow.id)
        .where(CaseRow.state == "resolution_proposed", CaseRow.auto_close_due_at <= at)
        .order_by(CaseRow.auto_close_due_at)
    )


DUE_WORK = (
    DueWork(
        "escalated_unclaimed",
        CaseRow.id,
        _unclaimed,
        lambda db, row, s: escalate_unclaimed(db, row[0], within=s),
    ),
    DueWork(
        "expired_handoffs",
        HandoffRow.id,
        _handoffs,
        lambda db, row, s: expire_handoff(db, row[0], within=s),
    ),
    DueWork(
        "overdue_requests",
        RequestRow.id,
        _requests,
        lambda db, row, s: escalate_overdue_request(db, row[0], row[1], within=s),
    ),
    DueWork(
        "auto_closed", CaseRow.id, _auto_close, lambda db, row, s: auto_close(db, row[0], within=s)
    ),
    DueWork(
        "customer_connections_lost",
        SessionRow.id,
        presence.lost_connections,
        lambda db, row, s: customer_connection_lost(db, row[0], row[1], within=s),
    ),
)


def tick(
    db: Database,
    at: datetime | None = None,
    client: httpx.Client | None = None,
    *,
    deliver: bool = True,
) -> Counter[str]:
    """One pass: act once on every timer due at `at` (default: now), deliver the webhooks due
    (unless `deliver` is false: `run` sends them in threads of their own), and forget
    idempotency keys, signed-out sessions and failed-token counts that have run out; returns
    counts per kind of work."""
    at = at or now()
    done: Counter[str] = Counter()
    for work in DUE_WORK:
        skipped: list[Any] = []
        while (outcome := _one(db, work, at, skipped)) is not None:
            done[outcome] += 1
    if deliver:
        with webhook_client(db) if client is None else nullcontext(client) as http:
            deliveries = deliver_due(db, http, at)
        done.update({f"webhooks_{outcome}": n for outcome, n in deliveries.items()})
    done["idempotency_keys_forgotten"] = idempotency.forget_expired(db, at)
    done["ui_sessions_forgotten"] = web_sessions.forget_ended(db, at)
    done["token_failures_forgotten"] = throttle.forget_expired(db, at)
    return +done


def _one(db: Database, work: DueWork, at: datetime, skipped: list[Any]) -> str | None:
    """Pick one due item nobody else holds and act on it; None when nothing is left.

    Returns what happened: the work's name, `escalation_failed` when there was nobody to take
    an unclaimed case, or `skipped` when a rule refused (the item is left for a later pass)."""
    with db.session() as session:
        query = work.query(at).limit(1).with_for_update(of=CaseRow, skip_locked=True)
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


def run(
    db: Database,
    interval: float = 5.0,
    stop: threading.Event | None = None,
    senders: int = SENDERS,
) -> None:
    """Until SIGTERM or SIGINT (or `stop` is set): a pass over the timers every `interval`, and
    webhook deliveries sent beside it by `senders` threads. A pass is never cut in half, since
    each item commits on its own, and the database being away only delays the next pass.

    A partner's endpoint that hangs holds one sender for at most the webhook timeout, and only
    its own deliveries wait meanwhile: the timers and the other subscriptions go on."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    # The readiness line: from here on, SIGTERM and SIGINT stop the worker cleanly.
    log.info("worker started (pass every %.1f s, %d webhook senders)", interval, senders)
    sending = threading.Thread(
        target=_deliver_until, args=(db, stop, interval, senders), name="webhooks"
    )
    sending.start()
    try:
        while not stop.is_set():
            if not sending.is_alive():
                raise RuntimeError("the webhook sender stopped; see the error logged above")
            _safely(lambda: tick(db, deliver=False), "pass")
            stop.wait(interval)
    finally:  # whatever ends the passes ends the sending too, so the process can exit
        stop.set()
        sending.join()
    log.info("worker stopped")


def _safely(work: Callable[[], Counter[str] | None], what: str) -> None:
    try:
        done = work()
        if done:
            log.info("%s: %s", what, dict(done))
    except OperationalError as error:
        log.warning("database unavailable, retrying: %s", error.orig)


def _deliver_until(db: Database, stop: threading.Event, interval: float, senders: int) -> None:
    """Lease due deliveries while a sender is free, never two of one subscription at once, and
    hand each to a sender; wait `interval` when nothing is due."""
    busy: set[str] = set()
    guard = threading.Lock()
    free = threading.Semaphore(senders)

    def send_one(client: httpx.Client, leased: Leased) -> None:
        try:
            _safely(lambda: Counter([f"webhooks_{send(db, client, leased)}"]), "webhook")
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("webhook %s could not be sent", leased.id)
        finally:
            with guard:
                busy.discard(leased.subscription_id)
            free.release()

    with webhook_client(db) as client, ThreadPoolExecutor(senders, "webhook-sender") as pool:
        while not stop.is_set():
            if not free.acquire(timeout=interval):
                continue
            with guard:
                skip = set(busy)
            leased = None
            try:
                leased = lease_next(db, now(), skip)
            except OperationalError as error:
                log.warning("database unavailable, retrying: %s", error.orig)
            except Exception:  # the timers go on; the next try may succeed
                log.exception("webhook deliveries could not be leased")
            if leased is None:
                free.release()
                stop.wait(interval)
                continue
            with guard:
                busy.add(leased.subscription_id)
            pool.submit(send_one, client, leased)


def webhook_client(db: Database) -> httpx.Client:
    """The client deliveries go through: to public addresses only, checked when connecting."""
    allow_private = db.settings.webhook_allow_private
    return httpx.Client(transport=CheckedTransport(allow_private=allow_private))
