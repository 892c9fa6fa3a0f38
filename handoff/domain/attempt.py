"""One actor's attempt to fire one trigger on one case: what every guard looks at."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handoff.config import Windows
from handoff.domain.case import Case
from handoff.domain.principals import Actor
from handoff.domain.send_away import PhraseRules


@dataclass
class Attempt:
    case: Case
    actor: Actor
    now: datetime
    windows: Windows
    params: dict[str, Any] = field(default_factory=dict)
    rules: PhraseRules | None = None

    def text(self, name: str) -> str:
        """A text parameter, stripped; missing counts as empty."""
        value = self.params.get(name)
        return value.strip() if isinstance(value, str) else ""
