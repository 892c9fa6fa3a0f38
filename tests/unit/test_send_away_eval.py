"""`handoff send-away eval` measures the check on a deployment's own labelled texts."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from handoff.cli import app
from handoff.domain.send_away.evaluate import evaluate, format_report

LINES = [
    {"text": "Please call your bank.", "send_away": True},
    {"text": "We called your bank for you.", "send_away": False, "lang": "en"},
    {"text": "Our team will ring the seller.", "send_away": True, "lang": "en"},
    {"text": "Please call your bank about the refund.", "send_away": False, "lang": "en"},
    {"text": "Veuillez contacter votre banque.", "send_away": True, "lang": "fr"},
]


def corpus_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def labelled(tmp_path: Path) -> Path:
    return corpus_file(tmp_path, [json.dumps(line) for line in LINES])


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["send-away", "eval", *args])


def test_evaluate_counts_per_language_and_keeps_the_misses(tmp_path: Path) -> None:
    report = evaluate(labelled(tmp_path))

    english, french = report.languages["en"], report.languages["fr"]
    assert (english.n, english.true_pos, english.false_neg, english.false_pos) == (4, 1, 1, 1)
    assert (english.precision, english.recall) == (0.5, 0.5)
    assert (french.n, french.precision, french.recall) == (1, 1.0, 1.0)
    assert [m.text for m in english.misses] == [
        "Our team will ring the seller.",
        "Please call your bank about the refund.",
    ]


def test_the_report_shows_figures_and_each_miss_with_the_false_alarms_phrase(
    tmp_path: Path,
) -> None:
    text = format_report(evaluate(labelled(tmp_path)))

    assert "en: n=4 precision=0.500 recall=0.500" in text
    assert "fr: n=1 precision=1.000 recall=1.000" in text
    assert "missed: Our team will ring the seller." in text
    assert "false alarm: Please call your bank about the refund." in text
    assert "[imperative_contact: 'Please call your bank']" in text


def test_the_command_prints_the_report(tmp_path: Path) -> None:
    result = run(str(labelled(tmp_path)))

    assert result.exit_code == 0, result.output
    assert "en: n=4 precision=0.500 recall=0.500" in result.stdout


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        (["not json"], "mine.jsonl:1: not a JSON line"),
        (['{"text": "hi"}'], "mine.jsonl:1: 'send_away' is missing"),
        (['{"send_away": true}'], "mine.jsonl:1: 'text' is missing"),
        (['{"text": "hi", "send_away": "yes"}'], "'send_away' is missing or not true/false"),
        (['{"text": "a", "send_away": true}', "[1]"], "mine.jsonl:2: expected an object"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_status_2(
    tmp_path: Path, lines: list[str], fragment: str
) -> None:
    result = run(str(corpus_file(tmp_path, lines)))

    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_file_is_one_line_on_stderr_and_status_2(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nowhere.jsonl"))

    assert result.exit_code == 2
    assert "nowhere.jsonl: cannot be read" in result.stderr


def test_a_deployment_rules_file_is_measured_too(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"contact_verbs": ["pester"]}), encoding="utf-8")
    line = json.dumps({"text": "You will want to pester Gary.", "send_away": True})
    path = corpus_file(tmp_path, [line])

    assert "recall=0.000" in run(str(path)).stdout
    assert "recall=1.000" in run(str(path), "--rules", str(rules)).stdout
