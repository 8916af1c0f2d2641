"""Two voices as one performance: a bass under the lead on its own channel, sharing the
timeline, the chords and the loop; monophonic, below the lead, on chord tones; the same
in render and live with a knob turned; nothing left sounding at any loop end or exit."""

from pathlib import Path

import pytest

from live.app.cli import build_parser
from live.app.options import generator_from_args
from live.core import vocab
from live.core.commands import ChangeControls, PhraseAction
from live.core.controls import Controls
from live.core.ensemble import Ensemble, transposed_primer
from live.core.generator import Generator
from live.core.render import Cue, render
from live.core.timeline import Timeline
from live.model import load_model
from virtual_engine import Virtual

SHIPPED = Path(__file__).parents[2] / "models" / "default.onnx"
BAR = vocab.STEPS_PER_BAR * vocab.STEP_SECONDS


def ensemble(*options, model=SHIPPED):
    args = build_parser().parse_args(["render", "-o", "x.mid", "--model", str(model), "--bass", *map(str, options)])
    generator, _ = generator_from_args(args, channel=0)
    return generator


def rendered(generator, bars, cues=()):
    return render(generator, seconds=bars * BAR, cues=cues, timeline=Timeline(beats=True, bpm=125))


def test_the_bass_is_one_note_at_a_time_below_the_lead_and_on_the_chord_s_tones():
    notes = {0: [], 1: []}
    tones = 0
    for seed in range(3):
        generator = ensemble("--chords", "Am F C G", "--random-seed", seed)
        result = rendered(generator, 16)
        for channel in notes:
            notes[channel] += [(seed, n) for n in result.notes_on(channel)]
        tones += sum(n.pitch % 12 in generator.harmony.chord_at(round(n.start / vocab.STEP_SECONDS)).tones
                     for n in result.notes_on(1))
    bass, lead = notes[1], notes[0]
    assert len(bass) >= 3 * 16 and len(lead) >= 3 * 16  # both play, the bass about a note a beat or less
    for (seed, a), (other, b) in zip(sorted(bass, key=lambda x: (x[0], x[1].start)),
                                     sorted(bass, key=lambda x: (x[0], x[1].start))[1:]):
        assert seed != other or a.end <= b.start + 1e-9  # monophonic
    assert max(n.pitch for _, n in bass) < min(n.pitch for _, n in lead)  # under the lead, always
    assert tones / len(bass) > 0.85  # on the chord's tones (chance: a triad is 25 % of pitch classes)


def test_the_shipped_bass_model_plays_the_bass_and_walks_its_register():
    """--bass takes models/bass.onnx (trained on Bach chorale bass lines) by default: it
    walks the bass register, where the lead's model steered low keeps to the top of it."""
    import statistics

    from live.model import BASS_MODEL, default_model_path

    median = {}
    for which in (None, "lead"):
        generator = ensemble("--chords", "Am F C G", "--random-seed", 1,
                             *(["--bass-model", which] if which else []))
        assert (generator.voices["bass"].model.info.path == default_model_path(BASS_MODEL)) == (which is None)
        median[which] = statistics.median(n.pitch for n in rendered(generator, 16).notes_on(1))
    assert median[None] <= 52 < median["lead"]  # about C3, against the lead's model's B3-C4


def test_a_bass_model_that_counts_time_otherwise_than_the_lead_is_one_line(stream_model_path):
    from live.core.errors import EncoreError

    with pytest.raises(EncoreError, match="plays in seconds, the lead in beats"):
        ensemble("--bass-model", stream_model_path)


def test_two_voices_render_the_same_every_time_and_a_track_each():
    first, again = rendered(ensemble("--random-seed", 4), 8), rendered(ensemble("--random-seed", 4), 8)
    assert first.sent == again.sent
    assert {s[4] for s in first.sent} == {0, 1}


@pytest.fixture(scope="module")
def tiny(beat_model_path):
    return load_model(beat_model_path)


def two_voices(model, seed=21):
    lead = Generator(model, Controls(density=1.0, polyphony=4, max_note=0.5, low=60), seed=seed, channel=0)
    bass = Generator(model, Controls(density=0.5, polyphony=1, high=59), seed=seed + 1, channel=1)
    voices = Ensemble({"lead": lead, "bass": bass}, {"bass": -24})
    voices.prime([vocab.velocity(20), 60, vocab.time_shift(20), 188])
    return voices


def test_render_and_live_play_two_voices_the_same_with_a_knob_turned_midway(tiny):
    turn_at = 3.0 * BAR
    change = {"temperature": 0.7, "transpose": 3}
    cue = Cue(turn_at, ChangeControls(change, 0.0))
    wanted = rendered(two_voices(tiny), 6, [cue])
    live = Virtual(two_voices(tiny), timeline=Timeline(beats=True, bpm=125)).start()
    heard, turned = [], []
    live.engine.listeners.append(lambda m, error: heard.append((round(m.time, 4), m.on, m.pitch, m.channel)))

    def knob(now):
        if not turned and live.engine.performance_time() >= turn_at:
            live.engine.update_controls(**change)
            turned.append(now)

    live.run(6 * BAR + 0.1, each=knob)
    live.stop()
    expected = [(round(t, 4), on, pitch, channel) for t, on, pitch, _, channel in wanted.sent if t < 5.5 * BAR]
    assert [h for h in heard if h[0] < 5.5 * BAR] == expected
    assert {h[3] for h in heard} == {0, 1}
    assert not live.engine.scheduler.sounding


def test_a_loop_ends_every_note_of_both_voices_on_its_bar_1(tiny):
    voices = two_voices(tiny)
    voices.begin_loop(1)
    result = rendered(voices, 24, [Cue(9.5 * BAR, PhraseAction("next"))])
    for channel in (0, 1):
        notes = result.notes_on(channel)
        assert len(notes) > 12
        # every note of either voice ends by the next bar line: the 1-bar loop's bar 1
        assert all(n.start // BAR == (n.end - 1e-9) // BAR for n in notes), channel
    opened = {}
    for _, on, pitch, _, channel in result.sent:  # and every note-on has its note-off
        opened[(channel, pitch)] = opened.get((channel, pitch), 0) + (1 if on else -1)
    assert set(opened.values()) == {0}


def test_a_bass_primer_is_the_lead_s_two_octaves_down():
    primer = [vocab.note_on(60), vocab.time_shift(10), vocab.note_off(60), vocab.note_on(5)]
    assert transposed_primer(primer, -24) == [vocab.note_on(36), vocab.time_shift(10), vocab.note_off(36),
                                              vocab.note_on(5)]  # 5 - 24 folds back up by octaves


def test_the_bass_has_its_own_channel_and_controls():
    args = build_parser().parse_args(["render", "-o", "x.mid", "--bass", "--bass-channel", "1"])
    from live.core.errors import EncoreError

    with pytest.raises(EncoreError, match="is the lead's --channel too"):
        generator_from_args(args, channel=0)
    generator = ensemble("--bass-high", "C3", "--bass-density", "0.2")
    bass = generator.voice("bass")
    assert (bass.channel, bass.controls.high, bass.controls.density, bass.controls.polyphony) == (1, 48, 0.2, 1)
    assert generator.lead.controls.low == 49  # the lead kept above it
