"""The README tells the truth about the lifecycle table and the refusal codes."""

import re
from pathlib import Path

from handoff.domain import diagram

README = (Path(__file__).parents[2] / "README.md").read_text()
SPEC_CODES = [
    "invalid_transition",
    "owner_required",
    "cold_transfer_forbidden",
    "warm_session_required",
    "ping_pong",
    "open_requests",
    "send_away_language",
    "not_participant",
    "handoff_pending",
    "window_passed",
    "version_conflict",
]


def test_the_readme_state_diagram_is_the_one_generated_from_the_lifecycle_table() -> None:
    assert "```mermaid\n" + diagram.mermaid() + "```" in README


def test_the_readme_lists_every_refusal_code_of_the_spec() -> None:
    listed = set(re.findall(r"^\| `(\w+)`", README, flags=re.MULTILINE))
    assert set(SPEC_CODES) <= listed


def test_the_readme_gives_the_two_commands_for_a_fresh_machine() -> None:
    assert "make run" in README
    assert "make test" in README
