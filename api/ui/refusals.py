"""A refusal in the words of the people who read it: orgs and people by name, never by id.

The engine's refusal texts name orgs and agents by id (the API's clients read the ids in the
refusal's details beside them). The pages, and the timelines of stored `refused` events, say the
same from the code and its details with the directory's names; a refusal whose details do not
carry what its sentence needs keeps the engine's text.
"""

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from api.ui.pages import Problem
from handoff.domain.errors import DomainError, Refusal
from handoff.services.directory import Directory

Details = Mapping[str, Any]
Sentence = Callable[[Details, Directory], str | None]


def listed(items: list[str]) -> str:
    """a, b and c."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _open_requests(d: Details, names: Directory) -> str | None:
    requests = [r for r in d.get("requests") or [] if isinstance(r, Mapping) and r.get("to_org")]
    if not requests:
        return None
    owing = sorted({names.org_name(r["to_org"]) for r in requests})
    verb = "owes" if len(owing) == 1 else "owe"
    return f"The case cannot be resolved while {listed(owing)} still {verb} work on it."


def _warm_session_required(d: Details, names: Directory) -> str | None:
    # `waiting_for` names each agent; refusals recorded before it existed kept them in `missing`.
    named = d.get("waiting_for") or d.get("missing") or []
    as_dicts = [{"party": m} if isinstance(m, str) else m for m in named]
    missing = [m for m in as_dicts if isinstance(m, Mapping) and m.get("party")]
    if not missing:
        return None
    who = [
        f"the {m['party']} ({names.person_name(m['agent_id'])})"
        if m.get("agent_id")
        else f"the {m['party']}"
        for m in missing
    ]
    proof = (
        " (by their own link or a partner system: this org verifies it)"
        if d.get("customer_presence") == "verified"
        else ""
    )
    return (
        "A handoff is accepted only in a live joint session with the owner, the receiver and the "
        f"customer all present. Missing: {listed(who)}{proof}."
    )


def _ping_pong(d: Details, names: Directory) -> str | None:
    if not d.get("org_id"):
        return None
    return (
        f"{names.org_name(d['org_id'])} already owned this case and handed it off; it cannot be "
        "bounced back unless a supervisor overrides with a reason."
    )


def _cold_transfer(d: Details, names: Directory) -> str | None:
    if not (d.get("agent_id") and d.get("agent_org") and d.get("owner_org")):
        return None  # the acceptor of another org's handoff: the engine's text names nobody
    return (
        f"{names.person_name(d['agent_id'])} belongs to {names.org_name(d['agent_org'])}, not "
        f"the owner org {names.org_name(d['owner_org'])}: ownership leaves an org only by a warm "
        "handoff the receiver accepts."
    )


def _not_participant(d: Details, names: Directory) -> str | None:
    if not d.get("org_id"):
        return None
    advice = "; add it as a participant first" if "participants" in d else ""
    return f"{names.org_name(d['org_id'])} is not a participant of this case{advice}."


def _owner_required(d: Details, names: Directory) -> str | None:
    if d.get("agent_id"):
        return (
            f"{names.person_name(d['agent_id'])} cannot own cases (inactive or not a rep or "
            "supervisor); the case would be left without an owner agent."
        )
    if d.get("org_id"):
        return f"{names.org_name(d['org_id'])} has nobody active to own the case now."
    return None


SENTENCES: dict[str, Sentence] = {
    "open_requests": _open_requests,
    "warm_session_required": _warm_session_required,
    "ping_pong": _ping_pong,
    "cold_transfer_forbidden": _cold_transfer,
    "not_participant": _not_participant,
    "owner_required": _owner_required,
}


def in_words(code: str, message: str, details: Details, names: Directory) -> str:
    """The refusal's sentence with names; the engine's own when it names nobody."""
    sentence = SENTENCES.get(code)
    try:
        said = sentence(details, names) if sentence else None
    except (KeyError, TypeError, AttributeError):  # details of an older shape: as stored
        said = None
    return said or message


def named(problem: Problem, error: DomainError, names: Directory) -> Problem:
    """The problem a page shows for `error`, its sentence in names."""
    if isinstance(error, Refusal) and error.code in SENTENCES:
        return replace(problem, message=in_words(error.code, problem.message, error.details, names))
    return problem
