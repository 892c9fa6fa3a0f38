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
from handoff.domain.send_away.wording import (
    PARTY,
    PartyWords,
    a_noun_not_an_order,
    any_of,
    gerund,
)

_WORD_LISTS = (
    "contact_verbs",
    "lead_ins",
    "sentence_openers",
    "our_side",
    "negations",
    # A language's articles ("su", "votre", "Ihre") and words that cannot name a party ("para").
    "determiners",
    "not_a_party",
    # Common words of the language ("usted", "vous", "Ihre"): a further language's rules are tried
    # only on a text that has one of them, so an English text costs no time in German rules.
    "markers",
)
IMPERATIVE_RULE = "imperative_contact"

# Where a bare imperative may begin: start of text or after sentence punctuation / a bullet.
# (The rules run on the text in ASCII, `as_seen`: curly quotes, bullets and dashes are " ' * -.)
_START = r"(?:^|(?<=[.!?;:\n*]))[\s\"'(*-]*"


@dataclass
class Rule:
    id: str
    regex: str
    negations: re.Pattern[str] | None  # its language's: "no hace falta que llame a su banco"
    parties: tuple[str, ...]  # the pattern's groups that name the other party
    words: PartyWords  # what may name the other party in its language
    layer: int = 0  # which language's rules it belongs to
    needs: re.Pattern[str] | None = None  # a quick test a text must pass before it is tried
    needs_words: frozenset[str] | None = None  # ... or one of these words it must have
    # Skipped when this follows the match: "Only your bank can see it, so we've asked them".
    unless: re.Pattern[str] | None = None
    compiled: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        """Compiled when first needed: a built-in rule that no text has called for yet costs the
        first call nothing (a deployment's patterns are compiled on loading, to report errors)."""
        if self.compiled is None:
            self.compiled = re.compile(self.regex, re.IGNORECASE)
        return self.compiled


_WORD = re.compile(r"[a-z]+")
# How far past a match its 'unless' is looked for: the rest of the sentence and the next one.
_UNLESS_REACH = 160


@dataclass(frozen=True)
class PhraseRules:
    """Compiled rules, tried in order."""

    rules: tuple[Rule, ...]
    markers: tuple[frozenset[str], ...]  # per layer; empty: always tried


def _read(text: str, source: str) -> dict[str, Any]:
    """Parse and check one rules file; every problem names the file, for whoever edits it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"send-away rules {source}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"send-away rules {source}: the top level must be a JSON object")
    allowed = {*_WORD_LISTS, "we_act", "patterns"}
    unknown = sorted(k for k in data if k not in allowed and not k.startswith("_"))
    if unknown:
        raise ValueError(
            f"send-away rules {source}: unknown key(s) {unknown}; expected {sorted(allowed)}"
        )
    for key in (*_WORD_LISTS, "we_act"):
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
            and isinstance(pat.get("unless", ""), str)
            and (
                isinstance(pat.get("needs", ""), str)
                or (
                    isinstance(pat["needs"], list)
                    and all(isinstance(w, str) and w.strip() for w in pat["needs"])
                )
            )
        ):
            raise ValueError(
                f"send-away rules {source}: pattern #{n} needs a text 'id' and a text 'regex'"
            )
        pat["source"] = source
    return data


Layer = tuple[str, list[dict[str, Any]]]  # the imperative rule's name, and the files it reads


def _compile(layers: list[Layer]) -> PhraseRules:
    """Each layer: one imperative rule and its patterns, tried in order."""
    rules: list[Rule] = []
    markers: list[frozenset[str]] = []
    seen: set[str] = set()
    # The first layer's negations (English and a deployment's) hold in every language; a further
    # language's ("no", "ne", "nicht") only in its own.
    shared = [anyascii(w) for f in layers[0][1] for w in f.get("negations", [])]
    # Our side in any language is no other party ("Contacte con nosotros" read by the French
    # layer), nor is a word that cannot name one in any language ("con", "mit").
    ours = [anyascii(w) for _, files in layers for f in files for w in f.get("our_side", [])]
    others = [anyascii(w) for _, files in layers for f in files for w in f.get("not_a_party", [])]
    # Wordings of us (or them) taking the matter on, in any language: "{we_act}" in an 'unless'.
    we_act = "|".join(
        anyascii(w) for _, files in layers for f in files for w in f.get("we_act", [])
    )
    for n, (name, files) in enumerate(layers):
        own = [anyascii(w) for f in files for w in f.get("negations", [])] if n else []
        negation_words = shared + own
        negations = (
            re.compile(rf"(?<!\w){any_of(negation_words)}(?!\w)", re.IGNORECASE)
            if negation_words
            else None
        )
        dets = [anyascii(w) for f in files for w in f.get("determiners", [])]
        party_words = PartyWords.of(dets, others, ours)
        regexes, verb_words = _layer_regexes(name, files, seen, english=n == 0)
        for rule_id, regex, source, needs, unless in regexes:
            rule = _rule(rule_id, regex, source, negations, party_words)
            rule.layer = n
            if unless:
                rule.unless = _needs(
                    unless.replace("{we_act}", f"(?:{we_act or '(?!)'})"), rule_id, source
                )
            if isinstance(needs, list):  # words; "{verb}": the first word of any contact verb
                words = {w.lower() for w in map(anyascii, needs) if w != "{verb}"}
                rule.needs_words = frozenset(words | (verb_words if "{verb}" in needs else set()))
            else:
                rule.needs = _needs(needs, rule_id, source)
            rules.append(rule)
        marks = frozenset(anyascii(w).lower() for f in files for w in f.get("markers", []))
        markers.append(marks if n else frozenset())  # English and a deployment's: always
    return PhraseRules(tuple(rules), tuple(markers))


def _needs(regex: str | None, rule_id: str, source: str) -> re.Pattern[str] | None:
    if not regex:
        return None
    try:
        return re.compile(anyascii(regex), re.IGNORECASE)
    except re.error as exc:
        raise ValueError(
            f"send-away rules {source}: pattern {rule_id!r} 'needs' or 'unless' is not a valid "
            f"regular expression ({exc})"
        ) from exc


def _rule(
    rule_id: str,
    regex: str,
    source: str,
    negations: re.Pattern[str] | None,
    party_words: PartyWords,
) -> Rule:
    parts = regex.split("{party}")
    regex = parts[0] + "".join(f"(?P<party{i}>{PARTY}){p}" for i, p in enumerate(parts[1:]))
    parties = tuple(f"party{i}" for i in range(len(parts) - 1))
    rule = Rule(rule_id, regex, negations, parties, party_words)
    if not source.endswith("(built-in)"):
        try:
            rule.pattern  # noqa: B018 (a deployment's file: its errors are reported on loading)
        except re.error as exc:
            raise ValueError(
                f"send-away rules {source}: pattern {rule_id!r} is not a valid "
                f"regular expression ({exc})"
            ) from exc
    return rule


def _layer_regexes(
    name: str, files: list[dict[str, Any]], seen: set[str], english: bool
) -> tuple[list[tuple[str, str, str, Any, str | None]], set[str]]:
    # The rules are read as the text is (`as_seen`): "póngase" as "pongase".
    lists = {key: [anyascii(w) for f in files for w in f.get(key, [])] for key in _WORD_LISTS}
    verbs = lists["contact_verbs"]
    verb_base = any_of(verbs)
    # "Try calling your bank": the -ing form is English only.
    verbs_ing = [gerund(v) for v in verbs] if english else []
    verb_any = any_of(verbs + verbs_ing) if english else verb_base
    opener = any_of(lists["sentence_openers"]) + r",?\s+"  # "First, contact ..."
    # Not after "do"/"did": "Do you need to call your bank? No." asks rather than instructs.
    not_asked = r"(?<!\w)(?<!\bdo\s)(?<!\bdid\s)(?<!\bdoes\s)"
    lead_in = not_asked + any_of(lists["lead_ins"]) + rf"\s+(?:{opener})?"
    # A party is named in words, so "Please call 0800 123 456" is left to the caller to judge;
    # French elision: "auprès d'Enedis" has no space before the party.
    imperative = (
        rf"(?:{lead_in}{verb_any}|{_START}(?:{opener}{verb_any}|{verb_base}))"
        r"(?:\s+|(?<='))(?!\s){party}"
    )
    # Placeholders a deployment's own patterns can use, so they need not repeat the word lists.
    holes = {"{lead_in}": lead_in, "{start}": f"{_START}(?:{opener})?", "{verb}": verb_any}
    # Built from escaped words only, so it cannot be invalid: compiled when first needed.
    out: list[tuple[str, str, str, Any, str | None]] = [
        (name, imperative, "(built-in)", ["{verb}"], None)
    ]
    seen.add(name)
    for pat in (p for f in files for p in f.get("patterns", [])):
        if pat["id"] in seen:
            raise ValueError(f"send-away rules {pat['source']}: duplicate pattern id {pat['id']!r}")
        seen.add(pat["id"])
        regex = anyascii(pat["regex"])
        for hole, value in holes.items():
            regex = regex.replace(hole, value)
        out.append((pat["id"], regex, pat["source"], pat.get("needs"), pat.get("unless")))
    # A text without the first word of any contact verb cannot match the imperative rule.
    verb_words = {_WORD.findall(v.lower())[0] for v in verbs + verbs_ing if _WORD.search(v.lower())}
    return out, verb_words


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
    words = frozenset(_WORD.findall(seen.lower()))
    tried = [not marks or not marks.isdisjoint(words) for marks in rules.markers]
    for rule in rules.rules:
        if (
            not tried[rule.layer]
            or (rule.needs_words is not None and rule.needs_words.isdisjoint(words))
            or (rule.needs is not None and rule.needs.search(seen) is None)
        ):
            continue
        pattern = rule.pattern
        phrase = "phrase" in pattern.groupindex
        pos = 0
        while (m := pattern.search(seen, pos)) is not None:
            pos = m.start() + 1
            start, end = m.span("phrase") if phrase else m.span()
            end = _parties_end(seen, m, rule, end)
            # Leading sentence punctuation/bullets were only context for "start of sentence".
            while start < end and not seen[start].isalnum():
                start += 1
            if start >= end:
                continue
            # "No need to ... you have to call the bank" is reassurance, not an instruction.
            clause = max(seen.rfind(c, 0, start) for c in ".!?;:,\n") + 1
            if rule.negations and rule.negations.search(seen, clause, start):
                continue
            if rule.id.startswith(IMPERATIVE_RULE) and a_noun_not_an_order(seen, start):
                continue
            # A statement of who is responsible, followed by us (or them) acting on it.
            if rule.unless and rule.unless.search(seen, start, end + _UNLESS_REACH):
                continue
            return Span(start, end, rule.id)
    return None


def _parties_end(seen: str, m: re.Match[str], rule: Rule, end: int) -> int:
    """Where the phrase ends once each party it names is checked; -1 if one names nobody else."""
    for group in rule.parties:
        party_start, party_end = m.span(group)
        if party_start < 0:
            continue
        checked = rule.words.check(seen, party_start, party_end)
        if checked is None:
            return -1
        if party_end == end:  # "contact your bank", not "contact your bank about the"
            end = checked
    return end
