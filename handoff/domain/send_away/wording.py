"""Grammar shared by the phrase rules of every language: how a word list becomes a small regular
expression, who can be "the other party", and when a contact verb is a noun.

Word lists become one prefix tree each ("call", "call up", "calling" share "call"), which Python
compiles and runs far faster than a flat alternation of hundreds of wordings. The other party is
matched loosely by the expression (up to four words) and then checked here against the language's
word lists, so no rule carries a copy of those lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Grammar, not wording: words that cannot start or continue the name of the other party. They keep
# the quoted phrase short ("contact your bank" rather than "contact your bank about the charge")
# and stop noun uses of a verb ("Email sent to the bank.", "Contact details updated.").
DETERMINERS = ("your", "the", "a", "an", "their", "its", "his", "her", "my")
NOT_A_PARTY = (
    *DETERMINERS,
    "about", "for", "to", "regarding", "re", "directly", "and", "or", "but", "if", "on", "in", "at",
    "with", "by", "from", "via", "through", "so", "because", "as", "when", "once", "today",
    "tomorrow", "now", "asap", "immediately", "please", "too", "also", "instead", "then",
    "yourself", "you", "who", "which", "that", "this", "it", "is", "are", "was", "were", "has",
    "have", "had", "will", "would", "can", "could", "should", "be", "been", "not", "no", "later",
    "soon", "before", "after", "until", "sent", "made", "logged", "received", "scheduled",
    "attempted", "completed", "placed", "booked", "confirmed", "pending", "failed", "details",
    "info", "information", "notes", "summary", "number", "address", "history", "log", "record",
    # Particles: "reach" must not take "out to our team" as the party.
    "out", "up", "over", "down", "off", "back", "around", "round",
    # Keywords texted to a number: "Text REPLY to this number".
    "reply", "stop", "yes", "help",
)  # fmt: skip

# The other party as the expression sees it: up to four words, not inside a word, but after an
# elided article ("auprès d'Enedis", "l'assureur"); `PartyWords.check` then reads the words.
PARTY = r"(?<![\w-])(?:(?<!')|(?<=\b[dlDL]'))[^\W\d_][\w'&-]*(?:[ \t]+[^\W\d_][\w'&-]*){0,3}"
_TOKEN = re.compile(r"[^ \t]+")


def words(phrase: str) -> str:
    """Regex for a wording: any run of whitespace between its words."""
    return r"\s+".join(re.escape(w) for w in phrase.split())


def any_of(phrases: list[str]) -> str:
    """One regular expression for a list of wordings, as a prefix tree. Where one wording extends
    another ("reach" / "reach out to") the longer is tried first, so the quoted phrase is whole."""
    tree: dict[str, dict] = {}  # type: ignore[type-arg]
    for phrase in phrases:
        node = tree
        for char in " ".join(phrase.lower().split()):
            node = node.setdefault(char, {})
        node[""] = {}
    return f"(?:{_branch(tree)})" if tree else "(?!)"


def _branch(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
    arms = [(r"\s+" if c == " " else re.escape(c)) + _branch(node[c]) for c in sorted(node) if c]
    if "" not in node:
        return arms[0] if len(arms) == 1 else "(?:" + "|".join(arms) + ")"
    return "(?:" + "|".join(arms) + ")?" if arms else ""


def gerund(verb: str) -> str:
    """'call up' -> 'calling up', so "Try calling your bank" needs no extra list entry."""
    first, _, rest = verb.partition(" ")
    w = first.lower()
    if w.endswith("ie"):
        w = w[:-2] + "y"
    elif w.endswith("e") and not w.endswith(("ee", "ye", "oe")):
        w = w[:-1]
    elif re.fullmatch(r"[^aeiou]*[aeiou][bdgmnprt]", w):
        w += w[-1]  # get -> getting, chat -> chatting
    return f"{w}ing {rest}".strip()


@dataclass(frozen=True)
class PartyWords:
    """What may name the other party in one language's rules."""

    determiners: frozenset[str]
    not_a_party: frozenset[str]
    ours: re.Pattern[str]  # our side, in any language, where a party would start

    @classmethod
    def of(cls, determiners: list[str], not_a_party: list[str], ours: list[str]) -> PartyWords:
        dets = frozenset(w.lower() for w in [*DETERMINERS, *determiners])
        others = frozenset(w.lower() for w in [*NOT_A_PARTY, *not_a_party] if " " not in w)
        return cls(dets, dets | others, re.compile(rf"{any_of(ours)}(?!\w)", re.IGNORECASE))

    def check(self, seen: str, start: int, end: int) -> int | None:
        """Where the party found at ``seen[start:end]`` ends, or None if it names nobody else:
        articles, then words up to the first that cannot be part of a name."""
        if self.ours.match(seen, start):
            return None
        tokens = list(_TOKEN.finditer(seen, start, end))
        first = 0  # past the articles: "la sua banca", "the council's"
        while first + 1 < len(tokens) and tokens[first].group().lower() in self.determiners:
            first += 1
        if tokens[first].group().lower() in self.not_a_party:
            return None
        last = first
        while last + 1 < len(tokens) and tokens[last + 1].group().lower() not in self.not_a_party:
            last += 1
        return tokens[last].end()


# "Call volumes are high", "Contact lenses dispatched", "Text alerts have been switched on": the
# verb is a noun when a bare word follows it and the sentence then goes on with a verb of its own.
_NOT_A_NOUN = (
    r"(?!(?:your|the|a|an|their|its|his|her|my|them|him|us|me|will|would|can|could|should|must|"
    r"may|might|need|have|had|to|about|with|at|on|asap|directly|and|or)\b)"
)
_NOUN_USE = re.compile(
    r"[A-Z][a-z]*\s+(?:(?!need\b)[a-z]+ed\b|sent\b|"
    rf"(?:{_NOT_A_NOUN}[a-z][a-z-]*\s+){{1,4}}"
    r"(?:is|are|was|were|isn't|aren't|wasn't|weren't|has|have|had|been|being|will|now|today|sent"
    r"|(?!need\b)\w+ed)\b)"
)

# "Contact form on our website is working again", "Phone charger and cable added to the box",
# "Contact centre opening hours change next month": a bare word after the verb, and the same
# clause then has a verb of its own before anyone else is its subject ("Contact support so they
# are aware" stays an order).
_PREDICATE = (
    r"(?:is|are|was|were|isn't|aren't|wasn't|weren't|has|have|had|been|now|(?:re-)?sent|added"
    r"|included|attached|working|changes?|(?!need\b)[a-z]+ed)"
)
_NOUN_PHRASE = re.compile(
    rf"[A-Z][a-z]*\s+{_NOT_A_NOUN}(?!(?:me|him|her|you|them|us|support|reception)\b)[a-z][a-z-]*\b"
    r"(?:(?!\s+(?:you|they|he|she|we|it|who|which|that|if|so|because|when|as)\b)[^,;:.!?\n])*?"
    rf"\s{_PREDICATE}\b"
)


def a_noun_not_an_order(seen: str, start: int) -> bool:
    return bool(_NOUN_USE.match(seen, start) or _NOUN_PHRASE.match(seen, start))
