"""Mistakes in how `handoff` is called are one line on stderr and exit status 2; asking for help
still shows the help (no database is opened)."""

import sys

import pytest

from handoff.cli import main


def run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["handoff", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    out, err = capsys.readouterr()
    code = ended.value.code
    return code if isinstance(code, int) else 1, out, err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serve", "--port", "abc"], "Invalid value for '--port'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["verify", "--case"], "No such option: --case"),
        (["serve", "--port"], "requires an argument"),
    ],
    ids=["bad-value", "unknown-command", "unknown-option", "option-without-value"],
)
def test_a_usage_mistake_is_one_line_naming_it_and_where_to_find_help(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    says: str,
) -> None:
    code, out, err = run(capsys, monkeypatch, *args)

    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ")
    assert says in err
    assert "--help" in err


def test_handoff_alone_shows_its_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch)

    assert code == 2
    assert "Usage: handoff" in out + err
    assert "serve" in out + err


def test_asking_for_help_succeeds(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _err = run(capsys, monkeypatch, "serve", "--help")

    assert code == 0
    assert "--port" in out
