"""The one progress bar (render, corpus build, train): drawn on a terminal only."""

import io
import sys

from live.app.progress import progress_bars


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_share_shows_a_percentage_and_a_count_shows_done_of_total(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bars() as start:
        share = start("rendering")
        share.fraction(0.5)
        share.fraction(1.0)
        counted = start("epoch 1", 4)
        counted.update(advance=3, status="loss 1.234")
    shown = terminal.getvalue()
    assert "rendering" in shown and "100%" in shown
    assert "epoch 1" in shown and "3/4" in shown and "loss 1.234" in shown


def test_quiet_or_off_a_terminal_nothing_is_drawn_but_a_log_gets_milestones(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stderr", Terminal())
    with progress_bars(quiet=True, log_lines=True) as start:
        start("epoch 1", 10).note("val NLL 1.0")
    assert sys.stderr.getvalue() == ""
    monkeypatch.undo()
    with progress_bars() as start:  # stderr is not a terminal under pytest
        bar = start("rendering")
        bar.fraction(0.5)
        bar.note("halfway")
    with progress_bars(log_lines=True) as start:
        bar = start("epoch 2", 10)
        bar.update(advance=5)
        bar.note("val NLL 1.100", "after 5 steps")
    assert capsys.readouterr().err == "epoch 2: val NLL 1.100 after 5 steps\n"
