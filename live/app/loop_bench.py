"""`encore bench --loop`: a loop played live on JACK with the TUI open, lead and bass over
a progression, "next" pressed every few seconds off the beat. Figures: send-time error with the screen drawing the loop,
and how long each "next" waits for the new phrase's downbeat (the next bar line: a DAW's
launch quantisation) and whether the new phrase's first note leaves on it.
"""

from __future__ import annotations

import asyncio
import time

from live.app.bench import median, percentile
from live.app.bench_rig import READY_WAIT, Receiver
from live.core.errors import EncoreError

BPM = 128.0
LOOP_BARS = 2
PRESS_EVERY = 2.3  # seconds: not a whole number of bars at 128 BPM, so presses fall all over the bar
MUSIC = ["--primer", "1", "--random-seed", "4", "--temperature", "0.9"]
CHORDS = "Am F C G"  # the whole instrument: a loop, chords and a bass under the lead


def bench_loop(model: str, seconds: float) -> dict:
    from live.app.cli import build_parser
    from live.app.grid_bench import _check_beat_model, _jack, _quit
    from live.app.tui.app import EncoreApp

    _check_beat_model(model)
    _jack()
    receiver = Receiver()
    try:
        args = build_parser().parse_args([
            "tui", "--backend", "jack", "--port", receiver.name, "--model", model, "--bpm", f"{BPM:g}",
            "--loop", str(LOOP_BARS), "--variation", "25", "--bass", "--chords", CHORDS, *MUSIC,
        ])
        app = EncoreApp(args)
        presses = asyncio.run(_drive(app, seconds, _quit))
        heard = receiver.onsets()
    finally:
        receiver.close()
    final = app.final
    if final is None:
        raise EncoreError("the TUI's engine closed without its figures; run encore tui to see why")
    landings = [(given, lands) for kind, given, lands in final.loop_landings if kind == "next"]
    waits = [lands - pressed for pressed, (_, lands) in zip(presses, landings)]
    # the new phrase's first note at or after its downbeat, against the downbeat
    first_notes = []
    for _, lands in landings:
        later = [at for at in heard if at >= lands - 0.005]
        if later and later[0] - lands < 0.05:  # a phrase that begins on its downbeat
            first_notes.append(later[0] - lands)
    bar = 4 * 60.0 / BPM
    return {
        "seconds": seconds, "bpm": BPM, "loop_bars": LOOP_BARS, "bar_ms": bar * 1e3,
        "notes": final.notes, "messages": final.messages,
        "send_error_median_ms": final.send_median_ms, "send_error_p99_ms": final.send_p99_ms,
        "send_error_max_ms": final.send_max_ms,
        "presses": len(presses), "landed": len(landings),
        "next_to_downbeat_median_ms": median(waits) * 1e3 if waits else None,
        "next_to_downbeat_max_ms": max(waits) * 1e3 if waits else None,
        "next_to_downbeat_min_ms": min(waits) * 1e3 if waits else None,
        "downbeat_notes": len(first_notes),
        "downbeat_note_error_p99_ms": percentile(first_notes, 0.99) * 1e3 if first_notes else None,
    }


async def _drive(app, seconds: float, quit_app) -> list[float]:
    """Wait until the loop has come round, press n every PRESS_EVERY s, quit; the press times."""
    async with app.run_test(headless=True, size=(100, 32)):
        deadline = time.monotonic() + READY_WAIT
        while app.status is None or app.status.loop.passes < 2:
            fatal = app.engine.fatal if app.engine is not None else None
            if fatal or time.monotonic() > deadline:
                await quit_app(app)
                raise EncoreError(f"the TUI's engine did not loop: {fatal or 'no answer in time'}")
            await asyncio.sleep(0.05)
        started, presses = time.monotonic(), []
        while (len(presses) + 1) * PRESS_EVERY < seconds:
            await asyncio.sleep(max(0.0, started + (len(presses) + 1) * PRESS_EVERY - time.monotonic()))
            presses.append(time.perf_counter())
            app.simulate_key("n")
        await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
        await quit_app(app)
    return presses


def format_loop(f: dict) -> str:
    lines = [f"loop: {f['loop_bars']} bars at {f['bpm']:g} BPM, lead and bass over {CHORDS}, on JACK with the "
             f"TUI open, {f['seconds']:g} s, "
             f"next pressed {f['presses']} times off the beat ({f['notes']} notes, {f['messages']} messages)",
             f"  send-time error (sent - due): median {f['send_error_median_ms']:.3f} ms, "
             f"p99 {f['send_error_p99_ms']:.3f} ms, max {f['send_error_max_ms']:.3f} ms (goal: p99 <= 1 ms)"]
    if f["next_to_downbeat_median_ms"] is None:
        lines.append("  next -> downbeat: nothing landed (a longer --seconds)")
    else:
        lines.append(f"  next -> the new phrase's downbeat (the next bar line; a bar is {f['bar_ms']:.0f} ms): "
                     f"median {f['next_to_downbeat_median_ms']:.0f} ms, min {f['next_to_downbeat_min_ms']:.0f}, "
                     f"max {f['next_to_downbeat_max_ms']:.0f} ms over {f['landed']} presses")
    if f["downbeat_note_error_p99_ms"] is not None:
        lines.append(f"  a new phrase's first note heard against its downbeat (JACK's own latency in it): "
                     f"p99 {f['downbeat_note_error_p99_ms']:.3f} ms "
                     f"({f['downbeat_notes']} phrases began on it)")
    return "\n".join(lines)
