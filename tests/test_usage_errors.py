"""A mistyped command line is one `error:` line naming the fix, exit 2, as any other error."""

from __future__ import annotations

import sys

import pytest

from connector import cli


def run(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
        *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["connector", *argv])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    out, err = capfd.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.mark.parametrize(("argv", "said"), [
    (["cases", "--bogus"], "error: No such option: --bogus (see `connector cases --help`)"),
    (["mock", "pay"], "error: Missing argument 'invoice'. (see `connector mock pay --help`)"),
    (["mock", "credit", "501", "-1"], "error: No such option: -1"),
    (["bogus"], "error: No such command 'bogus'."),
    (["daemon", "--rounds", "many"], "error: Invalid value for '--rounds'"),
])
def test_a_usage_error_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                   capfd: pytest.CaptureFixture[str], argv: list[str],
                                   said: str) -> None:
    code, out, err = run(monkeypatch, capfd, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(said), err


def test_help_and_version_still_exit_0(monkeypatch: pytest.MonkeyPatch,
                                       capfd: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["cases", "--help"], ["--version"]):
        code, out, _ = run(monkeypatch, capfd, *argv)
        assert code == 0 and out.strip(), argv
