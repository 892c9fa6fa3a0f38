"""The phrase rules: word lists and patterns, kept as data, turned into regular expressions once.

The wordings live in ``rules.json`` and one file per further language (``rules.es.json``, ...) so
they can grow without code changes; a deployment may add its own file of the same shape
(``HANDOFF_SEND_AWAY_RULES``). The rules run on the text as a reader sees it (``text.as_seen``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from anyascii import anyascii

from handoff.domain.send_away.text import Span

_WORD_LISTS = (
    "contact_verbs",
    "lead_ins",
    "sentence_openers",
    "our_side",
    "negations",
    # A language's articles ("su", "votre", "Ihre") and words that cannot name a party ("para").
    "determiners",
    "not_a_party",
)
IMPERATIVE_RULE = "imperative_contact"

# Grammar, not wording: words that cannot start or continue the name of the other party. They keep
# the quoted phrase short ("contact your bank" rather than "contact your bank about the charge")
# and stop noun uses of a verb ("Email sent to the bank.", "Contact details updated.").
_DETERMINERS = ("your", "the", "a", "an", "their", "its", "his", "her", "my")
_NOT_A_PARTY = (
    *_DETERMINERS,
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
# Where a bare imperative may begin: start of text or after sentence punctuation / a bullet.
# (The rules run on the text in ASCII, `as_seen`: curly quotes, bullets and dashes are " ' * -.)
_START = r"(?:^|(?<=[.!?;:\n*]))[\s\"'(*-]*"


@dataclass(frozen=True)
class PhraseRules:
    """Compiled rules, tried in order; each rule's language's ``negations`` veto a match earlier
    in its clause ("no hace falta que llame a su banco")."""

    rules: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...]


def _words(phrase: str) -> str:
    """Regex for a wording: any run of whitespace between its words."""
    return r"\s+".join(re.escape(w) for w in phrase.split())


def _any_of(phrases: list[str]) -> str:
    # Longest first so "reach out to" wins over "reach" and the quoted phrase is the whole wording.
    alts = sorted({_words(p) for p in phrases}, key=len, reverse=True)
    return "(?:" + "|".join(alts) + ")" if alts else "(?!)"


def _gerund(verb: str) -> str:
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


def _read(text: str, source: str) -> dict[str, Any]:
    """Parse and check one rules file; every problem names the file, for whoever edits it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"send-away rules {source}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"send-away rules {source}: the top level must be a JSON object")
    allowed = {*_WORD_LISTS, "patterns"}
    unknown = sorted(k for k in data if k not in allowed and not k.startswith("_"))
    if unknown:
        raise ValueError(
            f"send-away rules {source}: unknown key(s) {unknown}; expected {sorted(allowed)}"
        )
    for key in _WORD_LISTS:
        items = data.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise ValueError(f"send-away rules {source}: {key!r} must be a list of non-empty texts")
    patterns = data.get("patterns", [])
    if not isinstance(patterns, list):
        raise ValueError(f"send-away rules {source}: 'patterns' must be a list")
    for n, pat in enumerate(patterns, 1):
        if not (
            isinstance(pat, dict)
            and all(isinstance(pat.get(k), str) and pat[k].strip() for k in ("id", "regex"))
        ):
            raise ValueError(
                f"send-away rules {source}: pattern #{n} needs a text 'id' and a text 'regex'"
            )
        pat["source"] = source
    return data


Layer = tuple[str, list[dict[str, Any]]]  # the imperative rule's name, and the files it reads


def _compile(layers: list[Layer]) -> PhraseRules:
    """Each layer: one imperative rule and its patterns, tried in order; negations apply to all."""
    rules: list[tuple[str, re.Pattern[str], re.Pattern[str] | None]] = []
    seen: set[str] = set()
    # The first layer's negations (English and a deployment's) hold in every language; a further
    # language's ("no", "ne", "nicht") only in its own.
    shared = [anyascii(w) for f in layers[0][1] for w in f.get("negations", [])]
    # Our side in any language is no other party: "Contacte con nosotros" read by the French layer.
    ours = [anyascii(w) for _, files in layers for f in files for w in f.get("our_side", [])]
    # ... nor a word that cannot name a party in any language: "con", "mit".
    others = [anyascii(w) for _, files in layers for f in files for w in f.get("not_a_party", [])]
    for n, (name, files) in enumerate(layers):
        own = [anyascii(w) for f in files for w in f.get("negations", [])] if n else []
        words = shared + own
        negations = re.compile(rf"(?<!\w){_any_of(words)}(?!\w)", re.IGNORECASE) if words else None
        compiled = _compile_layer(name, files, seen, ours, others)
        rules += [(rule, pattern, negations) for rule, pattern in compiled]
    return PhraseRules(tuple(rules))


def _compile_layer(
    name: str, files: list[dict[str, Any]], seen: set[str], ours: list[str], others: list[str]
) -> list[tuple[str, re.Pattern[str]]]:
    # The rules are read as the text is (`as_seen`): "póngase" as "pongase".
    lists = {key: [anyascii(w) for f in files for w in f.get(key, [])] for key in _WORD_LISTS}
    verbs = lists["contact_verbs"]
    verb_base = _any_of(verbs)
    verb_any = _any_of(verbs + [_gerund(v) for v in verbs])
    opener = _any_of(lists["sentence_openers"]) + r",?\s+"  # "First, contact ..."
    # Not after "do"/"did": "Do you need to call your bank? No." asks rather than instructs.
    not_asked = r"(?<!\w)(?<!\bdo\s)(?<!\bdid\s)(?<!\bdoes\s)"
    lead_in = not_asked + _any_of(lists["lead_ins"]) + rf"\s+(?:{opener})?"
    # A party is named in words, so "Please call 0800 123 456" is left to the caller to judge.
    determiners = [*_DETERMINERS, *lists["determiners"]]
    not_a_party = [*_NOT_A_PARTY, *determiners, *others]
    word = rf"(?!{_any_of(not_a_party)}(?![\w'-]))[^\W\d_][\w'&-]*"
    party = (
        # Not inside a word, but after an elided article: "auprès d'Enedis", "l'assureur".
        rf"(?<![\w-])(?:(?<!')|(?<=\b[dlDL]'))(?!{_any_of(ours)}(?!\w))"
        rf"(?:{_any_of(determiners)}\s+)?{word}(?:[ \t]+{word}){{0,2}}"
    )
    # French elision: "auprès d'Enedis" has no space before the party.
    imperative = rf"(?:{lead_in}{verb_any}|{_START}(?:{opener}{verb_any}|{verb_base}))(?:\s+|(?<='))(?!\s){party}"
    # Placeholders a deployment's own patterns can use, so they need not repeat the word lists.
    holes = {
        "{lead_in}": lead_in,
        "{start}": f"{_START}(?:{opener})?",
        "{verb}": verb_any,
        "{party}": party,
    }
    flags = re.IGNORECASE
    rules = [(name, re.compile(imperative, flags))]
    seen.add(name)
    for pat in (p for f in files for p in f.get("patterns", [])):
        if pat["id"] in seen:
            raise ValueError(f"send-away rules {pat['source']}: duplicate pattern id {pat['id']!r}")
        seen.add(pat["id"])
        regex = anyascii(pat["regex"])
        for hole, value in holes.items():
            regex = regex.replace(hole, value)
        try:
            rules.append((pat["id"], re.compile(regex, flags)))
        except re.error as exc:
            raise ValueError(
                f"send-away rules {pat['source']}: pattern {pat['id']!r} is not a valid "
                f"regular expression ({exc})"
            ) from exc
    return rules


# English first, with a deployment's own file; then one layer per further language, so that a
# deployment's patterns still name what they catch before a built-in language's rules do.
FIRST_FILE = "rules.json"
LANGUAGES = ("es", "fr", "de")


@cache
def _builtin_text(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def load_rules(extra_file: Path | None = None) -> PhraseRules:
    """The built-in rules plus, if given, a deployment's own file of the same shape."""
    first = [_builtin(FIRST_FILE)]
    if extra_file is not None:
        try:
            text = Path(extra_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"send-away rules {extra_file}: cannot be read ({exc})") from exc
        first.append(_read(text, str(extra_file)))
    others = [(f"{IMPERATIVE_RULE}_{lang}", [_builtin(f"rules.{lang}.json")]) for lang in LANGUAGES]
    return _compile([(IMPERATIVE_RULE, first), *others])


def _builtin(name: str) -> dict[str, Any]:
    return _read(_builtin_text(name), f"{name} (built-in)")


@cache
def default_rules() -> PhraseRules:
    return load_rules()


def first_match(seen: str, rules: PhraseRules) -> Span | None:
    """Where the first wording that sends the customer elsewhere is in ``seen``, and its rule."""
    for rule_id, pattern, negations in rules.rules:
        for m in pattern.finditer(seen):
            start, end = m.span("phrase") if "phrase" in pattern.groupindex else m.span()
            # Leading sentence punctuation/bullets were only context for "start of sentence".
            while start < end and not seen[start].isalnum():
                start += 1
            # "No need to ... you have to call the bank" is reassurance, not an instruction.
            clause = max(seen.rfind(c, 0, start) for c in ".!?;:,\n") + 1
            if negations and negations.search(seen, clause, start):
                continue
            if start == end or (
                rule_id.startswith(IMPERATIVE_RULE) and _a_noun_not_an_order(seen[start:])
            ):
                continue
            return Span(start, end, rule_id)
    return None


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


def _a_noun_not_an_order(from_start: str) -> bool:
    return bool(_NOUN_USE.match(from_start))
