"""`encore bench --grid`: how close a beat model's own notes (no quantise) land on an
outside tempo source's grid, and how steadily encore sends with the TUI open. On JACK.

1. MIDI clock: the bench's clock master plays 128 BPM, then 136; `encore play
   --follow-clock` follows it; note arrivals are measured against the master's 16ths.
2. Ableton Link: a second Link peer in the bench at 128 BPM, then 136; `encore play
   --link` follows it; arrivals against the peer's own beat.
3. The TUI: the real screen (headless) over the engine process, playing to a JACK port
   while a knob (a CC on encore's input) turns every 2 s; the engine's own figures.

An onset's offset is its arrival minus the nearest 16th. Their median is the constant
latency (JACK's periods, both ways for the clock); the spread around it is the timing
figure. The first beat after Start, after coming in and after the tempo change is left
out: the follower is settling there.
"""

from __future__ import annotations

import asyncio
import bisect
import tempfile
import time
from pathlib import Path

from live.core.errors import EncoreError
from live.app.bench import median, percentile
from live.app.bench_rig import ClockMaster, LinkPeer, PlayProcess, Receiver, unique
from live.engine.midiclock import PPQN

TEMPOS = (128.0, 136.0)
SETTLE_BEATS = 1.0
NEAR_MS = 3.0  # "on the grid": within this of the 16th, once the latency is taken off
KNOB_EVERY = 2.0
KNOB_CC = 102  # undefined in General MIDI: no synth, and no default knob, takes it
KNOB_VALUES = (77, 99)  # temperature 0.8 and 1.2 on the knob's exp curve 0.2..2
PEERS_WAIT = 5.0
# The music of tests/engine/test_beat_clock_jack.py: the same seed, one voice.
MUSIC = ["--primer", "1", "--random-seed", "4", "--temperature", "0.8", "--polyphony", "1"]
GOALS = {"send_p99_ms": 1.0, "knob_ms": 10.0}  # issue 15's


# ---------------------------------------------------------------- the figures (pure)


def offsets_to_grid(onsets: list[float], grid: list[float]) -> list[float]:
    """Each onset minus the nearest grid time (both sorted, in seconds)."""
    found = []
    for at in onsets:
        index = bisect.bisect_left(grid, at)
        near = [grid[i] for i in (index - 1, index) if 0 <= i < len(grid)]
        found.append(min((at - g for g in near), key=abs))
    return found


def offsets_to_beat_grid(beats_and_tempi: list[tuple[float, float]]) -> list[float]:
    """(beat, tempo at it) of each onset -> its distance to the nearest 16th, in seconds."""
    return [(beat - round(beat * 4) / 4) * 60.0 / tempo for beat, tempo in beats_and_tempi]


def spread(offsets_ms: list[float], latency_ms: float) -> dict:
    """How far onsets sit from the grid once the constant latency is taken off."""
    off = [abs(o - latency_ms) for o in offsets_ms]
    return {
        "onsets": len(off),
        "offset_median_ms": median(offsets_ms),
        "median_ms": median(off),
        "p90_ms": percentile(off, 0.9),
        "max_ms": max(off) if off else float("nan"),
        "within_3ms": sum(o <= NEAR_MS for o in off) / len(off) if off else float("nan"),
    }


def grid_figures(parts: dict[str, list[float]]) -> dict:
    """parts: name -> offsets in seconds. One latency for all: it is the path's, not the tempo's."""
    in_ms = {name: [o * 1e3 for o in offsets] for name, offsets in parts.items()}
    latency = median([o for offsets in in_ms.values() for o in offsets])
    parts = {name: {**spread(offsets, latency), "offsets_ms": [round(o, 3) for o in offsets]}
             for name, offsets in in_ms.items()}  # each onset's, in order: where the outliers sit
    return {"latency_ms": latency, "onsets": sum(map(len, in_ms.values())), "parts": parts}


def between(onsets: list[float], since: float, until: float) -> list[float]:
    return [at for at in onsets if since <= at < until]


# ---------------------------------------------------------------- the sections


def bench_grid(model_path, seconds: float, knob_every: float = KNOB_EVERY) -> dict:
    """All three sections, `seconds` each (half at each tempo)."""
    model = str(model_path)
    _check_beat_model(model)
    backend = _jack()
    return {
        "model": model,
        "seconds": seconds,
        "clock": bench_clock(backend, model, seconds),
        "link": bench_link(model, seconds),
        "tui": bench_tui(backend, model, seconds, knob_every),
    }


def _jack():
    from live.engine.ports import PortError, open_backend

    try:
        return open_backend("jack")
    except PortError as err:
        raise EncoreError(f"bench --grid runs on JACK: {err}; start it "
                          "(jackd -R -d dummy -r 48000 -p 128, or your audio setup)") from None


def _check_beat_model(path: str) -> None:
    from live.model import load_model

    if load_model(path).info.time != "beats":
        raise EncoreError(f"{path} is a seconds model; bench --grid measures a beat model's own "
                          "grid (metadata encore.time=beats): give one with --model")


def bench_clock(backend, model: str, seconds: float) -> dict:
    half = seconds / 2
    receiver, master, play = Receiver(), ClockMaster(backend, TEMPOS[0]), None
    try:
        master.start_clock()  # running before encore listens: it knows the tempo at Start
        play = PlayProcess(["--model", model, "--port", receiver.name, "--input", master.name,
                            "--follow-clock", "--no-thru", "--bpm", f"{TEMPOS[0]:g}", *MUSIC])
        play.wait_ready()
        time.sleep(0.5)
        master.start()
        time.sleep(half)
        master.bpm = TEMPOS[1]
        time.sleep(half)
        master.stop()
        time.sleep(0.2)  # the last notes on their way
    finally:
        if play is not None:
            play.stop()
        master.close()
        receiver.close()
    onsets, grid, notes_played = receiver.onsets(), master.sixteenths(), play.notes_played()
    if not master.ticks or not master.changes:
        raise EncoreError("the bench's clock master did not run; is the machine overloaded?")
    downbeat, changed, ended = master.ticks[0], master.changes[0][0], master.ticks[-1]
    parts = {
        f"{TEMPOS[0]:g} BPM": offsets_to_grid(between(onsets, downbeat + SETTLE_BEATS * 60 / TEMPOS[0], changed), grid),
        f"{TEMPOS[1]:g} BPM": offsets_to_grid(between(onsets, changed + SETTLE_BEATS * 60 / TEMPOS[1], ended), grid),
    }
    late = [x * 1e3 for x in master.late]
    figures = grid_figures(parts)
    tick_ms = 60e3 / (TEMPOS[0] * PPQN)
    return {**figures, "master_late_p99_ms": percentile(late, 0.99),
            "master_late_max_ms": max(late) if late else float("nan"),
            # (seconds after the downbeat, ms late) of the master's own stalls: a slip that
            # starts there is the machine's, not the follower's
            "master_stalls": [(round(due - downbeat, 3), round(x * 1e3, 2)) for due, x in master.stalls],
            # a latency of whole ticks is a count gone wrong: ticks lost on the way in
            "ticks_behind": round(figures["latency_ms"] / tick_ms) if figures["onsets"] else 0,
            "notes_played": notes_played, "notes_heard": len(onsets)}


def bench_link(model: str, seconds: float) -> dict:
    from live.engine.link import INSTALL_HINT

    try:
        import aalink
    except ImportError:
        return {"skipped": INSTALL_HINT}
    half = seconds / 2
    peer = LinkPeer(aalink, TEMPOS[0])
    try:
        receiver, play = Receiver(), None
        try:
            play = PlayProcess(["--model", model, "--port", receiver.name, "--link",
                                "--bpm", f"{TEMPOS[0]:g}", *MUSIC])
            play.wait_ready()
            _wait_for_peers(peer)
            peer.set_tempo(TEMPOS[0])  # whatever tempo the joined session had
            came_in = time.perf_counter() + 4 * 60 / TEMPOS[0]  # on the next bar line, at the latest
            time.sleep(came_in - time.perf_counter() + half)
            changed = peer.set_tempo(TEMPOS[1])
            time.sleep(half)
            ended, peers = time.perf_counter(), peer.link.num_peers
        finally:
            if play is not None:
                play.stop()
            receiver.close()
        onsets, notes_played = receiver.onsets(), play.notes_played()
        parts = {
            f"{TEMPOS[0]:g} BPM": between(onsets, came_in + SETTLE_BEATS * 60 / TEMPOS[0], changed),
            f"{TEMPOS[1]:g} BPM": between(onsets, changed + SETTLE_BEATS * 60 / TEMPOS[1], ended),
        }
        parts = {name: offsets_to_beat_grid([peer.beat_at(at) for at in part]) for name, part in parts.items()}
    finally:
        peer.close()
    return {**grid_figures(parts), "peers": peers, "notes_played": notes_played, "notes_heard": len(onsets)}


def _wait_for_peers(peer) -> None:
    deadline = time.monotonic() + PEERS_WAIT
    while peer.link.num_peers < 1:
        if time.monotonic() > deadline:
            raise EncoreError(f"encore and the bench's Link peer did not find each other within "
                              f"{PEERS_WAIT:g} s; is multicast on loopback blocked?")
        time.sleep(0.02)


def bench_tui(backend, model: str, seconds: float, knob_every: float) -> dict:
    """The real screen over the real engine process; the figures are the engine's own
    (its Closed message), the knob a CC on its input port."""
    from live.app.cli import build_parser
    from live.app.tui.app import EncoreApp

    receiver = Receiver()
    knob_name = unique("encore-bench-knob")
    knob = backend.mido_backend.open_output(knob_name, virtual=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            controls = Path(folder) / "knob.toml"
            controls.write_text(f'[[knob]]\ncc = {KNOB_CC}\ncontrol = "temperature"\n')
            args = build_parser().parse_args([
                "tui", "--backend", "jack", "--port", receiver.name, "--input", knob_name,
                "--controls", str(controls), "--no-thru", "--model", model, "--bpm", f"{TEMPOS[0]:g}", *MUSIC,
            ])
            app = EncoreApp(args)
            started = time.perf_counter()
            turns = asyncio.run(_drive(app, knob, seconds, knob_every))
    finally:
        knob.close()
        receiver.close()
    final = app.final
    if final is None:
        raise EncoreError("the TUI's engine closed without its figures; run encore tui to see why")
    return {
        "seconds": seconds,
        "notes": final.notes,
        "notes_heard": len(receiver.onsets(since=started)),
        "messages": final.messages,
        "send_error_median_ms": final.send_median_ms,
        "send_error_p99_ms": final.send_p99_ms,
        "send_error_max_ms": final.send_max_ms,
        "knob_turns": turns,
        "knob_turns_heard": final.knob_turns,
        "knob_to_sound_median_ms": final.knob_median_ms,
        "knob_to_sound_max_ms": final.knob_max_ms,
        "knob_beyond_grid_median_ms": final.knob_beyond_grid_median_ms,
        "knob_beyond_grid_max_ms": final.knob_beyond_grid_max_ms,
    }


async def _drive(app, knob, seconds: float, knob_every: float) -> int:
    """Wait for the engine to play, turn the knob every `knob_every` s for `seconds`, quit."""
    import mido

    from live.app.bench_rig import READY_WAIT

    async with app.run_test(headless=True, size=(100, 32)):
        deadline = time.monotonic() + READY_WAIT
        while app.status is None or not app.status.playing:
            fatal = app.engine.fatal if app.engine is not None else None
            if fatal or time.monotonic() > deadline:
                await _quit(app)
                raise EncoreError(f"the TUI's engine did not play: {fatal or 'no answer in time'}")
            await asyncio.sleep(0.05)
        started, turns = time.monotonic(), 0
        while (turns + 1) * knob_every < seconds:
            await asyncio.sleep(max(0.0, started + (turns + 1) * knob_every - time.monotonic()))
            knob.send(mido.Message("control_change", control=KNOB_CC, value=KNOB_VALUES[turns % 2]))
            turns += 1
        await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
        await _quit(app)
    return turns


async def _quit(app, wait: float = 20.0) -> None:
    """q, as the musician quits (the engine closes and sends its figures), and wait until
    the app has left. Not Pilot.press: it waits for a screen redrawn 30 times a second to
    look idle."""
    app.simulate_key("q")
    deadline = time.monotonic() + wait
    while app.return_code is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- the report


def format_grid(figures: dict) -> str:
    seconds = figures["seconds"]
    lines = [f"grid: a beat model's own notes (no quantise) against the tempo source's 16ths, on JACK "
             f"({Path(figures['model']).name}, {seconds / 2:g} s at each tempo)"]
    clock = figures["clock"]
    lines.append(f"  MIDI clock {TEMPOS[0]:g} -> {TEMPOS[1]:g} BPM ({_notes(clock)}; the master's ticks left "
                 f"p99 {clock['master_late_p99_ms']:.2f} ms, max {clock['master_late_max_ms']:.2f} ms late):")
    lines += _grid_lines(clock)
    if clock["ticks_behind"]:
        stalls = ", ".join(f"{ms:g} ms at {at:g} s" for at, ms in clock["master_stalls"]) or "none"
        lines.append(f"    encore's beat sat {clock['ticks_behind']} clock ticks behind the master's: ticks "
                     f"lost on the way in? (the master's own stalls after Start: {stalls})")
    link = figures["link"]
    if "skipped" in link:
        lines.append(f"  Ableton Link: skipped ({link['skipped']})")
    else:
        lines.append(f"  Ableton Link {TEMPOS[0]:g} -> {TEMPOS[1]:g} BPM, set by another peer "
                     f"({link['peers']} in the session with encore; {_notes(link)}):")
        lines += _grid_lines(link)
    tui = figures["tui"]
    lines.append(f"TUI open (the screen headless, the engine in its own process), {tui['seconds']:g} s: "
                 f"{tui['notes']} notes ({tui['notes_heard']} heard), {tui['messages']} messages")
    lines.append(f"  send-time error (sent - due): median {tui['send_error_median_ms']:.3f} ms, "
                 f"p99 {tui['send_error_p99_ms']:.3f} ms, max {tui['send_error_max_ms']:.3f} ms "
                 f"(goal: p99 <= {GOALS['send_p99_ms']:g} ms)")
    if tui["knob_to_sound_median_ms"] is None:
        lines.append(f"  knob -> sound: no turn measured ({tui['knob_turns']} sent; a longer --seconds)")
    else:
        lines.append(f"  knob turn -> first event under the new controls: median "
                     f"{tui['knob_to_sound_median_ms']:.1f} ms, max {tui['knob_to_sound_max_ms']:.1f} ms "
                     f"over {tui['knob_turns_heard']} of {tui['knob_turns']} turns; a beat model "
                     f"starts new music on its grid's next line (a 16th), as a step sequencer takes a change")
        lines.append(f"  the same beyond the wait for that line (what the engine adds): median "
                     f"{tui['knob_beyond_grid_median_ms']:.1f} ms, max {tui['knob_beyond_grid_max_ms']:.1f} ms "
                     f"(goal: <= {GOALS['knob_ms']:g} ms)")
    return "\n".join(lines)


def _notes(section: dict) -> str:
    played = section["notes_played"]
    return f"{'?' if played is None else played} notes played, {section['notes_heard']} heard"


def _grid_lines(section: dict) -> list[str]:
    lines = [f"    latency (median of onset - nearest 16th): {section['latency_ms']:.2f} ms "
             f"over {section['onsets']} onsets"]
    for name, part in section["parts"].items():
        if not part["onsets"]:
            lines.append(f"    {name}: no onsets (a longer --seconds)")
            continue
        lines.append(
            f"    {name}: |offset - latency| median {part['median_ms']:.2f} ms, p90 {part['p90_ms']:.2f} ms, "
            f"max {part['max_ms']:.2f} ms; {part['within_3ms']:.0%} of {part['onsets']} within "
            f"{NEAR_MS:g} ms (offset median {part['offset_median_ms']:.2f} ms)")
    return lines
