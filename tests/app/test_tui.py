"""The Textual app, driven by its Pilot over a real engine process on JACK ports."""

import asyncio
from dataclasses import replace
import time

import pytest

from jackports import Receiver, jack_backend, sounding_after
from live.app.cli import build_parser
from live.engine.process import RemoteEngine
from live.app.tui.app import ROWS, EncoreApp, PianoRoll, Transport
from live.app.tui.screens import ChordsScreen, HelpScreen, SetupScreen
from live.core.controls import Controls
from live.engine import protocol


def tui_args(*extra):
    return build_parser().parse_args(["tui", *map(str, extra)])


async def wait_for(pilot, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if predicate():
            return True
    return False


def press(app, *keys):
    """Keys as the terminal sends them, handled in this order. Not pilot.press: that returns
    once the app looks idle, which a screen redrawn 30 times a second never quite does (up
    to 2 s a key), and on a busy machine before the key is handled at all. Each step of a
    test waits for what its keys do instead."""
    for key in keys:
        app.simulate_key(key)


async def quit_and_wait(app, timeout=20.0):
    """q, and what the app returned, once it has. A test must not leave run_test before:
    a key still on its way then meets an app with no screens. (Polled without the Pilot,
    which waits on a screen a leaving app no longer has.)"""
    press(app, "q")
    deadline = time.monotonic() + timeout
    while app.return_code is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert app.return_code == 0, "q did not quit"
    return app.return_value


def notes_only(messages):
    return [x for x in messages if x[1].type.startswith("note")]


@pytest.fixture(autouse=True)
def no_engine_left_running(monkeypatch):
    """An app a test leaves early (a failed assert) has not closed its engine process: it
    plays on, and once nobody reads its pipe it blocks there, which once held a failed run
    at exit for minutes. Closed here, after each test."""
    started = []
    real_init = RemoteEngine.__init__

    def init(self, args, make_generator):
        real_init(self, args, make_generator)
        started.append(self)

    monkeypatch.setattr(RemoteEngine, "__init__", init)
    yield
    for engine in started:
        if engine.process.is_alive():
            engine.close()


@pytest.fixture
def receiver():
    backend = jack_backend()
    receiver = Receiver(backend)
    yield receiver
    receiver.close()


async def test_keys_drive_the_engine_and_quit_leaves_nothing_sounding(stream_model_path, receiver,
                                                                     tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where R writes
    args = tui_args("--model", stream_model_path, "--port", receiver.name, "--backend", "jack",
                    "--random-seed", 3, "--density", 0.8, "--primer", 1)
    app = EncoreApp(args)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.status is not None and app.status.playing), \
            "the engine never reported"
        assert app.status.seed.description == "primer 1 of 3"

        # [ and ] move temperature, and the engine's sampler has it: the second press builds
        # on the first even when a snapshot from before the first arrives between them
        press(app, "right_square_bracket", "right_square_bracket")
        assert await wait_for(pilot, lambda: abs(app.status.controls.temperature - 1.10) < 1e-9)
        # up/down select a control, left/right adjust it (shift: coarse)
        press(app, "down", "down", "down")  # highest pitch
        assert await wait_for(pilot, lambda: ROWS[app.query_one("#controls").selected].name == "high")
        press(app, "shift+left")
        assert await wait_for(pilot, lambda: app.status.controls.high == 115)

        # notes arrive, and the piano roll shows what was played
        assert receiver.wait_for(lambda ms: sum(m.type == "note_on" for _, m in ms) >= 3)
        assert await wait_for(pilot, lambda: app.query_one(PianoRoll).notes())
        assert "█" in str(app.query_one(PianoRoll).render())

        # the next primer reseeds
        press(app, "full_stop")
        assert await wait_for(pilot, lambda: app.status.seed.description == "primer 2 of 3")
        # numbered from 1 both ways round: previous of 1 is 3
        press(app, "comma", "comma")
        assert await wait_for(pilot, lambda: app.status.seed.description == "primer 3 of 3")

        # R renders from the primer on screen (not the command line's 1), never over the last
        def log():
            return str(app.query_one("#log").render())

        for name in ("encore-render.mid", "encore-render-2.mid"):
            press(app, "R")
            wrote = f"wrote {tmp_path / name}:"
            assert await wait_for(pilot, lambda: wrote in log(), timeout=60), log()  # noqa: B023 (awaited here)
            assert log().endswith("seeded with primer 3 of 3")
        assert sorted(p.name for p in tmp_path.glob("*.mid")) == ["encore-render-2.mid", "encore-render.mid"]

        # space stops: nothing new is played, and nothing is left sounding
        press(app, "space")
        assert await wait_for(pilot, lambda: not app.status.playing)
        stopped = time.perf_counter()
        await pilot.pause(0.4)
        assert not [m for t, m in receiver.snapshot() if m.type == "note_on" and t > stopped]
        assert sounding_after(receiver.notes()) == set()
        press(app, "space")
        assert await wait_for(pilot, lambda: app.status.playing)

        # panic: what sounds when p is pressed ends at once on the real port, and says so
        assert receiver.wait_for(lambda ms: sounding_after(notes_only(ms)))
        pressed = time.perf_counter()
        press(app, "p")
        assert await wait_for(pilot, lambda: "panic: all notes off" in str(app.query_one("#log").render()))
        # the engine has the panic once its line shows: from then on its note-offs are at
        # once (timed from the key instead, the window would measure how busy the machine is)
        shown = time.perf_counter()
        await pilot.pause(0.5)
        heard = receiver.snapshot()
        before = [x for x in notes_only(heard) if x[0] <= pressed]
        ended = {(m.channel, m.note) for t, m in notes_only(heard)
                 if pressed < t < shown + 0.5 and (m.type == "note_off" or m.velocity == 0)}
        assert sounding_after(before) <= ended
        # then CC 123 and 120 on the channel used, and it stays stopped, and says so
        controls = [(m.control, t) for t, m in heard if m.type == "control_change" and pressed < t]
        assert {123, 120} <= {c for c, _ in controls}
        assert await wait_for(pilot, lambda: not app.status.playing)
        assert "STOPPED" in str(app.query_one("#status").render())
        silent_from = time.perf_counter()
        await pilot.pause(0.5)
        assert not [m for t, m in receiver.snapshot() if m.type == "note_on" and t > silent_from]
        press(app, "space")
        assert await wait_for(pilot, lambda: app.status.playing)
        assert receiver.wait_for(lambda ms: any(m.type == "note_on" and t > silent_from for t, m in ms))
        # q: the engine ends every note and sends its figures, which the app returns
        final = await quit_and_wait(app)
    assert final and final.notes > 0
    time.sleep(0.2)
    assert sounding_after(receiver.notes()) == set()
    assert receiver.snapshot()[-1][1].type == "control_change"
    assert not app.engine.process.is_alive()


async def test_an_engine_that_cannot_start_is_a_message_not_a_crash(tmp_path):
    args = tui_args("--model", tmp_path / "missing.onnx", "--backend", "jack")
    app = EncoreApp(args)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.engine.fatal is not None)
        await pilot.pause(0.1)
        shown = str(app.query_one("#log").render())
        assert "missing.onnx: no such model file" in shown
        press(app, "down", "right", "space")  # still answers keys
        assert await wait_for(pilot, lambda: app.query_one("#controls").selected == 1)
        press(app, "question_mark")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = str(app.screen.query_one("#help").render())  # live/app/tui/help.md, as written
        assert "q   quit" in shown and "[ ]     temperature" in shown
        press(app, "escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await quit_and_wait(app)
    assert not app.engine.process.is_alive()


FIXED_STATUS = protocol.Status(
    now=10.0,
    playing=True,
    controls=Controls(temperature=0.9, top_p=0.95, low=48, high=84, root=9, scale="natural_minor",
                      polyphony=1, max_note=1.5, density=0.2),
    knobs={"temperature": "CC 74 (any channel)", "top_p": "CC 71 (any channel)"},
    tempo=protocol.TempoStatus(126.0, "midi clock", beats=True, beat=13.5, beat_origin=10.0 - 13.5 * 0.48,
                               perf_per_beat=0.48),
    quantize=protocol.QuantizeStatus("1/16", 0.8),
    meters=protocol.Meters(notes_per_s=6.5, step_median_ms=0.21, step_p99_ms=0.4,
                           send_p99_ms=0.08, send_max_ms=0.9, held=1),
    played=tuple([(6.5 + i * 0.25, 57 + (i * 5) % 12, True, 80) for i in range(14)]
                 + [(6.7 + i * 0.25, 57 + (i * 5) % 12, False, 0) for i in range(14)]),
    upcoming=((10.05, 69, True, 90), (10.15, 69, False, 0)),
    seed=protocol.SeedStatus("primer 3 of 16", 3, 16, "A4 C5 E5 A5"),
    model=protocol.ModelStatus("models/default.onnx", "stream", 2, 256, 256, 0.8, "folk", 16),
    ports=protocol.PortsStatus(output="synth", input="minilab", backend="jack", recording="set.mid"),
)


def test_main_screen_snapshot(snap_compare):
    app = EncoreApp(tui_args(), engine_factory=None, status=FIXED_STATUS)
    assert snap_compare(app, terminal_size=(80, 24))


def with_tempo(status=FIXED_STATUS, **changes):
    return status.with_(tempo=replace(status.tempo, **changes))


def lines_of(widget) -> list[str]:
    return str(widget.render()).split("\n")


@pytest.mark.parametrize("tempo, position, source, model", [
    (dict(beat=13.5), "bar 4:2", "clock", "beat model: tempo stretches the music"),
    (dict(beat=0.0, source="link", peers=2, beats=False, perf_per_beat=60 / 126),
     "bar 1:1", "Link (2 peers)", "seconds model: tempo moves the grid only"),
    (dict(beat=7.99, source="link", peers=1), "bar 2:4", "Link (1 peer)", "beat model"),
    (dict(beat=-2.0, source="internal"), "bar 1:1", "int.", "beat model"),  # the count-in
    # the widest it gets: it still fits 80 columns, next to the controls
    (dict(beat=4 * 998 + 3.5, source="link", peers=12, beats=False, bpm=399.5),
     "bar 999:4", "Link (12 peers)", "seconds model"),
])
async def test_the_transport_shows_bar_beat_the_tempo_its_source_and_the_kind_of_model(
        tempo, position, source, model):
    app = EncoreApp(tui_args(), engine_factory=None, status=with_tempo(**tempo))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        transport = app.query_one(Transport)
        bpm = app.status.tempo.bpm
        assert lines_of(transport) == [f"{position}  {bpm:.1f} BPM  {source}", lines_of(transport)[1]]
        assert lines_of(transport)[1].startswith(model)
        assert max(map(len, lines_of(transport))) <= transport.content_size.width
        # the tempo row says who sets the tempo too, in its narrow column (selected: in sight)
        app.query_one("#controls").selected = [r.name for r in ROWS].index("bpm")
        await pilot.pause()
        tempo_row = next(line for line in lines_of(app.query_one("#controls")) if line.startswith("bpm"))
        assert tempo_row.split()[-1] == source.split(" (")[0]
        # and every key of the footer is still there, none cut off
        footer = app.query_one("Footer")
        keys = {key.description for key in footer.query("FooterKey")}
        assert keys == {b.description for b in EncoreApp.BINDINGS if b.show}
        assert footer.virtual_size.width <= app.size.width


@pytest.mark.parametrize("beats, bpm, perf_per_beat", [
    (True, 100.0, 0.48),  # a beat model: 0.48 performance seconds a beat whatever the tempo
    (False, 126.0, 60 / 126),  # a seconds model: the tempo's own grid
])
async def test_the_roll_draws_bar_lines_and_beat_lines_where_the_tempo_s_beats_fall(beats, bpm, perf_per_beat):
    origin = 0.37
    notes = ((8.0, 60, True, 80), (8.1, 60, False, 0), (9.0, 72, True, 80), (9.1, 72, False, 0))
    status = with_tempo(FIXED_STATUS.with_(played=notes, upcoming=()),
                        beats=beats, bpm=bpm, beat_origin=origin, perf_per_beat=perf_per_beat)
    app = EncoreApp(tui_args(), engine_factory=None, status=status)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        roll = app.query_one(PianoRoll)
        start, end = status.now - roll.PAST_SECONDS, status.now + roll.FUTURE_SECONDS
        shown = [(origin + k * perf_per_beat, k % 4 == 0) for k in range(-100, 100)
                 if start <= origin + k * perf_per_beat <= end]
        bars = {roll.column(t) for t, bar in shown if bar}
        beat_columns = {roll.column(t) for t, bar in shown if not bar}
        assert len(bars) >= 2 and len(beat_columns) >= 4
        playhead = roll.column(status.now)
        expected = "".join("┃" if c == playhead else "│" if c in bars else "┆" if c in beat_columns else " "
                           for c in range(roll.width()))
        rows = lines_of(roll)
        assert len(rows) == 13  # C4 to C5: one row a pitch
        assert rows[1:-1] == [expected] * 11  # the rows with no note: the grid alone
        assert "█" in rows[0] and "█" in rows[-1]


async def test_before_any_note_the_roll_shows_the_grid_moving_and_says_so():
    status = with_tempo(FIXED_STATUS.with_(played=(), upcoming=()), beat_origin=0.37)
    app = EncoreApp(tui_args(), engine_factory=None, status=status)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        roll = app.query_one(PianoRoll)
        rows = lines_of(roll)
        assert len(rows) == roll.size.height and rows[0][1:13] == "no notes yet"
        bar = roll.column(0.37 + 16 * 0.48)  # beat 16, bar 5, 2.3 s ago
        assert {row[bar] for row in rows} == {"│"}


async def test_a_tempo_key_keeps_the_bar_and_the_source_on_screen_until_the_engine_answers(recording_engine):
    status = with_tempo(beat=13.5, source="link", peers=2)
    app = EncoreApp(tui_args(), engine_factory=recording_engine, status=status)
    async with app.run_test(size=(80, 24)) as pilot:
        press(app, *["down"] * [r.name for r in ROWS].index("bpm"), "right")
        assert await wait_for(pilot, lambda: recording_engine.sent == [protocol.SetTempo(127.0)])
        app.show_status()
        assert lines_of(app.query_one(Transport))[0] == "bar 4:2  127.0 BPM  Link (2 peers)"


async def test_with_no_midi_system_the_app_still_renders_music(stream_model_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = tui_args("--model", stream_model_path, "--backend", "winmm", "--random-seed", 2)
    app = EncoreApp(args)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.engine.fatal is not None)
        assert "winmm" in str(app.query_one("#log").render())
        press(app, "R")
        assert await wait_for(pilot, lambda: "wrote" in str(app.query_one("#log").render()), timeout=60)
        await quit_and_wait(app)
    from live.files.midifile import read_midi

    (part,) = read_midi(tmp_path / "encore-render.mid").parts
    assert part.notes and max(n.end for n in part.notes) >= 59.0


class RecordingEngine:
    """Stands in for the engine process where a test looks at the screen only: it keeps
    the arguments it was started with and the commands it was sent."""

    started: list = []
    sent: list = []

    def __init__(self, args):
        self.fatal = None
        RecordingEngine.started.append(args)

    def send(self, request):
        RecordingEngine.sent.append(request)

    def receive(self):
        return []

    def close(self):
        return None


@pytest.fixture
def recording_engine():
    RecordingEngine.started, RecordingEngine.sent = [], []
    return RecordingEngine


async def test_quick_key_presses_build_on_each_other(recording_engine):

    sent = recording_engine.sent
    app = EncoreApp(tui_args(), engine_factory=recording_engine, status=FIXED_STATUS)
    async with app.run_test(size=(80, 24)) as pilot:
        press(app, "right_square_bracket", "right_square_bracket", "right_square_bracket")
        press(app, "down", "shift+right")
        assert await wait_for(pilot, lambda: len(sent) == 4)
    temperatures = [r.value for r in sent if isinstance(r, protocol.SetControl) and r.name == "temperature"]
    assert temperatures == [0.95, 1.0, 1.05]
    assert protocol.SetControl("top_p", 1.0) in sent  # 0.95 + 0.2, capped at 1


async def test_a_snapshot_sent_before_a_key_press_was_read_does_not_take_it_back(recording_engine):

    class Behind(recording_engine):
        """Its next snapshots are behind the first command (a busy machine): one left before
        it read the command, one before its generator thread applied it."""

        def __init__(self, args):
            super().__init__(args)
            self.stale = None

        def send(self, request):
            super().send(request)
            if self.stale is None:
                self.stale = [FIXED_STATUS.with_(requests_read=read) for read in (0, 1)]

        def receive(self):
            got, self.stale = self.stale or [], [] if self.stale is not None else None
            return got

    app = EncoreApp(tui_args(), engine_factory=Behind, status=FIXED_STATUS)
    sent = recording_engine.sent
    async with app.run_test(size=(80, 24)) as pilot:
        press(app, "right_square_bracket")
        assert await wait_for(pilot, lambda: app.engine.stale == [])  # the old snapshot is in
        assert app.status.controls.temperature == 0.95  # and the press still shows
        press(app, "right_square_bracket")
        assert await wait_for(pilot, lambda: len(sent) == 2)
    assert [r.value for r in sent] == [0.95, 1.0]


def test_a_change_waits_for_a_snapshot_that_has_it_and_a_refused_one_is_let_go():

    from live.app.tui.pending import LATE_SNAPSHOTS, PendingChanges

    def snapshot(read, temperature):
        return FIXED_STATUS.with_(controls=replace(FIXED_STATUS.controls, temperature=temperature),
                                  requests_read=read)

    pending = PendingChanges()
    pending.sent_one(protocol.SetControl("temperature", 0.95), shown_at_once=True)
    pending.sent_one(protocol.SetControl("temperature", 1.0), shown_at_once=True)  # the latest counts
    assert pending.still_ahead_of(snapshot(0, 0.9)) == [protocol.SetControl("temperature", 1.0)]
    assert pending.still_ahead_of(snapshot(2, 0.95)) == [protocol.SetControl("temperature", 1.0)]
    assert pending.still_ahead_of(snapshot(2, 1.0)) == []  # it is in
    pending.sent_one(protocol.SetControl("temperature", 3.0), shown_at_once=True)  # refused, say
    for _ in range(LATE_SNAPSHOTS):
        assert pending.still_ahead_of(snapshot(3, 1.0))
    assert pending.still_ahead_of(snapshot(3, 1.0)) == []
    pending.sent_one(protocol.SetTempo(130.0), shown_at_once=True)
    assert pending.still_ahead_of(snapshot(4, 1.0).with_(requests_read=None)) == []  # a stand-in


async def test_the_model_picker_says_what_each_shipped_file_is_and_loads_the_pick(recording_engine):

    from textual.widgets import OptionList

    app = EncoreApp(tui_args("--backend", "jack"), engine_factory=recording_engine,
                    status=FIXED_STATUS)
    async with app.run_test(size=(100, 30)) as pilot:
        press(app, "o")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SetupScreen))
        models = app.screen.query_one("#models", OptionList)
        options = [models.get_option_at_index(i) for i in range(models.option_count)]
        labels = {option.id.rsplit("/", 1)[-1]: str(option.prompt) for option in options}
        assert labels["default.onnx"].startswith("default.onnx  stream 2x256, int8 weights, 1.3 MB")
        assert labels["default.onnx"].endswith("(plays by default)")
        assert labels["default-fp32.onnx"].startswith("default-fp32.onnx  stream 2x256, float32 weights")
        assert "plays by default" not in labels["default-fp32.onnx"]

        models.focus()
        index = [o.id for o in options].index(next(o.id for o in options if o.id.endswith("default-fp32.onnx")))
        # the dialog may still be settling (its first highlight) on a busy machine: pick, and see it kept
        for _ in range(50):
            models.highlighted = index
            await pilot.pause(0.1)
            if models.highlighted == index:
                break
        press(app, "enter")
        # the engine restarted with the picked file
        assert await wait_for(pilot, lambda: len(recording_engine.started) == 2)
        await quit_and_wait(app)
    assert recording_engine.started[-1].model.endswith("default-fp32.onnx")


async def test_the_input_list_leaves_out_encore_own_output(recording_engine):
    import uuid

    from textual.widgets import OptionList

    backend = jack_backend()
    mine = backend.mido_backend.open_output(f"mine-{uuid.uuid4().hex[:6]}", virtual=True)
    theirs = backend.mido_backend.open_output(f"keys-{uuid.uuid4().hex[:6]}", virtual=True)
    try:
        own_name = next(n for n in backend.input_names() if n.endswith(mine.name))
        status = FIXED_STATUS.with_(ports=replace(FIXED_STATUS.ports, own_inputs=(own_name,)))
        app = EncoreApp(tui_args("--backend", "jack"), engine_factory=recording_engine, status=status)
        async with app.run_test(size=(100, 30)) as pilot:
            press(app, "o")

            def listed():
                if not isinstance(app.screen, SetupScreen):
                    return []
                inputs = app.screen.query_one("#inputs", OptionList)
                return [inputs.get_option_at_index(i).id for i in range(inputs.option_count)]

            assert await wait_for(pilot, lambda: any(i and i.endswith(theirs.name) for i in listed()))
            assert own_name not in listed()
            press(app, "escape")
            assert await wait_for(pilot, lambda: not isinstance(app.screen, SetupScreen))
            await quit_and_wait(app)
    finally:
        mine.close()
        theirs.close()


@pytest.mark.parametrize("how, said", [
    ("SIGKILL", "the engine stopped unexpectedly (killed by signal 9)"),  # no clean-up can run
    ("SIGSTOP", "it stopped answering"),  # alive, but answers nothing: found by its heartbeat
])
async def test_an_engine_killed_or_frozen_mid_note_is_followed_by_all_notes_off_from_the_screen(
        stream_model_path, receiver, how, said):
    import os
    import signal

    args = tui_args("--model", stream_model_path, "--port", receiver.name, "--backend", "jack",
                    "--random-seed", 3, "--density", 0.8, "--max-note", 5)
    app = EncoreApp(args)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.status is not None and app.status.playing)
        assert receiver.wait_for(lambda ms: sounding_after(notes_only(ms)))
        struck = time.perf_counter()
        os.kill(app.engine.process.pid, getattr(signal, how))
        assert await wait_for(pilot, lambda: said in str(app.query_one("#log").render()))
        assert receiver.wait_for(lambda ms: any(t > struck and m.type == "control_change" and m.control == 123
                                                for t, m in ms))
        panic = {(m.channel, m.control) for t, m in receiver.snapshot()
                 if t > struck and m.type == "control_change"}
        assert {(c, 123) for c in range(16)} | {(c, 120) for c in range(16)} <= panic
        assert "all notes off sent to" in str(app.query_one("#log").render())
        assert not app.status.playing and not app.engine.process.is_alive()
        started_quit = time.monotonic()
        await quit_and_wait(app)
        assert time.monotonic() - started_quit < 3.0  # q does not wait on a hung child


async def test_an_engine_killed_on_its_virtual_port_is_followed_by_all_notes_off_where_the_port_fed(
        stream_model_path, receiver):
    """SIGKILL takes the engine's virtual port away with its connections: the screen's
    witness knew them (JACK, asked every 0.25 s) and ends the notes at the synth there."""
    import os
    import signal
    import uuid

    jack = pytest.importorskip("jack")
    args = tui_args("--model", stream_model_path, "--virtual", f"encore-{uuid.uuid4().hex[:6]}",
                    "--backend", "jack", "--random-seed", 3, "--density", 0.8, "--max-note", 5)
    app = EncoreApp(args)
    client = jack.Client(f"test-{uuid.uuid4().hex[:6]}", no_start_server=True)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            assert await wait_for(pilot, lambda: app.status is not None and app.status.playing
                                  and app.status.ports.own_inputs)
            ours = app.status.ports.own_inputs[0]
            theirs = client.get_ports(name_pattern=receiver.name, is_input=True, is_midi=True)[0].name
            client.connect(ours, theirs)  # what a musician does in a patchbay
            # joined mid-set, it may hear a note-off first: any note-on says notes arrive
            assert receiver.wait_for(lambda ms: any(m.type == "note_on" and m.velocity for _, m in ms))
            assert await wait_for(pilot, lambda: app.witness is not None and theirs in app.witness.destinations)
            struck = time.perf_counter()
            os.kill(app.engine.process.pid, signal.SIGKILL)
            assert await wait_for(pilot, lambda: "all notes off sent to" in str(app.query_one("#log").render()))
            assert receiver.wait_for(lambda ms: any(t > struck and m.type == "control_change" and m.control == 123
                                                    for t, m in ms))
            panic = {(m.channel, m.control) for t, m in receiver.snapshot()
                     if t > struck and m.type == "control_change"}
            assert {(c, 123) for c in range(16)} | {(c, 120) for c in range(16)} <= panic
            assert theirs in str(app.query_one("#log").render())
            await quit_and_wait(app)
    finally:
        client.close()


async def test_on_its_own_port_the_screen_waits_for_a_synth_and_space_plays_at_once(stream_model_path):
    """The quick start's port: nothing is played to nobody; the screen says what to do, and
    space does not wait."""
    args = tui_args("--model", stream_model_path, "--backend", "jack", "--random-seed", 3)
    app = EncoreApp(args)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one("#log")
        assert await wait_for(pilot, lambda: "waiting for a synth: connect one to" in str(log.render()))
        await pilot.pause(0.5)
        assert app.status is not None and not app.status.playing and app.status.meters.held == 0
        press(app, "space")
        assert await wait_for(pilot, lambda: app.status.playing and app.status.played)  # notes go out
        await quit_and_wait(app)


async def test_an_engine_lost_with_its_virtual_port_says_so(recording_engine):

    class Dying(recording_engine):
        def died(self):
            return "killed by signal 9"

    status = FIXED_STATUS.with_(ports=replace(FIXED_STATUS.ports, output="encore", output_virtual=True))
    app = EncoreApp(tui_args("--backend", "jack"), engine_factory=Dying, status=status)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: "its virtual port closed with it; press o to start it again"
                              in str(app.query_one("#log").render()))
        assert not app.status.playing
        await quit_and_wait(app)


async def test_with_no_midi_system_the_screen_says_what_is_wrong_and_what_to_do_in_full(monkeypatch):
    """At 80x24 the log is one row: the advice went to the empty controls panel."""
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "no-such-jack-server")
    app = EncoreApp(tui_args("--backend", "jack"))
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.engine.fatal is not None)
        await pilot.pause(0.1)
        panel = app.query_one("#controls")
        shown = str(panel.render())
        assert app.engine.fatal in shown and "waiting for the engine" not in shown
        assert "o  pick ports and a model" in shown and "R  render this seed to a file" in shown
        lines = shown.splitlines()
        # every line fits the panel once wrapped: nothing of the advice is cut off
        assert panel.size.height >= sum(1 + len(line) // max(1, panel.size.width) for line in lines)
        await quit_and_wait(app)


def test_after_the_screen_quits_the_engine_s_last_figures_are_printed(monkeypatch, capsys):
    from live.app.tui import app as tui_app

    class Quit:  # an app that has run and quit: run() gives the engine's Closed
        def __init__(self, args):
            self.engine = None

        def run(self):
            return protocol.Closed(notes=3, send_median_ms=0.01, send_p99_ms=0.2, send_max_ms=0.5, messages=6)

    monkeypatch.setattr(tui_app, "EncoreApp", Quit)
    assert tui_app.run_tui(tui_args()) == 0
    out = capsys.readouterr().out
    assert "3 notes played" in out and "p99 0.200 ms, max 0.500 ms over 6 messages" in out


async def test_at_80x24_the_port_dialog_lists_the_playing_model_first_and_enter_picks_at_once(recording_engine):
    from textual.widgets import OptionList

    app = EncoreApp(tui_args("--backend", "jack"), engine_factory=recording_engine, status=FIXED_STATUS)
    async with app.run_test(size=(80, 24)) as pilot:
        press(app, "o")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SetupScreen))
        await pilot.pause(0.1)
        models = app.screen.query_one("#models", OptionList)
        assert models.get_option_at_index(0).id.endswith("/default.onnx")  # what plays, first
        assert models.content_size.height >= 2  # more than one row of the list shows
        models.focus()
        press(app, "enter")  # no Down first: the highlighted row is picked
        assert await wait_for(pilot, lambda: len(recording_engine.started) == 2)
        await quit_and_wait(app)
    assert recording_engine.started[-1].model.endswith("/default.onnx")


def test_a_long_value_keeps_the_knob_column_in_place():
    from live.app.tui.app import ControlsPanel

    panel = ControlsPanel()
    panel.status = FIXED_STATUS.with_(controls=FIXED_STATUS.controls.with_(scale="harmonic_minor"))
    lines = str(panel.render()).splitlines()
    assert all(len(line) == len(lines[0]) for line in lines), lines
    assert any("harmonic minor" in line for line in lines)


async def test_ctrl_c_quits_as_q_does(recording_engine):
    closed = []

    class Closing(recording_engine):
        def close(self):
            closed.append(True)  # where the engine ends its notes and saves the recording

    app = EncoreApp(tui_args("--backend", "jack"), engine_factory=Closing, status=FIXED_STATUS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        press(app, "ctrl+c")
        deadline = time.monotonic() + 20
        while app.return_code is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    assert app.return_code is not None and closed


async def test_a_loop_on_screen_a_clip_of_it_hold_and_next(beat_model_path, receiver, tmp_path):
    args = tui_args("--model", beat_model_path, "--port", receiver.name, "--backend", "jack",
                    "--random-seed", 3, "--loop", 1, "--variation", 0, "--bpm", 240, "--capture-dir", tmp_path)
    app = EncoreApp(args)

    def log():
        return str(app.query_one("#log").render())

    def transport():
        return str(app.query_one(Transport).render())

    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.status is not None and app.status.loop.passes >= 2), \
            "the loop never came round"
        assert "loop 1 bar" in transport() and "variation 0 %" in transport()
        assert await wait_for(pilot, lambda: "║" in str(app.query_one(PianoRoll).render()))  # bar 1 marked
        # x: the phrase as a clip of exactly one bar at 240 BPM
        press(app, "x")
        clip = tmp_path / "encore-loop-1bar-240bpm.mid"
        assert await wait_for(pilot, lambda: f"to {clip}" in log()), log()
        import mido

        assert mido.MidiFile(clip).length == pytest.approx(1.0, abs=1e-3)
        # h holds (the screen says so); n a new phrase: its first time round again
        press(app, "h")
        assert await wait_for(pilot, lambda: app.status.loop.hold and "HOLD" in transport())
        came_round = app.status.loop.passes
        press(app, "n")
        assert await wait_for(pilot, lambda: app.status.loop.passes < came_round)
        final = await quit_and_wait(app)
    assert final and final.notes > 0
    time.sleep(0.2)
    assert sounding_after(receiver.notes()) == set()


async def test_the_chords_on_screen_and_a_progression_typed_in(beat_model_path, receiver):
    args = tui_args("--model", beat_model_path, "--port", receiver.name, "--backend", "jack",
                    "--random-seed", 3, "--chords", "Am F", "--bpm", 240)
    app = EncoreApp(args)

    def transport():
        return str(app.query_one(Transport).render())

    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.status is not None and app.status.harmony.chord is not None)
        assert await wait_for(pilot, lambda: "key A:minor" in transport() and
                              ("chord Am -> F" in transport() or "chord F -> Am" in transport())), transport()
        press(app, "k")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChordsScreen))
        app.screen.query_one("#chords").value = "Dm G C"
        press(app, "enter")
        assert await wait_for(pilot, lambda: app.status.harmony.progression == "Dm G C"), app.status.harmony
        assert await wait_for(pilot, lambda: "key C:major" in transport()), transport()
        await quit_and_wait(app)
    time.sleep(0.2)
    assert sounding_after(receiver.notes()) == set()


async def test_every_row_comes_into_sight_when_selected_and_bass_rows_move_the_bass(recording_engine):
    sent = recording_engine.sent
    status = FIXED_STATUS.with_(bass=Controls(low=36, high=60, density=-0.3, polyphony=1))
    app = EncoreApp(tui_args(), engine_factory=recording_engine, status=status)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one("#controls")

        def panel_text():
            return str(panel.render())

        for index, row in enumerate(ROWS):  # down through every row, at 80x24
            if index:
                press(app, "down")
            assert await wait_for(pilot, lambda: panel.selected == index)  # noqa: B023 (awaited here)
            await pilot.pause(0.05)
            assert row.label in panel_text(), (row.label, panel_text())
            assert len(panel_text().splitlines()) <= panel.content_size.height
        press(app, "up")  # back to a bass row: bass temperature is just before the loop rows
        while ROWS[panel.selected].label != "bass density":
            press(app, "up")
            await pilot.pause(0.02)
        press(app, "right")
        assert await wait_for(pilot, lambda: protocol.SetControl("density", -0.2, "bass") in sent), sent
    # without a bass, its rows say so and send nothing
    recording_engine.sent.clear()
    app = EncoreApp(tui_args(), engine_factory=recording_engine, status=FIXED_STATUS)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one("#controls")
        panel.selected = [row.label for row in ROWS].index("bass low")
        press(app, "right")
        assert await wait_for(pilot, lambda: "no bass voice" in str(app.query_one("#log").render()))
    assert not [r for r in recording_engine.sent if isinstance(r, protocol.SetControl)]
