"""The send-away check (SPEC §13): refuse customer-facing text that sends the customer elsewhere."""

from handoff.domain.send_away.check import SendAwayMatch, find_send_away
from handoff.domain.send_away.phrase_rules import PhraseRules, default_rules, load_rules
from handoff.domain.send_away.text import as_seen

__all__ = [
    "PhraseRules",
    "SendAwayMatch",
    "as_seen",
    "default_rules",
    "find_send_away",
    "load_rules",
]
