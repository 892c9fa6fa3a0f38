"""The labelled corpus the send-away model is trained and checked on, its folds for
cross-validation, and the fixed fifth the regression test reads."""

from __future__ import annotations

from pathlib import Path
from zlib import crc32

from handoff.domain.send_away.evaluate import Example, read_examples

TRAIN = Path(__file__).parents[1] / "tests" / "send_away_corpus" / "train"


def corpus(folder: Path = TRAIN) -> list[Example]:
    """Every labelled text: the corpus writers' files and our own extra*_*.jsonl."""
    return [e for path in sorted(folder.glob("*.jsonl")) for e in read_examples(path)]


def in_dev_split(example: Example) -> bool:
    """One text in five, chosen by its words (the old dev split; the regression test reads it)."""
    return crc32(example.text.encode("utf-8")) % 5 == 0


def folds(examples: list[Example], k: int = 5) -> list[int]:
    """Each text's fold, stratified by language and label: within each (language, label) group
    the texts are ordered by a hash of their words and dealt out in turn, so every fold has its
    share of each language's send-aways and honest texts, and a text keeps its fold while the
    corpus grows around it only as far as its rank in the order allows."""
    fold_of = [0] * len(examples)
    groups: dict[tuple[str, bool], list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault((e.lang, e.send_away), []).append(i)
    for members in groups.values():
        members.sort(key=lambda i: (crc32(examples[i].text.encode("utf-8")), i))
        for rank, i in enumerate(members):
            fold_of[i] = rank % k
    return fold_of
