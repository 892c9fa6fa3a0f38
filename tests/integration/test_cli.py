"""The `handoff` command line, on every database."""

from pathlib import Path

from sqlalchemy import JSON, bindparam, func, select, text
from typer.testing import CliRunner, Result

from handoff import demo, services
from handoff.cli import app
from handoff.store.append_only import drop_append_only, install_append_only
from handoff.store.db import Database
from handoff.store.models import CaseRow, Credential, Event, Org
from tests.integration.world import World

# The seed file of SPEC §11, as written there.
SPEC_EXAMPLE = """\
{"orgs": [{"id": "acme", "name": "Acme Store", "kind": "merchant",
           "agents": [{"id": "dana", "name": "Dana Reyes", "role": "rep", "token": "tok-dana"},
                      {"id": "sam", "name": "Sam Ortiz", "role": "supervisor", "token": "tok-sam"}],
           "systems": [{"id": "acme-crm", "token": "tok-acme-crm"}]},
          {"id": "firstbank", "name": "First Bank", "kind": "bank", "agents": [], "systems": []}],
 "admins": [{"id": "root", "token": "tok-root"}]}
"""


def handoff(*args: str, url: str | None = None) -> Result:
    """Run the command in-process; an exception it did not mean to raise fails the test."""
    env = {"HANDOFF_DATABASE_URL": url} if url else {}
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def seed_file(tmp_path: Path, content: str = SPEC_EXAMPLE) -> str:
    path = tmp_path / "seed.json"
    path.write_text(content)
    return str(path)


def counts(db: Database) -> tuple[int, int]:
    with db.reading() as session:
        orgs = session.scalar(select(func.count()).select_from(Org))
        credentials = session.scalar(select(func.count()).select_from(Credential))
        return orgs or 0, credentials or 0


def test_seed_prints_a_summary_and_a_generated_token_only_once(
    db: Database, tmp_path: Path
) -> None:
    url = db.settings.database_url
    path = seed_file(tmp_path, SPEC_EXAMPLE.replace(', "token": "tok-sam"', ""))

    first = handoff("seed", path, url=url)

    assert first.exit_code == 0, first.stderr
    summary, line = first.stdout.splitlines()
    assert summary.startswith("seeded 2 orgs, 2 agents, 1 partner system, 1 admin")
    assert line.strip().startswith("agent sam: ")
    token = line.split(": ", 1)[1]
    sam = services.authenticate(db, token)
    assert sam is not None
    assert (sam.id, sam.role) == ("sam", "supervisor")

    second = handoff("seed", path, url=url)

    assert second.exit_code == 0, second.stderr
    assert second.stdout == "seeded 2 orgs, 2 agents, 1 partner system, 1 admin\n"
    assert counts(db) == (2, 4)


def test_seed_keeps_given_tokens_only_as_hashes(db: Database, tmp_path: Path) -> None:
    assert handoff("seed", seed_file(tmp_path), url=db.settings.database_url).exit_code == 0

    with db.reading() as session:
        stored = str([tuple(r) for r in session.execute(text("SELECT * FROM credentials"))])
    for token in ("tok-dana", "tok-sam", "tok-acme-crm", "tok-root"):
        assert token not in stored
        assert services.authenticate(db, token) is not None


def test_seed_names_a_missing_file_in_one_line(db: Database, tmp_path: Path) -> None:
    result = handoff("seed", str(tmp_path / "nope.json"), url=db.settings.database_url)

    assert_one_line_error(result, "seed file not found", "nope.json")


def test_seed_gives_the_line_and_column_of_invalid_json(db: Database, tmp_path: Path) -> None:
    path = seed_file(tmp_path, '{"orgs": [\n  {"id": "acme",, }]}')

    result = handoff("seed", path, url=db.settings.database_url)

    assert_one_line_error(result, "invalid JSON at line 2, column 17")
    assert counts(db) == (0, 0)


def test_seed_names_the_bad_field_and_writes_nothing(db: Database, tmp_path: Path) -> None:
    path = seed_file(tmp_path, SPEC_EXAMPLE.replace('"role": "supervisor"', '"role": "boss"'))

    result = handoff("seed", path, url=db.settings.database_url)

    assert_one_line_error(result, "orgs[0].agents[1].role: must be one of rep, supervisor, auditor")
    assert counts(db) == (0, 0)


def test_seed_refuses_an_agent_of_another_org_and_writes_nothing(
    world: World, tmp_path: Path
) -> None:
    before = counts(world.db)
    path = seed_file(tmp_path, SPEC_EXAMPLE.replace('"id": "acme"', '"id": "zeta"'))

    result = handoff("seed", path, url=world.db.settings.database_url)

    assert_one_line_error(result, "orgs[0].agents[0].id: agent dana belongs to acme, not zeta")
    assert counts(world.db) == before


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://clerk:s3cret@127.0.0.1:1/handoff"

    result = handoff("seed", seed_file(tmp_path), url=url)

    assert_one_line_error(result, "cannot reach the database at", "clerk@127.0.0.1:1/handoff")
    assert "s3cret" not in result.output


def test_a_database_without_the_schema_is_told_to_upgrade(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()

    result = handoff("verify", url=f"sqlite:///{empty}")

    assert_one_line_error(result, "not at the current schema", "handoff db upgrade")


def test_db_upgrade_creates_the_schema_and_downgrade_needs_yes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    assert handoff("db", "upgrade", url=url).exit_code == 0
    assert handoff("verify", url=url).stdout == "0 chains, 0 events: all valid\n"

    assert_one_line_error(handoff("db", "downgrade", url=url), "--yes")
    assert handoff("verify", url=url).exit_code == 0

    assert handoff("db", "downgrade", "--yes", url=url).exit_code == 0
    assert_one_line_error(handoff("verify", url=url), "handoff db upgrade")


def test_db_upgrade_on_a_current_database_changes_nothing(db: Database) -> None:
    result = handoff("db", "upgrade", "--database-url", db.settings.database_url)

    assert result.exit_code == 0, result.stderr
    assert "schema at revision" in result.stdout


def create_cases(world: World) -> list[str]:
    """Two cases with a few events each."""
    dana, crm = world.agent("dana"), world.system("acme-crm")
    first = services.create_case(world.db, crm, customer={"name": "Carla"}, subject="A hold")
    services.claim(world.db, dana, first.id)
    second = services.create_case(world.db, dana, customer={"name": "Dev"}, subject="A part")
    return [first.id, second.id]


def event_count(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def test_verify_says_all_valid_on_an_untouched_database(world: World) -> None:
    create_cases(world)

    result = handoff("verify", url=world.db.settings.database_url)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"2 chains, {event_count(world.db)} events: all valid\n"


def test_verify_names_the_tampered_case_and_its_first_broken_seq(world: World) -> None:
    first, _second = create_cases(world)
    edit = text("UPDATE events SET data = :data WHERE case_id = :case_id AND seq = 2")
    with world.db.engine.begin() as conn:
        # One transaction: the triggers are back before anyone else can see them gone.
        drop_append_only(conn)
        conn.execute(
            edit.bindparams(bindparam("data", type_=JSON)),
            {"data": {"forged": True}, "case_id": first},
        )
        install_append_only(conn)

    result = handoff("verify", url=world.db.settings.database_url)

    assert result.exit_code == 1
    assert result.stdout == (
        f"2 chains, {event_count(world.db)} events: 1 broken: case {first} (first broken seq 2)\n"
    )


def test_version_is_printed() -> None:
    result = handoff("--version")

    assert result.exit_code == 0
    assert result.stdout.startswith("handoff ")


def test_serve_with_an_unreadable_send_away_rules_file_stops_in_one_line(
    db: Database, tmp_path: Path
) -> None:
    broken = tmp_path / "rules.json"
    broken.write_text("{not json")
    for rules, fragment in ((tmp_path / "missing.json", "cannot be read"), (broken, "rules.json")):
        env = {
            "HANDOFF_DATABASE_URL": db.settings.database_url,
            "HANDOFF_SEND_AWAY_RULES": str(rules),
        }
        # An address nothing can listen on: had the check not stopped it, serving fails at once.
        serve = ["serve", "--host", "256.0.0.1", "--port", "8999"]
        result = CliRunner().invoke(app, serve, env=env)
        assert_one_line_error(result, "send-away rules", fragment)


def test_demo_after_seeding_the_spec_example_adds_what_is_missing_and_tells_the_stories(
    db: Database, tmp_path: Path
) -> None:
    url = db.settings.database_url
    assert handoff("seed", seed_file(tmp_path), url=url).exit_code == 0

    first = handoff("demo", url=url)
    again = handoff("demo", url=url)

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    with db.reading() as session:
        subjects = set(session.scalars(select(CaseRow.subject)))
        vendo = session.get(Org, "vendo")
    assert set(demo.STORIES.values()) <= subjects
    assert vendo is not None
    assert again.output.count("/c/") == first.output.count("/c/") == len(demo.STORIES)


def test_demo_over_people_it_does_not_fit_stops_in_one_line_and_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    url = db.settings.database_url
    clashing = SPEC_EXAMPLE.replace('"role": "rep", "token": "tok-dana"', '"role": "supervisor"')
    assert handoff("seed", seed_file(tmp_path, clashing), url=url).exit_code == 0

    result = handoff("demo", url=url)

    assert_one_line_error(result, "agent dana is not an active rep of acme")
    with db.reading() as session:
        assert session.scalars(select(Org.id).where(Org.id == "vendo")).first() is None
        assert session.scalars(select(CaseRow.id)).first() is None
