"""The text as a reader sees it: ASCII look-alikes, no invisible characters, texting undone.

Every function here keeps, for each character it returns, the index of the character of the
original text it came from, so a refusal can quote the words exactly as the agent wrote them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from anyascii import anyascii


class Span(NamedTuple):
    """Where in the text as seen a rule or the model found a send-away, and which one it was."""

    start: int
    end: int
    rule: str


# Texting spellings read as the words they stand for; "u" and "ur" only as whole words.
_INFORMAL = {
    "u": "you",
    "ya": "you",
    "ur": "your",
    "yr": "your",
    "pls": "please",
    "plz": "please",
    "plez": "please",
    "thx": "thanks",
    "youll": "you'll",
    "youd": "you'd",
    "youre": "you're",
    "youve": "you've",
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "cant": "can't",
    "wont": "won't",
    "shouldnt": "shouldn't",
    "theyll": "they'll",
    "theyre": "they're",
    "im": "I'm",
    "ive": "I've",
    "wed": "we'd",
    "gonna": "going to",
    "gotta": "got to",
    "wanna": "want to",
    "asap": "as soon as possible",
    "b4": "before",
    "2": "to",
    "r": "are",
    "thru": "through",
    "w/": "with",
    # Spanish and French texting: "tiene q llamar", "xq nosotros no".
    "q": "que",
    "xq": "porque",
}
# Only the informal words themselves are looked for: one quick pass over a text that has none.
_WORD = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(re.escape(w) for w in sorted(_INFORMAL, key=len, reverse=True))
    + r")(?![\w'])",
    re.IGNORECASE,
)
# Characters that show nothing: anyascii already drops most, these it would keep as themselves.
_INVISIBLE = {"\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


def as_seen(text: str) -> tuple[str, list[int]]:
    """The text as a reader sees it, in ASCII, and for each of its characters the index of the
    character of `text` it came from."""
    if text.isascii():
        return text, list(range(len(text)))
    twins = [_twin(char) for char in text]
    if all(len(twin) == 1 for twin in twins):  # "é" -> "e": every index stays where it was
        return "".join(twins), list(range(len(text)))
    origin: list[int] = []
    for i, twin in enumerate(twins):
        origin.extend([i] * len(twin))
    return "".join(twins), origin


_TWINS: dict[str, str] = {}


def _twin(char: str) -> str:
    """The character's ASCII look-alike, worked out once per character ever seen."""
    if char.isascii():
        return char
    twin = _TWINS.get(char)
    if twin is None:
        twin = _TWINS[char] = "" if char in _INVISIBLE else anyascii(char)
    return twin


def as_meant(seen: str, origin: list[int]) -> tuple[str, list[int]]:
    """Informal spelling read as meant ("pls call ur bank" as "please call your bank"); each new
    character points at the first character of the word it replaces."""
    out: list[str] = []
    where: list[int] = []
    last = 0
    for m in _WORD.finditer(seen):
        word = m.group()
        meant = _INFORMAL.get(word.lower())
        if meant is None or meant == word.lower() or (word == "2" and not _between_words(seen, m)):
            continue
        out.append(seen[last : m.start()])
        where.extend(origin[last : m.start()])
        out.append(meant)
        # The whole replacement maps onto the replaced word, so a quote still ends inside it.
        span = origin[m.start() : m.end()]
        where.extend(span[min(i, len(span) - 1)] for i in range(len(meant)))
        last = m.end()
    if not out:
        return seen, origin
    out.append(seen[last:])
    where.extend(origin[last:])
    return "".join(out), where


def _between_words(seen: str, m: re.Match[str]) -> bool:
    """'2' means 'to' only between letters ("talk 2 ur bank"), not in "2 days" or "0800 2"."""
    before = seen[: m.start()].rstrip()
    after = seen[m.end() :].lstrip()
    return bool(before) and before[-1].isalpha() and bool(after) and after[0].isalpha()
