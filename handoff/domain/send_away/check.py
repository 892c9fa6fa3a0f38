"""Does customer-facing text send the customer away? The phrase rules explain; the model catches
what they miss."""

from __future__ import annotations

from dataclasses import dataclass

from handoff.domain.send_away import model, phrase_rules
from handoff.domain.send_away.phrase_rules import PhraseRules, default_rules
from handoff.domain.send_away.text import as_meant, as_seen


@dataclass(frozen=True)
class SendAwayMatch:
    phrase: str  # the deciding words exactly as written in the input
    rule: str  # the rule that matched, or the model with its score ("model:0.97")


def find_send_away(text: str, rules: PhraseRules | None = None) -> SendAwayMatch | None:
    """The words in ``text`` that send the customer elsewhere, or None if it is honest."""
    if rules is None:
        rules = default_rules()
    seen, origin = as_meant(*as_seen(text))
    found = phrase_rules.first_match(seen, rules) or model.first_match(seen)
    if found is None:
        return None
    start, end, rule = found
    return SendAwayMatch(phrase=text[origin[start] : origin[end - 1] + 1], rule=rule)
