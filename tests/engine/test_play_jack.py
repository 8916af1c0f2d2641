"""`encore play` on real JACK MIDI ports: notes arrive, end, and clean up on every exit."""

import os
import signal
import time
from pathlib import Path

import pytest

from jackports import Receiver, jack_backend, sounding_after, start_play, wait_until


@pytest.fixture
def backend():
    return jack_backend()


def test_notes_arrive_with_their_note_offs_and_cc_123_at_the_end(backend, stream_model_path, tmp_path):
    receiver = Receiver(backend)
    try:
        record = tmp_path / "rec.mid"
        play = start_play("--model", stream_model_path, "--port", receiver.name, "--seconds", 3,
                          "--random-seed", 4, "--density", 0.8, "--record", record, "--channel", 2)
        out, err = play.communicate(timeout=60)
        assert play.returncode == 0, err
        assert "Traceback" not in err
        messages = receiver.snapshot()
        notes = [m for _, m in messages if m.type == "note_on"]
        assert len(notes) >= 5, err
        assert all(m.channel == 1 for _, m in messages)
        assert sounding_after(receiver.notes()) == set(), "a note was left sounding"
        assert messages[-1][1].type == "control_change" and messages[-1][1].control == 123
        # the recording holds what was sent
        from live.files.midifile import read_midi

        (part,) = read_midi(record).parts
        assert len(part.notes) == len(notes)
        assert "none left sounding" in err
    finally:
        receiver.close()


def test_sigterm_mid_note_leaves_nothing_sounding(backend, stream_model_path, tmp_path):
    receiver = Receiver(backend)
    try:
        record = tmp_path / "rec.mid"
        play = start_play("--model", stream_model_path, "--port", receiver.name, "--random-seed", 5,
                          "--density", 1.0, "--max-note", 4, "--record", record)
        assert receiver.wait_for(lambda ms: sounding_after([x for x in ms if x[1].type.startswith("note")])), \
            "no note started"
        play.send_signal(signal.SIGTERM)
        out, err = play.communicate(timeout=30)
        assert play.returncode == 0, err
        assert "stopped (SIGTERM)" in err and "Traceback" not in err
        time.sleep(0.1)
        assert sounding_after(receiver.notes()) == set()
        assert any(m.type == "control_change" and m.control == 123 for _, m in receiver.snapshot())
        assert record.is_file()
        # a clean stop releases the guardian: it leaves without sending anything
        assert wait_until(lambda: not guardians_of(receiver.name), timeout=10)
        assert not any(m.type == "control_change" and m.control == 120 for _, m in receiver.snapshot())
    finally:
        receiver.close()


def guardians_of(port_name: str) -> list[int]:
    """Process ids of encore guardians watching this port (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"live.engine.guardian" in command and port_name.encode() in command:
            found.append(int(entry.name))
    return found


def test_a_killed_encore_has_its_notes_ended_by_its_guardian(backend, stream_model_path):
    # SIGKILL: encore runs no clean-up at all; the synth must not be left holding notes
    receiver = Receiver(backend)
    try:
        play = start_play("--model", stream_model_path, "--port", receiver.name, "--random-seed", 5,
                          "--density", 1.0, "--max-note", 4)
        assert receiver.wait_for(lambda ms: sounding_after([x for x in ms if x[1].type.startswith("note")])), \
            "no note started"
        assert guardians_of(receiver.name), "no guardian beside encore"
        pid = play.pid
        play.kill()
        _, err = play.communicate(timeout=30)

        def panic_heard(messages):
            for control in (123, 120):
                channels = {m.channel for _, m in messages if m.type == "control_change" and m.control == control}
                if channels != set(range(16)):
                    return False
            return True

        assert receiver.wait_for(panic_heard, timeout=10), "no all-notes-off on every channel"
        assert wait_until(lambda: not guardians_of(receiver.name), timeout=10)
        # the guardian's one line goes where encore's went (it shares encore's stderr)
        assert f"the encore process {pid} ended without its clean-up" in err, err
        assert "all notes off sent to" in err and "Traceback" not in err
    finally:
        receiver.close()


def test_encore_s_own_port_waits_for_a_synth_and_plays_from_the_top_when_one_connects(backend, stream_model_path):
    """Notes sent before anyone connected were heard by no one: the set began mid-phrase.
    On its own default port encore waits; --seconds counts from the first note."""
    import uuid

    jack = pytest.importorskip("jack")
    receiver = Receiver(backend)
    client = jack.Client(f"test-{uuid.uuid4().hex[:6]}", no_start_server=True)
    before = {p.name for p in client.get_ports(is_output=True, is_midi=True)}
    try:
        play = start_play("--model", stream_model_path, "--random-seed", 5, "--density", 1.0, "--seconds", 2)

        def ours():
            new = [p.name for p in client.get_ports(is_output=True, is_midi=True) if p.name not in before]
            return new[0] if len(new) == 1 else None

        assert wait_until(ours, timeout=20), "no port of encore's came"
        time.sleep(2.5)  # longer than --seconds: it must still be waiting, not done
        assert play.poll() is None, play.communicate()[1]
        theirs = client.get_ports(name_pattern=receiver.name, is_input=True, is_midi=True)[0].name
        connected = time.perf_counter()
        client.connect(ours(), theirs)
        out, err = play.communicate(timeout=30)
        assert play.returncode == 0 and "Traceback" not in err, err
        assert "waiting for a synth" in err and f"{theirs} connected: playing" in err, err
        played = int(err.split(" played")[0].rsplit(" ", 2)[-2].replace(",", ""))
        # the receiver's reader may still be a few messages behind the exit: let it catch up
        receiver.wait_for(lambda ms: sum(m.type == "note_on" and m.velocity > 0 for _, m in ms) >= played, timeout=5)
        notes = [(t, m) for t, m in receiver.snapshot() if m.type.startswith("note")]
        ons = [t for t, m in notes if m.type == "note_on" and m.velocity]
        assert notes and notes[0][1].type == "note_on"  # from the top: no note-off of a note unheard
        # the music's own first rest comes first (where the pause left the model depends on
        # how far it had run ahead): seconds, not the end of --seconds
        assert ons[0] - connected < 3.0, (ons[0] - connected, err)
        assert ons[-1] - ons[0] > 1.0  # it played its --seconds after the connection
        assert played == len(ons)  # nothing was sent before the synth came
        assert sounding_after(receiver.notes()) == set()
    finally:
        client.close()
        receiver.close()


def test_a_killed_encore_on_its_virtual_port_has_its_notes_ended_where_the_port_was_connected(
        backend, stream_model_path):
    """The virtual port dies with encore and its connections with it; the guardian, on
    JACK, watched who was connected and sends the panic there."""
    import uuid

    jack = pytest.importorskip("jack")
    receiver = Receiver(backend)
    virtual = f"encore-{uuid.uuid4().hex[:6]}"
    client = jack.Client(f"test-{uuid.uuid4().hex[:6]}", no_start_server=True)
    try:
        play = start_play("--model", stream_model_path, "--virtual", virtual, "--random-seed", 5,
                          "--density", 1.0, "--max-note", 4)
        assert wait_until(lambda: client.get_ports(name_pattern=virtual, is_output=True, is_midi=True), timeout=20)
        ours = client.get_ports(name_pattern=virtual, is_output=True, is_midi=True)[0].name
        theirs = client.get_ports(name_pattern=receiver.name, is_input=True, is_midi=True)[0].name
        client.connect(ours, theirs)  # a musician patches the synth in
        assert receiver.wait_for(lambda ms: any(m.type == "note_on" and m.velocity for _, m in ms)), "no note came"
        assert wait_until(lambda: guardians_of(ours), timeout=10), "no guardian beside encore"
        time.sleep(0.6)  # the witness asks every 0.25 s
        struck = time.perf_counter()
        play.kill()
        _, err = play.communicate(timeout=30)

        def panic_heard(messages):
            heard = {(m.channel, m.control) for t, m in messages if t > struck and m.type == "control_change"}
            return {(c, k) for c in range(16) for k in (123, 120)} <= heard

        assert receiver.wait_for(panic_heard, timeout=10), "no all-notes-off on every channel"
        assert wait_until(lambda: not guardians_of(ours), timeout=10)
        assert f"all notes off sent to {theirs}" in err and "Traceback" not in err, err
    finally:
        client.close()
        receiver.close()


@pytest.mark.parametrize("voices", [(), ("--bass", "--bass-density", "1.0")], ids=["lead", "lead and bass"])
def test_a_port_closed_and_reopened_mid_play_is_recovered(backend, stream_model_path, voices):
    receiver = Receiver(backend)
    play = None
    try:
        play = start_play("--model", stream_model_path, "--port", receiver.name, "--seconds", 60,
                          "--random-seed", 6, "--density", 1.0, *voices)
        assert receiver.wait_for(lambda ms: len(ms) >= 3), "nothing arrived"
        held = sounding_after([x for x in receiver.snapshot() if x[1].type.startswith("note")])
        receiver.close()
        time.sleep(1.5)
        before = len(receiver.snapshot())
        receiver.open()
        # played again there (not only the note-offs of what sounded at the loss)
        wanted = {0, 1} if voices else {0}  # every voice plays there again

        def recovered(ms):
            ons = [m for _, m in ms[before:] if m.type == "note_on"]
            return len(ons) >= 2 and {m.channel for m in ons} == wanted

        assert receiver.wait_for(recovered, timeout=10), "not recovered"
        play.send_signal(signal.SIGTERM)  # a clean stop once it is back, not a fixed length
        out, err = play.communicate(timeout=30)
        assert play.returncode == 0, err
        assert "vanished" in err and "is back" in err
        # what sounded at the loss was ended on the returned port; after the reconnection,
        # every note that started there also ended there
        after = [m for _, m in receiver.snapshot()[before:]]
        assert_ended_on_return(after, held)
        if voices:  # both voices came back, and ended there
            assert {m.channel for m in after if m.type == "note_on"} == {0, 1}
    finally:
        if play is not None and play.poll() is None:
            play.kill()
            play.communicate()
        receiver.close()


def test_bench_live_plays_through_a_real_port_and_reports_its_figures(backend, stream_model_path, monkeypatch):
    import functools
    import json

    from cli_helpers import run_main
    from live.app import bench

    # a knob turn every half second instead of every 2: as many turns in a shorter run
    monkeypatch.setattr(bench, "bench_live", functools.partial(bench.bench_live, knob_every=0.5))
    result = run_main("bench", "--live", "--seconds", "2", "--backend", "jack", "--model", stream_model_path,
                      "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert "encore-bench" in figures["where"]  # a real virtual port, not the null stand-in
    assert figures["notes"] > 10 and figures["messages"] > figures["notes"]  # ons and timed offs
    assert 0 <= figures["send_error_median_ms"] <= figures["send_error_p99_ms"] <= figures["send_error_max_ms"]
    assert figures["knob_turns"] >= 2 and figures["knob_to_new_event_median_ms"] > 0


def test_encore_own_output_is_refused_as_its_input(backend, stream_model_path):
    # reading its own virtual port would pass every note back out again, for ever
    name = f"encore-{time.monotonic_ns() % 10**8}"
    play = start_play("--model", stream_model_path, "--virtual", name, "--input", name, "--seconds", 5)
    out, err = play.communicate(timeout=60)
    assert play.returncode == 1 and "Traceback" not in err
    assert f":{name}' is encore's own output: it would play encore back into itself" in err
    assert err.strip().splitlines()[-1].startswith("encore: input ")
    assert name not in " ".join(backend.output_names() + backend.input_names())  # closed again


def test_a_signal_while_the_model_loads_stops_cleanly_before_a_note(backend, stream_model_path, capsys):
    import os

    from live.app.cli import build_parser, generator_from_args
    from live.app.play import play

    receiver = Receiver(backend)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        args = build_parser().parse_args(["play", "--backend", "jack", "--port", receiver.name,
                                          "--model", str(stream_model_path), "--seconds", "5"])

        def load_while_a_signal_arrives():
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of loading
            return generator_from_args(args, channel=0)

        started = time.monotonic()
        assert play(args, load_while_a_signal_arrives) == 0  # no KeyboardInterrupt either
        assert time.monotonic() - started < 4  # it did not play on
        time.sleep(0.2)
        assert not [m for _, m in receiver.snapshot() if m.type == "note_on"]
        assert "stopped (Ctrl-C)" in capsys.readouterr().err
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        receiver.close()


def test_a_port_listing_cut_short_by_a_signal_is_tried_again_next_round():
    import rtmidi

    from live.engine.live_engine import Output
    from live.engine.session import PortWatch

    class Interrupted:
        calls = 0

        def output_names(self):
            Interrupted.calls += 1
            raise rtmidi.SystemError("MidiOutJack::initialize: JACK server not running?")  # EINTR

    class Engine:
        def forget_sounding(self):
            raise AssertionError("a failed listing is not a vanished port")

    output = Output(port=object())
    watch = PortWatch(Interrupted(), output, "synth", Engine())
    watch.check()
    watch.check()
    assert Interrupted.calls == 2 and not output.lost


def test_listing_ports_keeps_one_client_and_sees_ports_come_and_go(backend):
    import uuid

    name = f"come-go-{uuid.uuid4().hex[:6]}"
    port = backend.mido_backend.open_output(name, virtual=True)
    try:
        assert any(n.endswith(name) for n in backend.input_names())
        lister = backend._lister
        backend.input_names()
        assert backend._lister is lister  # the same client, not a new one per listing
    finally:
        port.close()
    time.sleep(0.05)
    assert not any(n.endswith(name) for n in backend.input_names())


def test_a_midi_client_open_cut_short_by_a_signal_is_opened_again():
    import rtmidi

    from live.engine.ports import INTERRUPTED_TRIES, retry_interrupted

    tries = []

    def open_client():
        tries.append(1)
        if len(tries) < INTERRUPTED_TRIES:
            raise rtmidi.SystemError("MidiInJack::initialize: JACK server not running?")
        return "client"

    assert retry_interrupted(open_client) == "client" and len(tries) == INTERRUPTED_TRIES
    tries.clear()

    def never():
        tries.append(1)
        raise rtmidi.SystemError("MidiInJack::initialize: JACK server not running?")

    with pytest.raises(rtmidi.SystemError):
        retry_interrupted(never)  # a server that is really not there is still an error
    assert len(tries) == INTERRUPTED_TRIES


def test_a_guardian_that_dies_is_reported_and_the_set_plays_on(backend, stream_model_path):
    receiver = Receiver(backend)
    try:
        play = start_play("--model", stream_model_path, "--port", receiver.name, "--random-seed", 6,
                          "--density", 1.0)
        assert wait_until(lambda: guardians_of(receiver.name), timeout=20)
        for pid in guardians_of(receiver.name):
            os.kill(pid, signal.SIGKILL)
        time.sleep(1.5)  # the play loop looks twice a second
        before = len(receiver.notes())
        assert receiver.wait_for(lambda ms: len([m for _, m in ms if m.type == "note_on"]) > before, timeout=10)
        play.send_signal(signal.SIGTERM)
        _, err = play.communicate(timeout=30)
        assert play.returncode == 0, err
        assert "the guardian process has ended" in err and "Traceback" not in err
        assert sounding_after(receiver.notes()) == set()
    finally:
        receiver.close()


def test_a_port_that_does_not_exist_is_one_line_and_leaves_no_guardian(backend, stream_model_path):
    name = f"nosuch-{time.monotonic_ns()}"
    play = start_play("--model", stream_model_path, "--port", name, "--seconds", 1)
    _, err = play.communicate(timeout=60)
    assert play.returncode != 0
    assert len(err.strip().splitlines()) == 1 and name in err, err
    assert not guardians_of(name)


def test_a_port_gone_for_a_moment_is_noticed_reconnected_and_its_notes_ended(backend, stream_model_path):
    """80 ms without the synth's port: the JACK connection died with it, so encore must see
    the broken connection (a name looked up every half second would find the port there),
    connect again, end on the returned port what sounded when it went, and play on."""
    receiver = Receiver(backend)
    try:
        play = start_play("--model", stream_model_path, "--port", receiver.name, "--seconds", 5,
                          "--random-seed", 6, "--density", 1.0, "--max-note", 4)
        assert receiver.wait_for(lambda ms: sounding_after([x for x in ms if x[1].type.startswith("note")])), \
            "no note sounded"
        held = sounding_after([x for x in receiver.snapshot() if x[1].type.startswith("note")])
        receiver.close()
        time.sleep(0.08)
        before = len(receiver.snapshot())
        receiver.open()
        assert receiver.wait_for(lambda ms: any(m.type == "note_on" for _, m in ms[before:]), timeout=5), \
            "never played again on the returned port"
        out, err = play.communicate(timeout=30)
        assert play.returncode == 0, err
        # said once, either way: JACK may give the returned port its old name or a new one
        assert "went away and came back" in err or ("vanished" in err and "is back" in err), err
        assert_ended_on_return([m for _, m in receiver.snapshot()[before:]], held)
    finally:
        receiver.close()


def assert_ended_on_return(after, held):
    """After a port came back: each note sounding when it went got its note-off (or CC 123)
    there; every note that started there ended there; CC 123 at the exit."""
    ended = {(m.channel, m.note) for m in after if m.type == "note_off"}
    all_off = {m.channel for m in after if m.type == "control_change" and m.control == 123}
    assert all(key in ended or key[0] in all_off for key in held), (held, after[:10])
    sounding, started = set(), set()
    for m in after:
        key = (m.channel, getattr(m, "note", None))
        if m.type == "note_on" and m.velocity > 0:
            assert key not in sounding, f"struck twice without a note-off: {m}"
            sounding.add(key)
            started.add(key)
        elif m.type == "note_off" and key in sounding:
            sounding.remove(key)
    assert not sounding and started, (sounding, started)
    assert after[-1].type == "control_change" and after[-1].control == 123


def test_the_virtual_port_is_found_under_encore_s_own_name(backend):
    """RtMidi's default client name hid the port as "RtMidiOut Client:encore"."""
    from live.engine.ports import open_output

    port, described = open_output(backend, virtual="encore-test-name")
    try:
        assert "encore:encore-test-name" in backend.input_names()
        assert "'encore:encore-test-name'" in described
    finally:
        port.close()


def test_a_beat_model_s_recording_is_written_at_the_tempo_with_its_notes_on_the_file_s_grid(
        backend, beat_model_path, tmp_path):
    import mido

    receiver = Receiver(backend)
    try:
        record = tmp_path / "rec.mid"
        play = start_play("--model", beat_model_path, "--port", receiver.name, "--seconds", 3,
                          "--random-seed", 4, "--density", 0.8, "--record", record, "--bpm", 150)
        _, err = play.communicate(timeout=60)
        assert play.returncode == 0, err
        assert "playing at 150 BPM (a beat model: on its grid)" in err  # says the tempo it plays at
    finally:
        receiver.close()
    from midi_builders import note_ticks, tempos_bpm

    midi = mido.MidiFile(record)
    assert tempos_bpm(midi) == [150]
    onsets, _ = note_ticks(midi)
    step = midi.ticks_per_beat // 48  # the model's 1/48 beat
    assert len(onsets) >= 5
    assert all(tick % step == 0 for tick in onsets), onsets  # recorded at their due times: on the grid


def test_sigterm_with_a_bass_leaves_nothing_sounding_on_either_channel(backend, beat_model_path, tmp_path):
    receiver = Receiver(backend)
    try:
        record = tmp_path / "rec.mid"
        # the voices' own densities: two dense voices through the JACK test port once lost a
        # note-on on a loaded CI machine (the receiver saw its note-off alone)
        play = start_play("--model", beat_model_path, "--port", receiver.name, "--random-seed", 5, "--bpm", 180,
                          "--bass", "--chords", "Am F", "--record", record)
        assert receiver.wait_for(lambda ms: {m.channel for _, m in ms if m.type == "note_on"} >= {0, 1},
                                 timeout=20), "both voices never played"
        play.send_signal(signal.SIGTERM)
        out, err = play.communicate(timeout=30)
        assert play.returncode == 0, err
        time.sleep(0.1)
        assert sounding_after(receiver.notes()) == set()
        ended = {m.channel for _, m in receiver.snapshot() if m.type == "control_change" and m.control == 123}
        assert ended >= {0, 1}  # CC 123 on both voices' channels
        programs = {m.channel: m.program for _, m in receiver.snapshot() if m.type == "program_change"}
        assert programs == {1: 33}  # the bass's sound named on its channel
        from live.files.midifile import read_midi

        parts = {part.name: part for part in read_midi(record).parts}
        assert set(parts) == {"encore", "encore bass"} and parts["encore bass"].program == 33
    finally:
        receiver.close()


def test_an_input_that_does_not_exist_is_one_line_before_any_output_opens(backend, stream_model_path,
                                                                         monkeypatch):
    from cli_helpers import run_main
    from live.engine import session

    opened = []
    monkeypatch.setattr(session, "_open_watched", lambda *args: opened.append(args))
    name = f"nosuch-keys-{time.monotonic_ns()}"
    result = run_main("play", "--model", stream_model_path, "--backend", "jack", "--input", name, "--seconds", 1)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and f"no MIDI input port matches {name!r}" in result.stderr
    assert not opened  # the output was never opened
