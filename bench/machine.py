"""What the shared `transitions` machine adds to a transition, and what building one per case
would cost instead."""

import time
from collections.abc import Callable
from datetime import UTC, datetime

from transitions import Machine

from bench.report import Figure
from handoff.config import Settings, Windows
from handoff.domain import lifecycle
from handoff.domain.attempt import Attempt
from handoff.domain.case import Case, Participant
from handoff.domain.principals import Actor

DANA = Actor(kind="agent", id="dana", org_id="acme", role="rep")
# A round trip that fires two transitions and leaves the case as it found it.
THERE, BACK = "await_customer", "customer_responded"


class _Model:
    """A fresh model per machine, as a machine built per loaded case would get."""


def _case() -> tuple[Case, Attempt]:
    case = Case(
        id="bench",
        number=1,
        state="active",
        subject="Bench",
        customer={"name": "Carla Diaz"},
        first_contact_org_id="acme",
        owner_org_id="acme",
        owner_agent_id="dana",
        participants=[Participant(org_id="acme")],
        requests=[],
        handoffs=[],
        sessions=[],
    )
    attempt = Attempt(
        case=case,
        actor=DANA,
        now=datetime.now(UTC),
        windows=Windows.for_org(Settings(), None),
        params={"needed": "a photo of the label"},
    )
    return case, attempt


def _per_call(action: Callable[[], None], count: int) -> float:
    """Seconds per call, the best of three runs (the least disturbed by other work)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(count):
            action()
        best = min(best, (time.perf_counter() - started) / count)
    return best


def measure(count: int) -> list[Figure]:
    case, attempt = _case()
    rows = lifecycle.ROWS

    def by_hand() -> None:
        # What the machine does, written out: who, guards, state.
        for trigger in (THERE, BACK):
            row = rows[trigger]
            row.who(attempt)
            for guard in row.guards:
                guard(attempt)
            assert row.dest is not None
            case.state = row.dest

    def fired() -> None:
        lifecycle.fire(THERE, attempt)
        lifecycle.fire(BACK, attempt)

    def built_per_case() -> None:
        Machine(
            model=_Model(),
            states=list(lifecycle.STATES),
            transitions=[
                {"trigger": r.trigger, "source": list(r.source), "dest": r.dest}
                for r in lifecycle.CASE_TABLE
            ],
            initial="active",
            auto_transitions=False,
        )

    bare = _per_call(by_hand, count) / 2
    fire = _per_call(fired, count) / 2
    build = _per_call(built_per_case, max(50, count // 50))
    overhead_us = (fire - bare) * 1e6
    return [
        Figure(
            name="state machine overhead per transition",
            figure=overhead_us,
            unit="µs",
            reference=bare * 1e6,
            reference_name="the same guards called and the state set by hand",
            check="figure<=",
            target=20.0,
            note=f"lifecycle.fire {fire * 1e6:.1f} µs in all",
        ),
        Figure(
            name="a transitions.Machine built per case (avoided)",
            figure=build * 1e6,
            unit="µs",
            reference=fire * 1e6,
            reference_name="firing on the shared machine",
        ),
    ]
