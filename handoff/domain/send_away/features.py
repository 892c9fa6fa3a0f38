"""What the model sees of a text: for each clause, hashed n-grams of its words and word classes.

The trainer (tools/train_send_away.py) and the scorer (model.py) both use these functions, so the
features a weight was learned for are the features it is applied to.
"""

from __future__ import annotations

import itertools
import re
from zlib import crc32

from handoff.domain.send_away.lexicon import tagged

BUCKETS = 1 << 18
_MASK = BUCKETS - 1  # BUCKETS is a power of two: `& _MASK` is `% BUCKETS`
_STEM = 5  # letters of a word's beginning kept as a feature of their own
# A clause ends at sentence punctuation, a comma or a dash: "Sorry, we can't. Call the bank."
_CLAUSE_END = re.compile(r"[.!?;:\n]+(?:\s+|$)|,\s+|\s+[-\u2013\u2014]+\s+|\(|\)")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NUMBER = re.compile(r"\d[\d\s().+-]{4,}\d|\bwww\.\S+|\S+@\S+\.\w+|https?://\S+|\S+\.(?:com|org)\b")


def clauses(seen: str) -> list[tuple[int, int]]:
    """Where each clause of the text is, as (start, end), empty ones left out."""
    spans = []
    start = 0
    for m in _CLAUSE_END.finditer(seen):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(seen)))
    return [(s, e) for s, e in spans if seen[s:e].strip()]


def clause_features(clause: str) -> list[int]:
    """Hashed features of one clause, one entry per occurrence."""
    # Phone numbers, web addresses and emails read as one word each: "handed over" is their sense.
    words = _TOKEN.findall(_NUMBER.sub(" zzcontact ", clause.lower()))
    tags = ["<s>", *tagged(" ".join(words))]
    classes = [t for t in tags if t.isupper()]
    prev = ["<s>", *words]
    names = ["w:" + w for w in words]
    # A word's first letters, so the forms of one verb or noun share a feature across persons,
    # tenses and languages' endings: "reclamez", "reclamer", "reclamar"; "contacte", "contactez".
    names += ["p:" + w[:_STEM] for w in words if len(w) > _STEM]
    names += [f"b:{a} {b}" for a, b in zip(prev, words, strict=False)]
    names += [f"g:{a} {b}" for a, b in itertools.pairwise(tags)]
    names += [f"h:{a} {b} {c}" for a, b, c in zip(tags, tags[1:], tags[2:], strict=False)]
    # Which classes come before which, whatever words lie between: "WE ... CONTACT ... PARTY".
    names += [f"o:{a} {b}" for i, a in enumerate(classes) for b in classes[i + 1 :]]
    names += ["k:" + c for c in classes]
    return [crc32(name.encode()) & _MASK for name in names]
