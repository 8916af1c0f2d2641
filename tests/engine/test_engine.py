"""The live engine sending to an in-memory port. Most tests drive a virtual clock through
pump(), the two threads' work without the threads, so they neither sleep nor depend on
an idle machine; one runs the real threads on the wall clock (real ports: the JACK tests)."""

import time

import pytest

from live.core import vocab
from live.core.controls import Controls
from live.core.generator import Generator
from live.core.render import Cue, render
from live.core.commands import ChangeControls
from live.engine.live_engine import LiveEngine, Output
from live.model import load_model
from virtual_engine import MemoryPort, Virtual, VirtualClock  # noqa: F401


def check_pairs(sent):
    sounding = {}
    for t, m in sent:
        key = (m.channel, m.note)
        if m.type == "note_on":
            assert key not in sounding
            sounding[key] = t
        else:
            assert key in sounding
            del sounding[key]
    return sounding


def held_lengths(sent) -> list[float]:
    """How long each note sounded (every note-off has its note-on, none is left)."""
    starts, lengths = {}, []
    for t, m in sent:
        key = (m.channel, m.note)
        if m.type == "note_on":
            starts[key] = t
        else:
            lengths.append(t - starts.pop(key))
    assert not starts, "a note was left sounding"
    return lengths


@pytest.fixture
def model(stream_model_path):
    return load_model(stream_model_path)




def test_render_and_a_live_session_play_the_same_notes_with_a_knob_turned_midway(model):
    """One performance path: the same seed and controls, the same knob turn at the same
    moment, give the same notes from `render` and from the live engine."""
    controls = Controls(density=1.0, polyphony=4, max_note=0.5)
    primer = [vocab.velocity(20), 60, vocab.time_shift(20), 188]

    def generator():
        made = Generator(model, controls, seed=21)
        made.prime(primer)
        return made

    turn_at = 3.0
    change = {"low": 70, "high": 90, "temperature": 0.7}
    rendered = render(generator(), seconds=8.0, cues=[Cue(turn_at, ChangeControls(change, 0.0))])

    live = Virtual(generator()).start()
    turned = []

    def knob(now):
        if not turned and live.engine.performance_time() >= turn_at:
            live.engine.update_controls(**change)
            turned.append(now)

    live.run(8.0 + 0.1, each=knob)
    live.stop()
    perf = live.engine.timeline.to_perf
    heard = []
    sounding = {}
    for t, m in live.port.notes():
        if m.type == "note_on":
            sounding[m.note] = (perf(t), m.velocity)
        elif m.note in sounding:
            start, velocity = sounding.pop(m.note)
            heard.append((m.note, round(start, 3), round(perf(t), 3), velocity))
    wanted = [(n.pitch, round(n.start, 3), round(n.end, 3), n.velocity)
              for n in rendered.notes if n.end <= 7.5]
    heard = [note for note in heard if note[2] <= 7.5]  # the ends differ: render stops at 8 s
    # the live notes land within a pump tick of their due time
    assert len(heard) == len(wanted) > 20
    for (lp, ls, le, lv), (rp, rs, re_, rv) in zip(sorted(heard), sorted(wanted)):
        assert (lp, lv) == (rp, rv)
        assert abs(ls - rs) <= 0.0015 and abs(le - re_) <= 0.0015
    after = [n for n in rendered.notes if n.start > turn_at + 0.01]
    assert after and all(70 <= n.pitch <= 90 for n in after), "the turn was not heard"
    before = [n for n in rendered.notes if n.start < turn_at]
    assert any(not 70 <= n.pitch <= 90 for n in before), "the turn changed nothing"


def test_notes_leave_on_time_and_all_end_at_stop(model):
    live = Virtual(Generator(model, Controls(density=0.8), seed=1)).start()
    live.run(3.0)
    live.stop()
    assert live.engine.sent_notes >= 10
    assert check_pairs(live.port.notes()) == {}
    # sent when due: never early, and within one pump tick
    assert min(live.engine.send_errors) >= 0
    assert max(live.engine.send_errors) <= live.tick + 1e-9
    last = live.port.sent[-1][1]
    assert last.type == "control_change" and last.control == 123


def test_the_threads_on_the_wall_clock_play_and_end_every_note(model):
    port = MemoryPort()
    engine = LiveEngine(Generator(model, Controls(density=0.8), seed=1), Output(port))
    engine.start()
    time.sleep(1.0)
    engine.update_controls(temperature=0.8)
    time.sleep(0.5)
    engine.stop()
    assert engine.sent_notes >= 5 and engine.failed is None
    assert check_pairs(port.notes()) == {}
    assert min(engine.send_errors) > -0.001  # never early
    assert port.sent[-1][1].type == "control_change" and port.sent[-1][1].control == 123


def test_a_knob_turn_is_heard_at_once_not_after_the_lookahead(model):
    live = Virtual(Generator(model, Controls(density=1.0), seed=2), lookahead=0.3).start()
    live.run(0.6)
    changed = live.clock.now
    live.engine.update_controls(low=80, high=110)
    live.run(1.5)
    live.stop()
    late = [m.note for t, m in live.port.notes() if m.type == "note_on" and t > changed + 0.01]
    assert late, "nothing played after the change"
    assert all(80 <= p <= 110 for p in late), "the old future was not dropped"
    # acted on at once: well before the 0.3 s of future already planned would have run out
    assert live.engine.control_latencies and max(live.engine.control_latencies) < 0.02
    assert check_pairs(live.port.notes()) == {}


def test_a_stalled_model_never_holds_a_note_past_its_max_length(model):
    live = Virtual(Generator(model, Controls(density=1.0, max_note=0.3), seed=3)).start()
    live.run(0.4)
    sounding = check_pairs(live.port.notes())
    assert sounding, "nothing sounded when the model stalled"
    stalled_at = live.clock.now
    live.run(1.5, generate=False)  # the model is stuck in a step; the sender goes on
    live.run(0.5)
    live.stop()
    assert max(held_lengths(live.port.notes())) < 0.3 + 0.05 + 0.002  # not 1.5 s
    # after the stall generation skipped ahead to now: no burst of late notes
    late = [t for t, m in live.port.notes() if m.type == "note_on" and t > stalled_at + 1.5]
    assert late and min(late) >= stalled_at + 1.5 + 0.005


def test_pause_silences_and_resume_plays_again(model):
    live = Virtual(Generator(model, Controls(density=1.0), seed=4)).start()
    live.run(0.4)
    live.engine.pause()
    live.run(0.05)
    paused_at = live.clock.now
    live.run(0.4)
    assert not [m for t, m in live.port.notes() if t > paused_at]
    assert check_pairs(live.port.notes()) == {}
    live.engine.resume()
    live.run(0.5)
    live.stop()
    assert [m for t, m in live.port.notes() if t > paused_at and m.type == "note_on"]
    assert check_pairs(live.port.notes()) == {}


def test_reseed_and_panic_restart_silently(model):
    generator = Generator(model, Controls(density=1.0), seed=5)
    live = Virtual(generator).start()
    live.run(0.3)
    primer = [vocab.velocity(20), 60, vocab.time_shift(20), 188]
    live.engine.reseed(primer)
    live.run(0.3)
    assert generator.primer == primer  # the model was primed with it
    sounding = check_pairs(live.port.notes())
    assert sounding, "nothing sounded to panic about"
    panicked = live.clock.now
    live.engine.panic()
    live.run(0.3)
    live.stop()
    assert check_pairs(live.port.notes()) == {}
    # everything sounding at the panic ended at once, not when it would have
    ended = {(m.channel, m.note) for t, m in live.port.notes()
             if m.type == "note_off" and panicked <= t < panicked + 0.002}
    assert set(sounding) <= ended
    assert live.engine.sent_notes > 0
    # then CC 123 and 120, and silence: a panic stops until resume
    after = [m for t, m in live.port.sent if t >= panicked]
    assert {123, 120} <= {m.control for m in after if m.type == "control_change"}
    assert not [m for m in after if m.type == "note_on"]


def test_a_lost_port_goes_silent_and_generation_keeps_its_place(model):
    class FlakyPort(MemoryPort):
        broken = False

        def send(self, message):
            if self.broken:
                raise OSError("device unplugged")
            super().send(message)

    lines = []
    live = Virtual(Generator(model, Controls(density=1.0, max_note=0.2), seed=6), port=FlakyPort())
    live.output.on_lost = lambda line: (live.engine.forget_sounding(), lines.append(line))
    live.start()
    live.run(0.3)
    live.port.broken = True
    live.run(0.3)
    generated = len(live.engine.step_times)
    live.run(0.3)
    assert len(live.engine.step_times) > generated  # generation goes on
    assert any("output port lost" in line for line in lines)
    live.port.broken = False
    live.output.replace(live.port)
    mark = live.clock.now
    live.run(0.4)
    live.stop()
    after = [(t, m) for t, m in live.port.notes() if t > mark]
    assert any(m.type == "note_on" for _, m in after)
    assert check_pairs(after) == {}


def test_knob_turns_with_quantize_never_leave_a_note_hanging(model):
    from live.core.tempo import Quantizer

    live = Virtual(Generator(model, Controls(density=1.0, max_note=0.3), seed=7))
    live.engine.set_quantizer(Quantizer(live.engine.timeline, "1/16", 1.0))
    live.start()
    for turn in range(80):  # a knob swept while notes snap to the grid
        live.run(0.02)
        live.engine.update_controls(temperature=0.5 + (turn % 10) / 5)
    live.run(0.3)
    live.stop()
    assert check_pairs(live.port.notes()) == {}
    # every note ended within its max length (plus a 16th of snapping and some slack)
    assert max(held_lengths(live.port.notes())) < 0.3 + 0.125 + 0.06
    onsets = [live.engine.timeline.to_perf(t) for t, m in live.port.notes() if m.type == "note_on"]
    assert len(onsets) > 10
    sixteenth = 0.125
    assert all(abs(t / sixteenth - round(t / sixteenth)) * sixteenth < 0.002 for t in onsets)


def test_call_and_response_is_silent_while_the_player_plays(model):
    live = Virtual(Generator(model, Controls(density=1.0), seed=8))
    live.engine.respond_after = 0.5
    live.start()
    live.run(0.5)
    played_at = live.clock.now
    live.engine.hear(True, 60, 100)
    live.run(0.3)
    live.engine.hear(False, 60)
    released = live.clock.now
    live.run(1.0)
    live.stop()
    ons = [t for t, m in live.port.notes() if m.type == "note_on"]
    assert any(t < played_at for t in ons)
    assert not [t for t in ons if played_at + 0.002 < t < released + 0.5], "played over the player"
    assert [t for t in ons if t > released + 0.5], "never answered"
    assert check_pairs(live.port.notes()) == {}


def test_a_velocity_knob_swept_fast_never_cuts_a_note(model):
    """Velocity only shapes what is played: turning it re-samples nothing, so the notes
    are the same notes as without the sweep, louder or softer from the next note on."""

    def played(sweep: bool):
        live = Virtual(Generator(model, Controls(density=0.8), seed=9)).start()
        turns = [0]

        def knob(now):
            if sweep and round(now * 1000) % 20 == 0:  # 50 CC/s
                turns[0] += 1
                live.engine.update_controls(velocity_gain=0.5 + (turns[0] % 30) / 20)
        live.run(3.0, each=knob)
        live.stop()
        notes = live.port.notes()
        assert check_pairs(notes) == {}
        return [(round(t, 4), m.type, m.note) for t, m in notes], [m.velocity for _, m in notes if m.type == "note_on"]

    still, _ = played(False)
    swept, velocities = played(True)
    assert len(still) > 20
    assert swept == still  # the same notes at the same times: none cut, none re-struck
    assert len(set(velocities)) > 3  # and the sweep was heard


def test_after_the_machine_stood_still_stale_notes_are_dropped_not_blipped(model):
    """SIGSTOP and SIGCONT, a swapped-out machine: what fell due meanwhile is not sent as
    a burst of late notes a few ms long; what sounded is ended, and the music goes on."""
    live = Virtual(Generator(model, Controls(density=1.0, max_note=0.3), seed=10)).start()
    late_ons = []
    live.engine.listeners.append(lambda message, error: late_ons.append(error) if message.on else None)
    live.run(0.5)
    while not any(on for _, _, on, _ in live.engine.upcoming()):  # a note-on is on its way
        live.run(0.001)
    live.clock.now += 1.0  # nothing ran for a second
    live.run(0.6)
    live.stop()
    assert max(late_ons) <= 0.05, "a stale note-on was sent"
    assert min(held_lengths(live.port.notes())) >= 0.009, "a note came out as a blip"
    assert [t for t, m in live.port.notes() if m.type == "note_on" and t > live.clock.now - 0.5]


def test_a_knob_flooding_bad_values_is_said_once_every_few_seconds(model):
    lines = []
    live = Virtual(Generator(model, Controls(), seed=11))
    live.engine.scheduler.log = lines.append
    live.start()
    for _ in range(200):
        live.engine.update_controls(temperature=9.0)  # out of range
        live.run(0.01)
    live.stop()
    assert len(lines) == 1 and "temperature" in lines[0]


def test_a_beat_model_bends_to_a_tempo_change_from_then_on_and_leaves_nothing_sounding(beat_model_path):
    """A tempo change moves nothing already sent; what is sent after it lands on the new
    tempo's grid (1/48 beat), and every note still ends."""
    from live.core.timeline import Timeline

    model = load_model(beat_model_path)
    live = Virtual(Generator(model, Controls(density=1.0), seed=5))
    live.engine.scheduler.timeline = Timeline(beats=True, bpm=120.0)
    live.start()
    live.run(3.0)
    change = live.clock.now
    before = list(live.port.notes())
    live.engine.set_tempo(150.0)
    live.run(3.0)
    live.stop()
    notes = live.port.notes()
    assert notes[:len(before)] == before  # nothing already sent moved
    assert check_pairs(notes) == {}
    timeline = live.engine.timeline
    assert timeline.bpm == 150.0
    step_120, step_150 = 60 / 120 / 48, 60 / 150 / 48
    first = next(t for t, m in notes if m.type == "note_on")
    early = [t for t, m in notes if m.type == "note_on" and t < change]
    late = [t for t, m in notes if m.type == "note_on" and t > change + 0.15]  # past the lookahead
    assert len(early) > 10 and len(late) > 10
    tick = 0.001  # the virtual clock's pump: a note leaves within one tick of its time
    assert all(abs((t - first) / step_120 - round((t - first) / step_120)) * step_120 <= tick for t in early)
    bend = timeline.heard_at(timeline.perf_at_beat(0))  # the 150 BPM line, through beat 0
    assert all(abs((t - bend) / step_150 - round((t - bend) / step_150)) * step_150 <= tick for t in late)


def test_a_beat_model_restarts_on_a_16th_after_a_pause_and_a_reseed_on_a_bar_line(beat_model_path):
    from live.core.timeline import Timeline

    model = load_model(beat_model_path)
    live = Virtual(Generator(model, Controls(density=1.0), seed=6))
    live.engine.scheduler.timeline = Timeline(beats=True, bpm=128.0)
    live.start()
    timeline = live.engine.timeline
    sixteenth, bar = 12 * vocab.STEP_SECONDS, 4 * vocab.REFERENCE_BEAT_SECONDS
    for pause_at in (0.77, 1.31):  # off the grid on purpose
        live.run(pause_at)
        live.engine.pause()
        live.run(0.2)
        live.engine.resume()
        live.run(0.001)
        restart, _ = timeline.anchor  # where play picked up again
        offset = (restart - timeline.beat_origin) / sixteenth
        assert abs(offset - round(offset)) < 1e-9, offset
    live.run(0.53)
    live.engine.reseed(list(model.info.primers[1]))
    live.run(0.001)
    offset = (live.engine.generator.restarted_at - timeline.beat_origin) / bar
    assert abs(offset - round(offset)) < 1e-9 and round(offset) >= 1, offset  # the next bar line
    live.run(0.5)
    live.stop()
    assert check_pairs(live.port.notes()) == {}


def test_a_long_set_forgets_what_lies_far_behind_and_plays_exactly_the_same(model, monkeypatch):
    """Live, the generator drops events and notes far behind its oldest rollback point
    (a set of hours kept them all: about 10 MB an hour); what it plays is not changed by
    that, knob turns and their rollbacks included."""
    from live.core import generator as generating

    monkeypatch.setattr(generating, "KEEP_EVENTS", 64)  # small: the forgetting happens within seconds
    monkeypatch.setattr(generating, "KEEP_NOTES", 32)
    primer = [vocab.velocity(20), 60, vocab.time_shift(20), 188]

    def played(forgets: bool):
        made = Generator(model, Controls(density=1.0, polyphony=4, max_note=0.5), seed=21)
        made.prime(primer)
        rig = Virtual(made).start()
        rig.engine.scheduler.forgets = forgets
        most = [0, 0]

        def turn(now):
            if round(now * 1000) % 2500 == 0:  # a knob every 2.5 s: a rollback each time
                rig.engine.update_controls(temperature=0.7 if round(now) % 2 else 1.2)
            most[0] = max(most[0], len(made.events))
            most[1] = max(most[1], len(made.performer.notes))

        rig.run(30.0, each=turn)
        rig.stop()
        return [(round(t, 6), m.type, m.note) for t, m in rig.port.notes()], most, made

    kept_all, most_kept, _ = played(False)
    forgetting, most_forgetting, made = played(True)
    assert forgetting == kept_all and len(kept_all) > 200
    check_pairs([(t, type("M", (), {"type": kind, "note": note, "channel": 0})) for t, kind, note in forgetting])
    assert most_kept[0] > 1000 and most_kept[1] > 150  # without it, the lists only grow
    assert most_forgetting[0] < 64 * 4 and most_forgetting[1] < 32 * 4
    assert made._events_forgotten > 700
