"""Where the engine found the send-away check before it moved to ``handoff.domain.send_away``."""

from handoff.domain.send_away import (
    PhraseRules,
    SendAwayMatch,
    as_seen,
    default_rules,
    find_send_away,
    load_rules,
)

__all__ = [
    "PhraseRules",
    "SendAwayMatch",
    "as_seen",
    "default_rules",
    "find_send_away",
    "load_rules",
]
