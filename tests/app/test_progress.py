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


def test_off_a_terminal_a_long_job_says_how_far_it_is_now_and_then(capsys):
    from live.app import progress

    now = [100.0]
    counted = progress._Lines("parsing music21:ryansMammoth", 1000, clock=lambda: now[0])
    counted.update(advance=10)  # under 2 s in: a short job stays silent
    now[0] += 2.5
    counted.update(advance=290)
    now[0] += 1.0
    counted.update(advance=100)  # within 10 s of the last line: silent
    now[0] += 10.0
    counted.update(advance=100)
    share = progress._Lines("rendering", clock=lambda: now[0])
    now[0] += 3.0
    share.fraction(0.42)
    assert capsys.readouterr().err.splitlines() == [
        "parsing music21:ryansMammoth: 300/1,000 (2 s)",
        "parsing music21:ryansMammoth: 500/1,000 (14 s)",
        "rendering: 42 % (3 s)",
    ]
