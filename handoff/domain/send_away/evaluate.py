"""How well the check does on a deployment's own labelled texts: precision, recall and the misses
per language (`handoff send-away eval FILE.jsonl`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from handoff.domain.send_away.check import SendAwayMatch, find_send_away
from handoff.domain.send_away.phrase_rules import PhraseRules


class CorpusError(ValueError):
    """The file cannot be measured; the message is one line naming the file and the line."""


@dataclass(frozen=True)
class Example:
    text: str
    send_away: bool
    lang: str = "en"


@dataclass(frozen=True)
class Miss:
    text: str
    send_away: bool  # what the label says; the check said the opposite
    match: SendAwayMatch | None  # for a false alarm, what the check quoted


@dataclass
class Figures:
    """One language's counts; precision and recall are 1.0 when there is nothing to get wrong."""

    lang: str
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    true_neg: int = 0
    misses: list[Miss] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.true_pos + self.false_pos + self.false_neg + self.true_neg

    @property
    def precision(self) -> float:
        refused = self.true_pos + self.false_pos
        return self.true_pos / refused if refused else 1.0

    @property
    def recall(self) -> float:
        sent_away = self.true_pos + self.false_neg
        return self.true_pos / sent_away if sent_away else 1.0

    def count(self, example: Example, match: SendAwayMatch | None) -> None:
        if example.send_away and match:
            self.true_pos += 1
        elif not example.send_away and not match:
            self.true_neg += 1
        else:
            self.false_pos += match is not None
            self.false_neg += match is None
            self.misses.append(Miss(example.text, example.send_away, match))


@dataclass
class Report:
    path: Path
    languages: dict[str, Figures] = field(default_factory=dict)


def read_examples(path: Path) -> list[Example]:
    """The labelled lines of a JSONL file: {"text", "send_away"} and an optional "lang"."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot be read ({exc.__class__.__name__})") from None
    return [_example(line, path, n) for n, line in enumerate(lines, 1) if line.strip()]


def _example(line: str, path: Path, n: int) -> Example:
    where = f"{path}:{n}"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}: not a JSON line ({exc.msg})") from None
    if not isinstance(row, dict):
        raise CorpusError(f"{where}: expected an object with 'text' and 'send_away'")
    if not isinstance(row.get("text"), str):
        raise CorpusError(f"{where}: 'text' is missing or not a string")
    if not isinstance(row.get("send_away"), bool):
        raise CorpusError(f"{where}: 'send_away' is missing or not true/false")
    lang = row.get("lang", "en")
    if not isinstance(lang, str) or not lang:
        raise CorpusError(f"{where}: 'lang' must be a language code such as \"en\"")
    return Example(row["text"], row["send_away"], lang)


def evaluate(path: Path, rules: PhraseRules | None = None) -> Report:
    """Run the check on every labelled text of ``path`` and count, per language."""
    report = Report(Path(path))
    for example in read_examples(path):
        figures = report.languages.setdefault(example.lang, Figures(example.lang))
        figures.count(example, find_send_away(example.text, rules))
    return report


def format_report(report: Report) -> str:
    lines = [f"{report.path}"]
    for lang in sorted(report.languages):
        f = report.languages[lang]
        lines.append(
            f"{lang}: n={f.n} precision={f.precision:.3f} recall={f.recall:.3f} "
            f"(caught {f.true_pos}, missed {f.false_neg}, false alarms {f.false_pos})"
        )
        for miss in f.misses:
            lines.append(f"  {_miss_line(miss)}")
    return "\n".join(lines)


def _miss_line(miss: Miss) -> str:
    if miss.match is None:
        return f"missed: {miss.text}"
    return f"false alarm: {miss.text}  [{miss.match.rule}: {miss.match.phrase!r}]"
