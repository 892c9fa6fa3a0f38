"""Hash chains verified a slice of cases at a time. Every case's (`handoff verify`): in this
process, or for a long history in worker processes, since hashing (not the database) is what one
process waits on. The cases a query chooses (an auditor's, over HTTP): in this process only."""

import os
import typing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from itertools import chain, groupby, islice
from multiprocessing import get_context
from operator import itemgetter
from typing import Any

from sqlalchemy import Dialect, Select, String, Text, cast, select, type_coerce
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from handoff.config import Settings
from handoff.history.chain import STORED_EVENT, StoredHashes, Verification
from handoff.store.db import Database, make_engine
from handoff.store.models import CaseRow, Event, UTCDateTime, format_time

VERIFY_SLICE = 1000  # cases per statement, and per task given to a worker
PARALLEL_FROM = 200_000  # events; fewer are verified about as soon without starting processes
IN_FLIGHT = 2  # slices per worker given out ahead: workers never wait, memory stays bounded

Verified = list[tuple[str, Verification]]


def verify_all(
    db: Database, *, workers: int | None = None, slice_size: int = VERIFY_SLICE
) -> Iterator[tuple[str, Verification]]:
    """Every case's chain, in case number order, streamed in constant memory.

    `workers` processes verify the slices (by default one per CPU, if the history is long
    enough); with 1, or on an in-memory SQLite database, which no other process can open, they
    are verified in this one.
    """
    with db.reading() as session:
        lengths = session.execute(
            select(CaseRow.id, CaseRow.last_seq).order_by(CaseRow.number)
        ).all()
    ids = [case_id for case_id, _seq in lengths]
    slices = [ids[start : start + slice_size] for start in range(0, len(ids), slice_size)]
    if workers is None:
        workers = _cpus() if sum(last_seq for _id, last_seq in lengths) >= PARALLEL_FROM else 1
    url = _url_for_workers(db.engine.url)
    if min(workers, len(slices)) < 2 or url is None:
        for case_ids in slices:
            yield from verify_slice(db, case_ids)
        return
    settings = db.settings.model_copy(update={"database_url": url})
    yield from _in_workers(settings, slices, min(workers, len(slices)))


def verify_cases(
    db: Database, cases: Select[Any], *, slice_size: int = VERIFY_SLICE
) -> Iterator[tuple[str, Verification]]:
    """The chains of the cases `cases` selects, in case number order, in this process.

    The ids are read a slice at a time (keyset on the case number), so memory stays flat
    however many cases there are.
    """
    page = (
        cases.with_only_columns(CaseRow.id, CaseRow.number)
        .order_by(CaseRow.number)
        .limit(slice_size)
    )
    after = None
    while True:
        with db.reading() as session:
            numbered = session.execute(
                page if after is None else page.where(CaseRow.number > after)
            ).all()
        if not numbered:
            return
        yield from verify_slice(db, [case_id for case_id, _number in numbered])
        if len(numbered) < slice_size:
            return
        after = numbered[-1][1]


# A slice's rows: each case's head, then one of its events as STORED_EVENT holds it, or Nones.
HEAD = (CaseRow.id, CaseRow.last_seq, CaseRow.last_hash)
EVENT_FROM = len(HEAD)
SEQ = EVENT_FROM + STORED_EVENT.index("seq")


def verify_slice(db: Database, case_ids: list[str]) -> Iterator[tuple[str, Verification]]:
    """The chains of these cases, in case number order, read by one streamed statement as plain
    rows: a case's head comes with its events, so one written to meanwhile is verified as it
    stood then, not taken for a broken one."""
    dialect = db.engine.dialect
    query = (
        select(*HEAD, *_stored_event(dialect))
        .select_from(CaseRow)
        .outerjoin(Event, Event.case_id == CaseRow.id)
        .where(CaseRow.id.in_(case_ids))
        .order_by(CaseRow.number, Event.seq)
    )
    hashes = StoredHashes(_time_spelling(dialect))
    with db.reading() as session:
        # Through the connection: plain rows, with none of the ORM's work per row.
        rows = session.connection().execute(query.execution_options(yield_per=VERIFY_SLICE))
        for case_id, case_rows in groupby(rows, key=itemgetter(0)):
            first = next(case_rows)
            events: Iterator[Any] = iter(())
            if first[SEQ] is not None:  # a case with no event has one row, of Nones
                events = (row[EVENT_FROM:] for row in chain((first,), case_rows))
            yield case_id, hashes.verify(events, (first[1], first[2]))


def _stored_event(dialect: Dialect) -> list[Any]:
    """The columns of STORED_EVENT: `data` as its JSON text (PostgreSQL's json type keeps the
    text it was given), and on SQLite `at` as its stored text too."""
    at = type_coerce(Event.at, String) if dialect.name == "sqlite" else Event.at
    as_stored = {"at": at.label("at"), "data": cast(Event.data, Text).label("data")}
    return [as_stored.get(name, getattr(Event, name)) for name in STORED_EVENT]


def _time_spelling(dialect: Dialect) -> Callable[[Any], str]:
    """How `at`, as _stored_event reads it, is spelled in the hash (as format_time spells it)."""
    if dialect.name != "sqlite":
        return format_time  # the driver reads a datetime
    read = typing.cast(Callable[[str], datetime], UTCDateTime().result_processor(dialect, None))

    def spell(stored: str) -> str:
        # SQLAlchemy keeps a UTC time in SQLite as "YYYY-MM-DD HH:MM:SS.ffffff": moving its
        # pieces spells it as format_time would, without parsing it.
        if len(stored) == 26 and stored[10] == " " and stored[19] == ".":
            return f"{stored[:10]}T{stored[11:]}+00:00"
        return format_time(read(stored))

    return spell


def _in_workers(
    settings: Settings, slices: list[list[str]], workers: int
) -> Iterator[tuple[str, Verification]]:
    """The slices verified by worker processes, yielded in their order; closing the generator
    early cancels the slices not begun and waits for the workers to end."""
    pool = ProcessPoolExecutor(
        workers,
        # A fresh interpreter: no connection, lock or thread of this process is inherited.
        mp_context=get_context("spawn"),
        initializer=_open_database,
        initargs=(settings,),
    )
    try:
        waiting = iter(slices)
        pending: deque[Future[Verified]] = deque(
            pool.submit(_verify_in_worker, ids) for ids in islice(waiting, IN_FLIGHT * workers)
        )
        while pending:
            verified = pending.popleft().result()
            pending.extend(pool.submit(_verify_in_worker, ids) for ids in islice(waiting, 1))
            yield from verified
    finally:
        pool.shutdown(cancel_futures=True)


def _url_for_workers(url: URL) -> str | None:
    """The URL another process opens the same database by; None for an in-memory SQLite one."""
    database = url.database or ""
    in_memory = (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or url.query.get("mode") == "memory"
    )
    if url.get_backend_name() == "sqlite" and in_memory:
        return None
    return url.render_as_string(hide_password=False)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_worker_database: list[Database] = []  # the worker process's own, opened once


def _open_database(settings: Settings) -> None:
    # No pool: each slice's connection is closed after it, so none is left open as a worker ends.
    _worker_database.append(
        Database(settings, make_engine(settings.database_url, poolclass=NullPool))
    )


def _verify_in_worker(case_ids: list[str]) -> Verified:
    return list(verify_slice(_worker_database[0], case_ids))
