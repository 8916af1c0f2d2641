"""`encore bench`: figures, not pass/fail. Each section times one path of the instrument."""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from live.core import codec
from live.core.errors import EncoreError
from live.files.midifile import Part, read_midi, write_midi
from live.core.notes import Note


def random_song_notes(count: int, seed: int = 1) -> list[Note]:
    """A busy, realistic-looking part: chords and runs, overlaps, varied velocity."""
    rng = random.Random(seed)
    notes, now = [], 0.0
    while len(notes) < count:
        now += rng.choice([0.0, 0.0, 0.06, 0.125, 0.25, 0.5, 1.7])
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            length = rng.choice([0.003, 0.1, 0.25, 0.5, 2.0])
            notes.append(Note(rng.randrange(36, 96), now, now + length, rng.randrange(20, 127)))
    return notes[:count]


def _best_of(repeats: int, work) -> float:
    """The fastest of a few runs: the figure least disturbed by a shared machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def say(line: str) -> None:
    """Where the bench is, on stderr: it runs for tens of seconds, and its figures come
    at the end on stdout (so `--json` stays clean)."""
    print(line, file=sys.stderr, flush=True)


def bench_codec(notes_count: int = 10_000, repeats: int = 5) -> dict:
    say("timing the codec and MIDI files ...")
    notes = random_song_notes(notes_count)
    events = codec.encode(notes)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.mid"
        write_midi(path, [Part("bench", 0, notes=notes)])
        read_s = _best_of(repeats, lambda: read_midi(path))
        write_s = _best_of(repeats, lambda: write_midi(path, [Part("bench", 0, notes=notes)]))
    encode_s = _best_of(repeats, lambda: codec.encode(notes))
    decode_s = _best_of(repeats, lambda: codec.decode(events))
    return {
        "notes": notes_count,
        "events": len(events),
        "encode_ms": encode_s * 1e3,
        "decode_ms": decode_s * 1e3,
        "encode_decode_ms": (encode_s + decode_s) * 1e3,
        "read_midi_ms": read_s * 1e3,
        "write_midi_ms": write_s * 1e3,
    }


def format_codec(figures: dict) -> str:
    return (
        f"codec, {figures['notes']:,} notes -> {figures['events']:,} events (best of runs):\n"
        f"  encode {figures['encode_ms']:.1f} ms, decode {figures['decode_ms']:.1f} ms, "
        f"encode + decode {figures['encode_decode_ms']:.1f} ms\n"
        f"  read .mid {figures['read_midi_ms']:.1f} ms, write .mid {figures['write_midi_ms']:.1f} ms"
    )


def percentile(values, q: float) -> float:
    """The q-quantile (0..1, numpy's linear interpolation); nan for no values."""
    return float(np.percentile(values, q * 100)) if len(values) else float("nan")


def median(values) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def bench_model(path, label: str, steps: int) -> dict:
    """Step latency (one event, batch 1) and render speed of one model file."""
    from live.model import load_model

    say(f"timing {label} ...")
    model = load_model(path)
    if model.kind == "window":
        steps = max(50, steps // 20)  # a 50-event pass per event: fewer tell as much
    state = model.initial_state()
    rng = random.Random(0)
    for _ in range(min(50, steps // 10)):  # warm-up: first runs allocate
        state = model.step(state, rng.randrange(388))
    latencies = []
    for _ in range(steps):
        event = rng.randrange(388)
        start = time.perf_counter()
        state = model.step(state, event)
        latencies.append(time.perf_counter() - start)

    rounds = _render_speed(model, max(100, steps))
    two_voices = None
    if model.kind == "stream" and model.info.time == "beats":
        voices = [_render_round(model, max(100, steps), bass=True) for _ in range(RENDER_ROUNDS)]
        two_voices = [music / wall if wall else float("inf") for _, music, wall in voices]
    speeds = [music / wall if wall else float("inf") for _, music, wall in rounds]
    best = max(range(len(rounds)), key=lambda i: speeds[i])
    render_events, music_seconds, wall = rounds[best]
    return {
        "label": label,
        "path": str(path),
        "kind": model.kind,
        "layers": model.info.layers,
        "hidden": model.info.hidden,
        "window": model.info.window,
        "size_mb": model.info.size_bytes / 1e6,
        "step_median_ms": median(latencies) * 1e3,
        "step_p99_ms": percentile(latencies, 0.99) * 1e3,
        "render_events_per_s": render_events / wall,
        "render_music_seconds": music_seconds,
        "music_events_per_s": render_events / music_seconds if music_seconds else float("nan"),
        "render_x_realtime": speeds[best],
        "render_x_realtime_rounds": speeds,
        "render_x_realtime_median": median(speeds),
        "render_two_voices_x_realtime": max(two_voices) if two_voices else None,
        "render_two_voices_x_realtime_rounds": two_voices,
    }


RENDER_SEEDS = 4
RENDER_ROUNDS = 3


def _render_speed(model, events: int) -> list[tuple[int, float, float]]:
    """(events, seconds of music, wall seconds) of each of RENDER_ROUNDS rounds; a round
    is RENDER_SEEDS renders, each primed like `encore render` (an embedded primer) and
    drawn with its own seed: how fast render runs depends on how busy the music is, 13-35
    events per second of music from one seed to the next with the default model, so one
    render would be luck. Rounds repeat the same renders: the best is the code's speed,
    the spread is the machine's (a shared one moves +-25 % from second to second)."""
    return [_render_round(model, events) for _ in range(RENDER_ROUNDS)]


def _render_round(model, events: int, bass: bool = False) -> tuple[int, float, float]:
    from live.app.options import bass_model, with_bass
    from live.core.controls import Controls
    from live.core.generator import Generator
    from live.core.render import render

    each = max(25, events // RENDER_SEEDS)
    music_seconds, wall = 0.0, 0.0
    bass_voice = bass_model() if bass else None  # what --bass plays: the shipped bass model
    if bass_voice is not None and bass_voice.info.time != model.info.time:
        bass_voice = None
    for seed in range(RENDER_SEEDS):
        generator = Generator(model, Controls(), seed=seed)
        primer = list(model.info.primers[seed % len(model.info.primers)]) if model.info.primers else []
        generator.prime(primer)
        if bass:  # a bass voice under the lead: both voices' events count
            generator = with_bass(generator, primer, seed=seed + 101, model=bass_voice)
        start = time.perf_counter()
        result = render(generator, events=each)
        wall += time.perf_counter() - start
        music_seconds += result.seconds
    return each * RENDER_SEEDS, music_seconds, wall


def bench_models(paths: list[str] | None, steps: int) -> list[dict]:
    """The given models; by default the shipped model beside a study-sized window model
    with random weights (same shapes and operators as the study's, so the same cost)."""
    from live.model import FULL_PRECISION_DEFAULT, default_model_path
    from live.model import randmodels

    figures = []
    with tempfile.TemporaryDirectory() as folder:
        if paths:
            for path in paths:
                figures.append(bench_model(path, Path(path).name, steps))
            return figures
        default = default_model_path()
        if default.is_file():
            figures.append(bench_model(default, "default model (int8)", steps))
            full = default_model_path(FULL_PRECISION_DEFAULT)
            if full.is_file():
                figures.append(bench_model(full, "default model, float32", steps))
        else:
            stand_in = randmodels.build_stream_model(
                Path(folder) / "stream.onnx", layers=2, hidden=256, embedding=64
            )
            figures.append(
                bench_model(stand_in, "stream 2x256, random weights (no default model yet)", steps)
            )
        study_label = "study's window model 2x BiLSTM 512, random weights"
        try:
            study = randmodels.build_window_model(Path(folder) / "study.onnx", hidden=512, window=50)
        except EncoreError as err:  # a runtime-only install has no onnx to build it with
            figures.append({"label": study_label, "skipped": str(err)})
        else:
            figures.append(bench_model(study, study_label, steps))
    return figures


def format_models(figures: list[dict]) -> str:
    lines = ["model steps (batch 1, one event, onnxruntime, 1 thread):"]
    skipped = [f for f in figures if "skipped" in f]
    figures = [f for f in figures if "skipped" not in f]
    for f in figures:
        lines.append(
            f"  {f['label']}: {f['kind']} {f['layers']}x{f['hidden']}"
            + (f" over {f['window']} events" if f["kind"] == "window" else "")
            + f", {f['size_mb']:.1f} MB\n"
            f"    step median {f['step_median_ms']:.3f} ms, p99 {f['step_p99_ms']:.3f} ms; "
            f"render {f['render_events_per_s']:,.0f} events/s = "
            f"{f['render_x_realtime']:,.0f}x real time "
            f"(music of {f['music_events_per_s']:.1f} events/s; best of "
            f"{len(f['render_x_realtime_rounds'])} rounds: "
            + ", ".join(f"{x:,.0f}x" for x in f["render_x_realtime_rounds"]) + ")"
        )
        if f.get("render_two_voices_x_realtime"):
            rounds = ", ".join(f"{x:,.0f}x" for x in f["render_two_voices_x_realtime_rounds"])
            lines.append(f"    with a bass voice (two voices, --bass): render "
                         f"{f['render_two_voices_x_realtime']:,.0f}x real time (rounds: {rounds}; goal: at least 400x)")
    if len(figures) >= 2:
        base = figures[0]["step_median_ms"]
        for f in figures[1:]:
            ratio = f["step_median_ms"] / base
            lines.append(
                f"  {f['label']} per event: {ratio:,.{1 if ratio < 10 else 0}f}x "
                f"the cost of {figures[0]['label']}"
            )
    lines += [f"  {f['label']}: skipped ({f['skipped']})" for f in skipped]
    return "\n".join(lines)


def rss_mb() -> float | None:
    """Resident memory of this process (Linux), in MB."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def bench_live(model_path, seconds: float, backend_name: str = "auto", knob_every: float = 2.0,
               report=None) -> dict:
    """Play for real through a MIDI port at >= 10 notes/s; measure when each message left
    against when it was due, and how soon a knob turn is acted on."""
    import time as clock

    from live.core.controls import Controls
    from live.engine.live_engine import LiveEngine, Output
    from live.core.generator import Generator
    from live.model import load_model
    from live.engine.ports import PortError, open_backend, open_output

    model = load_model(model_path)
    controls = Controls(density=0.6, polyphony=4, max_note=0.4)
    generator = Generator(model, controls, seed=0)
    try:
        backend = open_backend(backend_name)
        port, where = open_output(backend, None, "encore-bench")
    except PortError as err:
        port, where = None, f"no MIDI port ({err}); sending to nowhere"
    output = Output(port) if port is not None else Output(_NullPort())
    engine = LiveEngine(generator, output)
    rss_start = rss_mb()
    say(f"playing {seconds:g} s to {where}, a knob turned every {knob_every:g} s ...")
    engine.start()
    started = clock.monotonic()
    temperatures = [0.8, 1.2]
    turns = 0
    try:
        while clock.monotonic() - started < seconds:
            clock.sleep(knob_every)
            turns += 1
            engine.update_controls(temperature=temperatures[turns % 2])
            if report:
                report(clock.monotonic() - started, engine)
    finally:
        engine.stop()
        output.close()
    errors_ms = [e * 1e3 for e in engine.send_errors]
    latencies_ms = [x * 1e3 for x in engine.control_latencies]
    elapsed = clock.monotonic() - started
    return {
        "where": where,
        "seconds": elapsed,
        "notes": engine.sent_notes,
        "notes_per_s": engine.sent_notes / elapsed,
        "messages": len(errors_ms),
        "send_error_median_ms": median(errors_ms),
        "send_error_p99_ms": percentile(errors_ms, 0.99),
        "send_error_max_ms": max(errors_ms) if errors_ms else float("nan"),
        "knob_turns": turns,
        "knob_to_new_event_median_ms": median(latencies_ms),
        "knob_to_new_event_max_ms": max(latencies_ms) if latencies_ms else float("nan"),
        "step_median_ms": median([s * 1e3 for s in engine.step_times]),
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_mb(),
    }


class _NullPort:
    def send(self, message) -> None:
        pass

    def close(self) -> None:
        pass


def format_live(f: dict) -> str:
    return (
        f"live play, {f['seconds']:.0f} s to {f['where']}: {f['notes']} notes ({f['notes_per_s']:.1f}/s), "
        f"{f['messages']} messages\n"
        f"  send-time error (sent - due): median {f['send_error_median_ms']:.3f} ms, "
        f"p99 {f['send_error_p99_ms']:.3f} ms, max {f['send_error_max_ms']:.3f} ms\n"
        f"  knob turn -> first event under the new controls: median "
        f"{f['knob_to_new_event_median_ms']:.1f} ms, max {f['knob_to_new_event_max_ms']:.1f} ms "
        f"({f['knob_turns']} turns)\n"
        f"  one event (sample + model step) median {f['step_median_ms']:.3f} ms, each woken for "
        f"as it is due; memory {f['rss_start_mb']:.0f} MB at start, "
        f"{f['rss_end_mb']:.0f} MB at the end"
    )
