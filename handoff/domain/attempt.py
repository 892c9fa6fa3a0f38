"""One actor's attempt to fire one trigger on one case: what every guard looks at."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handoff.config import Windows
from handoff.domain.case import Case
from handoff.domain.principals import Actor
from handoff.send_away import PhraseRules


@dataclass
class Attempt:
    case: Case
    actor: Actor
    now: datetime
    windows: Windows
    params: dict[str, Any] = field(default_factory=dict)
    rules: PhraseRules | None = None
    # Further events this change causes (e.g. each request cancelled by a withdraw), in order.
    followups: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # The request, handoff or session this attempt created, for the caller.
    created: Any = None

    def text(self, name: str) -> str:
        """A text parameter, stripped; missing counts as empty."""
        value = self.params.get(name)
        return value.strip() if isinstance(value, str) else ""

    def follow_with(self, event_type: str, **data: Any) -> None:
        self.followups.append((event_type, data))
