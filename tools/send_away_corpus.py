"""The labelled corpus the send-away model is trained and checked on, and its fixed dev split."""

from __future__ import annotations

from pathlib import Path
from zlib import crc32

from handoff.domain.send_away.evaluate import Example, read_examples

TRAIN = Path(__file__).parents[1] / "tests" / "send_away_corpus" / "train"


def corpus(folder: Path = TRAIN) -> list[Example]:
    """Every labelled text: the corpus writers' {en,es,fr,de}.jsonl and our own extra_*.jsonl."""
    return [e for path in sorted(folder.glob("*.jsonl")) for e in read_examples(path)]


def in_dev_split(example: Example) -> bool:
    """One text in five, chosen by its words, never trained on: thresholds are chosen on it."""
    return crc32(example.text.encode("utf-8")) % 5 == 0
