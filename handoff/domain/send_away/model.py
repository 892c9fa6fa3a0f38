"""The statistical half of the check: a logistic regression over hashed n-grams, trained offline
(tools/train_send_away.py) and shipped as weights in ``model.json``; scored here in pure Python.

It refuses what the phrase rules missed, and quotes the clause that weighed most toward its verdict.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import sys
from array import array
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

from handoff.domain.send_away.features import clause_features, clauses
from handoff.domain.send_away.lexicon import (
    blames_only,
    names_another_party,
    negated,
    points_at_us_only,
)
from handoff.domain.send_away.text import Span

MODEL_FILE = "model.json"


@dataclass(frozen=True)
class Model:
    bias: float
    threshold: float
    weights: dict[int, float]
    # The stricter threshold for a text that names no other party we recognise ("the fitter's
    # number is on your job sheet"); above 1, such texts are never refused by the model.
    unnamed_threshold: float = 1.01


@dataclass(frozen=True)
class Verdict:
    probability: float
    clause: tuple[int, int]  # where the clause that weighed most toward "send-away" is


@cache
def shipped_model() -> Model | None:
    """The weights in the package, or None before a model has been trained."""
    path = resources.files(__package__).joinpath(MODEL_FILE)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    # The weights are two packed arrays (bucket, weight), which load in a few milliseconds.
    index, weight = array("i"), array("f")
    index.frombytes(base64.b64decode(data["index"]))
    weight.frombytes(base64.b64decode(data["weight"]))
    if sys.byteorder != "little":
        index.byteswap()
        weight.byteswap()
    weights = dict(zip(index, weight, strict=True))
    return Model(
        bias=data["bias"],
        threshold=data["threshold"],
        weights=weights,
        unnamed_threshold=data.get("unnamed_threshold", 1.01),
    )


def pack(index: list[int], weight: list[float]) -> tuple[str, str]:
    """The two arrays as the model file keeps them: little-endian int32 and float32, base64."""
    packed_index, packed_weight = array("i", index), array("f", weight)
    if sys.byteorder != "little":
        packed_index.byteswap()
        packed_weight.byteswap()
    return (
        base64.b64encode(packed_index.tobytes()).decode("ascii"),
        base64.b64encode(packed_weight.tobytes()).decode("ascii"),
    )


def judge(seen: str, model: Model) -> Verdict | None:
    """The model's probability for the whole text and the clause that weighed most toward it, or
    None for a text with no words."""
    spans = clauses(seen)
    if not spans:
        return None
    found = [clause_features(seen[s:e]) for s, e in spans]
    # Counts scaled to unit length over the whole text, so each clause's share stays additive.
    counted = Counter(itertools.chain.from_iterable(found))
    norm = math.sqrt(sum(n * n for n in counted.values())) or 1.0
    weight = model.weights.get
    # A feature found n times adds its weight n times: summed over the list, no counting needed.
    shares = [sum(map(weight, f, itertools.repeat(0.0))) / norm for f in found]
    logit = model.bias + sum(shares)
    best = max(range(len(spans)), key=shares.__getitem__)
    return Verdict(1.0 / (1.0 + math.exp(-logit)), spans[best])


def vetoed(clause: str) -> bool:
    """The last guards on the clause the model would quote: it points at us only, only blames the
    other party, or says the customer need not deal with anyone."""
    return points_at_us_only(clause) or blames_only(clause) or negated(clause)


def first_match(seen: str) -> Span | None:
    """The clause the model finds sends the customer away, if it is sure enough."""
    model = shipped_model()
    if model is None:
        return None
    # Without another party named there is mostly nobody to be sent to: "Please reply with the
    # serial number", "Please call back later", "You may want to restart the router"; only a
    # verdict the model is very sure of stands then.
    named = names_another_party(seen)
    if not named and model.unnamed_threshold > 1.0:
        return None
    verdict = judge(seen, model)
    if verdict is None or verdict.probability < (
        model.threshold if named else model.unnamed_threshold
    ):
        return None
    start, end = verdict.clause
    if vetoed(seen[start:end]):
        return None
    while start < end and not seen[start].isalnum():
        start += 1
    while end > start and not seen[end - 1].isalnum() and seen[end - 1] not in "'\")":
        end -= 1
    if start == end:
        return None
    return Span(start, end, f"model:{verdict.probability:.2f}")
