"""Word classes in four languages that tell who is asked to act, and toward whom.

The model reads a clause as a sequence of these classes and the remaining words, so it learns
"ADVISE CONTACT PARTY" once rather than each wording: the customer told to act (ADVISE), us acting
(WE), the other party acting (PARTY ... FUTURE), negations (NEG) and reported history (REPORTED).
The wordings are in lexicon_classes.py.
"""

from __future__ import annotations

import re
from itertools import pairwise

from handoff.domain.send_away.lexicon_classes import CLASSES


def _alternatives(alternatives: list[str]) -> str:
    ordered = sorted(alternatives, key=len, reverse=True)  # "reach out" before "reach"
    return "(?:" + "|".join(ordered) + ")"


# All classes in one expression, one named group each, tried in the order listed: one pass over a
# clause, where a pattern per class would each walk every character of it.
_TAGS = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(
        rf"(?P<{name}>{_alternatives(alternatives)})(?![\w'])"
        for name, alternatives in CLASSES.items()
    )
    + ")"
)


def tagged(clause: str) -> list[str]:
    """The clause's words, each run that belongs to a class replaced by the class's name; where
    two classes could start at the same word, the one listed first wins."""
    out: list[str] = []
    last = 0
    for m in _TAGS.finditer(clause):
        out += clause[last : m.start()].split()
        out.append(m.lastgroup or "")
        last = m.end()
    out += clause[last:].split()
    return out


# A party is also "them" or "they" once named, or the owner of a team: "the council's team".
_PARTY = re.compile(
    r"(?<![\w'])(?:" + "|".join(CLASSES["PARTY"]) + r"|them|they|their|ellos|eux|ihnen|denen)"
    r"(?:'s)?(?![\w'])"
)
# A name inside a sentence ("reach out to Visa", "Lucia from Banco Sabadell"), not its first word,
# or in capitals anywhere ("DPD lost it", "SAV"), or a first word that owns or does something
# ("Microsoft would be the ones", "Samsung s'occupe", "Zara tiene").
_INSIDE = re.compile(
    r"(?:(?<=[\w,'\"]\s)|(?<=\b[dlDL]'))(?!(?:I|I'm|I'd|I'll|I've|We|Our|Us|OK)\b)[A-Z][\w&'-]+"
)
_NAME = re.compile(
    r"(?<![\w'])(?!(?:OK|PS|FYI|ASAP|NB|PIN|ID|SMS|URL|PDF|TV|UK|EU|USB|VAT|IBAN|FAQ)\b)"
    r"[A-Z]{2,}[A-Za-z&]*\b"
    r"|(?:^|(?<=[.!?]\s))(?!(?:I|We|Our|Your|The|This|That|It|Please|Thanks|Sorry|Hi|Hello"
    r"|Nous|Vous|Votre|Nosotros|Usted|Su|Wir|Sie|Ihr|Ihre|Unser|Bitte|Le|La|Les|El|Los|Las"
    r"|Der|Die|Das|Merci|Gracias|Danke)\b)[A-Z][a-z]+(?:'s)?\s(?:would|will|can|could|is|are"
    r"|handles?|deals?|decides?|s'occupe|gere|rembourse|gestiona|tiene|se encarga|kann|muss"
    r"|ist|bearbeitet|doit|debe|should|needs?)\b"
)


# German writes every noun with a capital ("Bitte prüfen Sie den Sicherungskasten"), so there a
# capital inside a sentence names nobody: a text with two of these words reads as German.
_GERMAN = frozenset(
    ("sie", "und", "der", "die", "das", "ist", "bitte", "wir", "ihre", "ihr", "ihren", "ihrem",
     "den", "dem", "nicht", "mit", "bei", "zu", "ein", "eine", "uns", "sich", "wird", "werden",
     "konnen", "koennen", "haben", "wurde", "auf", "fur", "fuer")
)  # fmt: skip
_WORD = re.compile(r"[a-z]+")


def names_another_party(seen: str) -> bool:
    """Whether the text names someone other than us: "your bank", "the courier", "Visa"."""
    if _NAME.search(seen) or _PARTY.search(seen.lower()):
        return True
    return not reads_as_german(seen) and bool(_INSIDE.search(seen))


def reads_as_german(seen: str) -> bool:
    """Whether the text has two of German's commonest words."""
    return len(_GERMAN.intersection(_WORD.findall(seen.lower()))) >= 2


def points_at_us_only(clause: str) -> bool:
    """Whether a clause names our side ("an uns", "our team") and no other party: "Bei Fragen
    wenden Sie sich bitte an uns" invites the customer to us, whatever its verb."""
    lowered = clause.lower()
    tags = [t for t in tagged(lowered) if t.isupper()]
    # "we" as the one contacted ("contactez-nous", "con nosotros") or as the one who can ("we are
    # the ones who can help") names our side as well as "our team" does.
    ours = "OURS" in tags or any(
        (a, b) in {("CONTACT", "WE"), ("WE", "ONLY")} for a, b in pairwise(tags)
    )
    return ours and not _PARTY.search(lowered)


_CUES = {"CONTACT", "CLAIM", "DETAILS", "ONLY"}


def mentions_dealing_with_someone(clause: str) -> bool:
    """Whether a clause speaks of contacting, claiming, contact details or who is responsible."""
    return any(tag in _CUES for tag in tagged(clause.lower()))


_ASKS = {"ADVISE", "YOU", "CLAIM", "DETAILS"}


def blames_only(clause: str) -> bool:
    """Whether a clause only says what the other party did ("The courier is the one who lost
    it"): blame, nothing asked of the customer, and no contact word after the blame ("DPD lost
    it so speak to them")."""
    tags = [t for t in tagged(clause.lower()) if t.isupper()]
    if "FAULT" not in tags or not _ASKS.isdisjoint(tags):
        return False
    return "CONTACT" not in tags[tags.index("FAULT") :]


_ACTS = {"CONTACT", "CLAIM"}


def negated(clause: str) -> bool:
    """Whether a clause says the customer need not, or must not, deal with anyone before it names
    a contact: "No llame al fabricante", "Sie müssen sich nicht an die Bank wenden"."""
    tags = [t for t in tagged(clause.lower()) if t.isupper()]
    if "NEG" not in tags:
        return False
    acts = [i for i, t in enumerate(tags) if t in _ACTS]
    return not acts or tags.index("NEG") < acts[0] or tags[-1] == "NEG"
