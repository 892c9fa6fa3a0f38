"""A stored `warm_session_required` refusal reads in names, whichever shape its details have."""

import pytest

from api.ui.refusals import in_words
from handoff.services.directory import Directory, Person

NAMES = Directory(
    orgs={"acme": "Acme Store", "firstbank": "First Bank"},
    people={
        "dana": Person("dana", "acme", "Dana Reyes", "rep", True),
        "ben": Person("ben", "firstbank", "Ben Okafor", "rep", True),
    },
)
SAID = (
    "A handoff is accepted only in a live joint session with the owner, the receiver and the "
    "customer all present. Missing: the owner (Dana Reyes), the receiver (Ben Okafor) and the "
    "customer."
)


@pytest.mark.parametrize(
    "details",
    [
        pytest.param(
            {
                "missing": ["owner", "receiver", "customer"],
                "waiting_for": [
                    {"party": "owner", "agent_id": "dana"},
                    {"party": "receiver", "agent_id": "ben"},
                    {"party": "customer"},
                ],
            },
            id="names in missing, agents in waiting_for",
        ),
        pytest.param(
            {
                "missing": [
                    {"party": "owner", "agent_id": "dana"},
                    {"party": "receiver", "agent_id": "ben"},
                    {"party": "customer"},
                ]
            },
            id="as recorded before waiting_for",
        ),
    ],
)
def test_a_refused_acceptance_names_the_people_missing(details: dict[str, object]) -> None:
    assert in_words("warm_session_required", "engine text", details, NAMES) == SAID


def test_a_refusal_naming_parties_only_names_the_parties() -> None:
    said = in_words("warm_session_required", "engine text", {"missing": ["customer"]}, NAMES)
    assert said.endswith("Missing: the customer.")
