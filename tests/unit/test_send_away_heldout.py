"""The check on texts kept apart from its rules and model (SPEC §13's goal per language).

HELD_OUT is the folder of `{lang}.jsonl` files it reads (lines `{"text", "send_away", "lang"}`):
today the validation split written before the last round of tuning
(tests/send_away_corpus/validation); point it at a blind set written by other hands to measure
the check on texts nobody who built it has seen. Each language's floor is one constant below;
the goal is SPEC §13's (0.95 in English, 0.90 in Spanish, French and German), and the floors are
the goal itself.
"""

import json
from pathlib import Path

import pytest

from handoff.domain.send_away import find_send_away

HELD_OUT = Path(__file__).parents[1] / "send_away_corpus" / "validation"
MIN_TEXTS = 50  # per language file

EN_FLOOR = 0.95  # precision and recall, each
ES_FLOOR = 0.90
FR_FLOOR = 0.90
DE_FLOOR = 0.90
FLOORS = {"en": EN_FLOOR, "es": ES_FLOOR, "fr": FR_FLOOR, "de": DE_FLOOR}


def judged(folder: Path, lang: str) -> tuple[int, float, float]:
    """How many texts `{lang}.jsonl` in `folder` holds, and the check's precision and recall."""
    lines = (folder / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line) for line in lines if line.strip()]
    said = [(t["send_away"], find_send_away(t["text"]) is not None) for t in texts]
    caught = sum(truth and verdict for truth, verdict in said)
    precision = caught / max(1, sum(verdict for _truth, verdict in said))
    recall = caught / max(1, sum(truth for truth, _verdict in said))
    return len(texts), precision, recall


@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_texts_kept_apart_from_the_check_are_judged_as_well_as_the_spec_asks(lang: str) -> None:
    texts, precision, recall = judged(HELD_OUT, lang)

    assert texts >= MIN_TEXTS
    assert precision >= FLOORS[lang]
    assert recall >= FLOORS[lang]


# The blind set (tests/send_away_corpus/blind): 1,051 texts written by another hand, apart from the
# rules, the model and their training texts, and never used to tune them. Its floors are what the
# check reached there when it was first measured (docs/send-away.md), a little rounded down: a
# guard against going back, not the goal, which Spanish and German recall do not reach yet.
BLIND = Path(__file__).parents[1] / "send_away_corpus" / "blind"
BLIND_FLOORS = {  # (precision, recall)
    "en": (0.95, 0.95),
    "es": (0.87, 0.83),
    "fr": (0.93, 0.93),
    "de": (0.90, 0.85),
}


@pytest.mark.parametrize("lang", sorted(BLIND_FLOORS))
def test_the_blind_set_is_judged_at_least_as_well_as_when_first_measured(lang: str) -> None:
    texts, precision, recall = judged(BLIND, lang)

    assert texts >= 150
    assert precision >= BLIND_FLOORS[lang][0]
    assert recall >= BLIND_FLOORS[lang][1]
