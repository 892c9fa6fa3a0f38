"""The `handoff` command: migrate, seed and verify a deployment's database."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import ValidationError
from rich.console import Console
from rich.progress import track
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from typer._click.exceptions import (  # Typer's own click (0.29+)
    ClickException,
    NoArgsIsHelpError,
    UsageError,
)

from handoff import demo
from handoff import seed as seeding
from handoff.config import Settings
from handoff.delivery import worker
from handoff.domain.errors import DomainError
from handoff.history import check as checker
from handoff.services import queries
from handoff.store import migrate
from handoff.store.db import Database, make_engine
from handoff.store.models import CaseRow

app = typer.Typer(
    help="handoff: one accountable owner per cross-company case.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="HANDOFF_DATABASE_URL",
        help="SQLAlchemy URL; default sqlite:///handoff.db in the working folder.",
        show_default=False,
    ),
]


class Failed(Exception):
    """Why the command could not do its work, in one line for the operator."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(1)


@contextmanager
def reported(settings: Settings | None = None) -> Iterator[None]:
    """Turn expected failures into one line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except Failed as error:
        _fail(str(error))
    except DomainError as error:
        _fail(error.message)
    except DBAPIError as error:
        where = f" at {shown_url(settings.database_url)}" if settings else ""
        _fail(f"the database{where} refused: {_first_line(error.orig)}")


def shown_url(url: str) -> str:
    """The URL without its password, fit for a terminal or a log."""
    try:
        return make_url(url)._replace(password=None).render_as_string(hide_password=False)
    except ArgumentError:
        return "(not a database URL)"


def _first_line(error: BaseException | None) -> str:
    return next(iter(str(error).strip().splitlines()), type(error).__name__)


def load_settings(database_url: str | None) -> Settings:
    """The deployment's settings; a bad HANDOFF_* value ends the command with one line."""
    try:
        return Settings(database_url=database_url) if database_url else Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "HANDOFF_" + "_".join(str(part) for part in first["loc"]).upper()
        _fail(f"{name}: {first['msg']}")


def open_database(settings: Settings, *, migrated: bool = True) -> Database:
    """Connect (or say in one line why not); `migrated`: also require the current schema."""
    url, shown = settings.database_url, shown_url(settings.database_url)
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        timeout: dict[str, Any] = {"connect_timeout": 10} if backend == "postgresql" else {}
        engine = make_engine(url, connect_args=timeout) if timeout else make_engine(url)
    except (ArgumentError, NoSuchModuleError):
        raise Failed(
            "the database URL is not one handoff can use: "
            "give sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
        ) from None
    except ImportError as error:
        raise Failed(
            f"the database URL needs a driver that is not installed ({error}); "
            "for PostgreSQL use postgresql+psycopg://"
        ) from None
    file = parsed.database if backend == "sqlite" else None
    if migrated and file and file != ":memory:" and not Path(file).exists():
        raise Failed(f"there is no database at {shown}; run `handoff db upgrade` first")
    try:
        with engine.execution_options(handoff_read_only=True).connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except DBAPIError as error:
        engine.dispose()
        raise Failed(f"cannot reach the database at {shown}: {_first_line(error.orig)}") from None
    if migrated and current != set(ScriptDirectory(str(migrate.SCRIPTS)).get_heads()):
        engine.dispose()
        raise Failed(
            f"the database at {shown} is not at the current schema; run `handoff db upgrade`"
        )
    return Database(settings, engine=engine)


@contextmanager
def database(settings: Settings, *, migrated: bool = True) -> Iterator[Database]:
    db = open_database(settings, migrated=migrated)
    try:
        yield db
    finally:
        db.dispose()


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"handoff {version('handoff')}")
        raise typer.Exit()


@app.callback()
def handoff(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """handoff: one accountable owner per cross-company case."""


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or migrate the schema to the newest revision."""
    settings = load_settings(database_url)
    with reported(settings), database(settings, migrated=False):
        migrate.upgrade(settings.database_url)
    head = ScriptDirectory(str(migrate.SCRIPTS)).get_current_head()
    typer.echo(f"{shown_url(settings.database_url)}: schema at revision {head}")


@db_app.command("downgrade")
def db_downgrade(
    database_url: DatabaseUrl = None,
    yes: Annotated[bool, typer.Option("--yes", help="Really drop every table.")] = False,
) -> None:
    """Drop every handoff table and all case history (back to an empty database)."""
    settings = load_settings(database_url)
    with reported(settings):
        if not yes:
            raise Failed(
                f"this drops every table and all history at {shown_url(settings.database_url)}; "
                "run again with --yes"
            )
        with database(settings, migrated=False):
            migrate.downgrade(settings.database_url)
    typer.echo(f"{shown_url(settings.database_url)}: every handoff table dropped")


@app.command("seed")
def seed_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A JSON seed file.", show_default=False)
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Create or update orgs, agents, partner systems, admins and their tokens from FILE."""
    with reported():
        seed_file = seeding.parse_seed(seeding.read_seed_file(file))
    settings = load_settings(database_url)
    with reported(settings), database(settings) as db:
        issued = seeding.seed(db, seed_file)
    typer.echo(_seed_summary(seed_file, len(issued)))
    for token in issued:
        typer.echo(f"  {token.principal_kind} {token.principal_id}: {token.token}")


def _seed_summary(seed_file: seeding.SeedFile, generated: int) -> str:
    orgs = seed_file.orgs
    summary = "seeded " + ", ".join(
        [
            _count(len(orgs), "org"),
            _count(sum(len(o.agents) for o in orgs), "agent"),
            _count(sum(len(o.systems) for o in orgs), "partner system"),
            _count(len(seed_file.admins), "admin"),
        ]
    )
    if generated:
        summary += f"; {_count(generated, 'new token')}, shown only now:"
    return summary


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@app.command("verify")
def verify_command(database_url: DatabaseUrl = None) -> None:
    """Verify every case's hash chain; exit status 1 when any chain is broken."""
    settings = load_settings(database_url)
    chains, events, broken = 0, 0, []
    with reported(settings), database(settings) as db:
        with db.reading() as session:
            total = session.scalar(select(func.count()).select_from(CaseRow)) or 0
        results = track(
            queries.verify_all(db),
            description="Verifying chains",
            total=total,
            transient=True,
            disable=not Console().is_terminal,
        )
        for case_id, verification in results:
            chains, events = chains + 1, events + verification.events
            if not verification.valid:
                broken.append(f"case {case_id} (first broken seq {verification.first_broken_seq})")
    counted = f"{_count(chains, 'chain')}, {_count(events, 'event')}"
    if not broken:
        typer.echo(f"{counted}: all valid")
        return
    typer.echo(f"{counted}: {len(broken)} broken: {', '.join(broken)}")
    raise typer.Exit(1)


@app.command("check")
def check_command(database_url: DatabaseUrl = None) -> None:
    """Check every case's invariants (owners, seq, chain, lifecycle table); exit 1 listing any
    violation."""
    settings = load_settings(database_url)
    cases, broken = 0, list[checker.Violation]()
    with reported(settings), database(settings) as db:
        for _case_id, found in checker.checked_cases(db):
            cases += 1
            broken.extend(found)
    if not broken:
        typer.echo(f"{_count(cases, 'case')} checked: every invariant holds")
        return
    in_cases = len({v.case_id for v in broken})
    typer.echo(
        f"{_count(cases, 'case')} checked: {_count(len(broken), 'violation')} "
        f"in {_count(in_cases, 'case')}"
    )
    for violation in broken:
        typer.echo(f"  {violation}")
    raise typer.Exit(1)


@app.command("demo")
def demo_command(
    database_url: DatabaseUrl = None,
    base_url: Annotated[
        str, typer.Option(envvar="HANDOFF_PUBLIC_URL", help="Where the server is, for the links.")
    ] = demo.DEFAULT_URL,
) -> None:
    """Load the three stories with their orgs, people and tokens; print how to use them."""
    settings = load_settings(database_url)
    with reported(settings), database(settings) as db:
        info = demo.load_demo(db)
    for line in info.lines(base_url):
        typer.echo(line)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the HTTP API and the web UI (uvicorn)."""
    settings = load_settings(database_url)
    # Fail here, in one line, rather than in every server process or at the first request.
    with reported(settings), database(settings) as db:
        try:
            db.rules  # noqa: B018 (read the deployment's send-away rules file now)
        except ValueError as error:
            raise Failed(str(error)) from None
    from api.server import serve  # the web stack is loaded only to serve

    typer.echo(f"handoff: API and UI on http://{host}:{port}/ (docs: /docs), Ctrl-C to stop")
    serve(host=host, port=port, workers=workers, database_url=settings.database_url)


@app.command("tick")
def tick_command(database_url: DatabaseUrl = None) -> None:
    """One pass of the worker: act on every window that passed, deliver due webhooks, exit."""
    settings = load_settings(database_url)
    with reported(settings), database(settings) as db:
        done = worker.tick(db)
    typer.echo(", ".join(f"{kind}: {n}" for kind, n in sorted(done.items())) or "nothing due")


@app.command("worker")
def worker_command(
    database_url: DatabaseUrl = None,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between passes.", show_default=True)
    ] = 5.0,
) -> None:
    """Run the timers and webhook delivery pass after pass, until SIGTERM or Ctrl-C."""
    settings = load_settings(database_url)
    configure_worker_logging()
    with reported(settings), database(settings) as db:
        worker.run(db, interval)


def configure_worker_logging() -> None:
    """The worker's lines at INFO; alembic's and `transitions`' (2 per change) only at WARNING."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for name in ("alembic", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)


send_away_app = typer.Typer(help="The send-away check (SPEC §13).", no_args_is_help=True)
app.add_typer(send_away_app, name="send-away")


@send_away_app.command("eval")
def send_away_eval_command(
    corpus: Annotated[
        Path, typer.Argument(metavar="FILE.jsonl", help="Lines of {text, send_away, lang?}.")
    ],
    rules_file: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            envvar="HANDOFF_SEND_AWAY_RULES",
            help="A deployment's own rules file, added to the built-in rules.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Precision, recall and the misses per language on your own labelled texts."""
    from handoff.domain.send_away import evaluate, load_rules

    try:
        report = evaluate.evaluate(corpus, load_rules(rules_file) if rules_file else None)
    except ValueError as bad:  # an unreadable or malformed corpus or rules file
        typer.echo(f"error: {' '.join(str(bad).split())}", err=True)
        raise typer.Exit(2) from None
    typer.echo(evaluate.format_report(report))


def main() -> None:
    """`handoff` itself. A usage mistake is one line on stderr and exit status 2, like every
    other failure (click's own report spans four lines: usage, a hint, a blank, the error)."""
    try:
        status = app(prog_name="handoff", standalone_mode=False)
    except NoArgsIsHelpError as bare:
        bare.show()  # `handoff` or `handoff db` alone: the help, as before
        raise SystemExit(bare.exit_code) from None
    except UsageError as mistake:
        where = mistake.ctx.command_path if mistake.ctx else "handoff"
        message = " ".join(mistake.format_message().split())
        typer.echo(f"error: {message} (see `{where} --help`)", err=True)
        raise SystemExit(mistake.exit_code) from None
    except ClickException as failure:  # e.g. a file option that cannot be opened
        typer.echo(f"error: {' '.join(failure.format_message().split())}", err=True)
        raise SystemExit(failure.exit_code) from None
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        raise SystemExit(1) from None
    raise SystemExit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
