"""Rebuild progress goes to stderr: rich's bar on a terminal, plain lines otherwise; stdout keeps results."""

from __future__ import annotations

import io

import pytest

from api.cli import main
from projections.tools.progress import Progress
from tests.fixtures.ledger import Conn, Site


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_richs_bar_and_a_pipe_plain_lines() -> None:
    terminal = Terminal()
    with Progress(40, terminal, "rebuild inventory") as progress:
        progress.update(40, final=True)
    shown = terminal.getvalue()
    assert "rebuild inventory" in shown and "40/40" in shown
    assert "━" in shown  # rich's bar, not a hand-drawn one of '#'
    plain = io.StringIO()
    with Progress(40, plain, "rebuild inventory") as progress:
        progress.update(10)  # the first report is at once, then every few seconds
        progress.update(20)
        progress.update(40, final=True)
    lines = plain.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "rebuild inventory: 10/40 events",
        "rebuild inventory: 40/40 events",
    ]
    once = io.StringIO()
    with Progress(5, once, "rebuild inventory") as progress:
        progress.update(5)
        progress.update(5, final=True)  # nothing new: not said twice
    assert len(once.getvalue().splitlines()) == 1


@pytest.mark.db
def test_rebuild_reports_progress_on_stderr_and_only_its_result_on_stdout(
    small_ledger: tuple[Conn, Site], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rebuild", "transactions"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "rebuilt transactions, transaction_approvals from 6 events and swapped them in\n"
    assert captured.err.splitlines()[-1].startswith("rebuild transactions, transaction_approvals: 6/6 events")
