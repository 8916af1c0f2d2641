from hypothesis import given, settings
from hypothesis import strategies as st

from live.core import codec, vocab
from live.core.notes import Note

ON, OFF, SHIFT, VEL = vocab.note_on, vocab.note_off, vocab.time_shift, vocab.velocity


def names(events):
    return [vocab.event_name(e) for e in events]


# ---------------------------------------------------------------- exact cases


def test_a_rest_of_2_5_seconds_is_100_100_50_steps():
    notes = [Note(60, 0.0, 0.5, 80), Note(62, 3.0, 3.5, 80)]
    assert codec.encode(notes) == [
        VEL(20), ON(60), SHIFT(50), OFF(60), SHIFT(100), SHIFT(100), SHIFT(50), ON(62),
        SHIFT(50), OFF(62),
    ]


def test_a_chord_is_ons_in_ascending_pitch_then_offs_in_ascending_pitch():
    notes = [Note(67, 0, 1, 64), Note(60, 0, 1, 64), Note(64, 0, 1, 64)]
    assert codec.encode(notes) == [
        VEL(16), ON(60), ON(64), ON(67), SHIFT(100), OFF(60), OFF(64), OFF(67),
    ]


def test_offs_come_before_ons_at_one_instant():
    notes = [Note(72, 0, 0.25, 64), Note(60, 0.25, 0.5, 64)]
    assert names(codec.encode(notes)) == [
        "VELOCITY 16", "NOTE_ON 72", "TIME_SHIFT 25", "NOTE_OFF 72", "NOTE_ON 60",
        "TIME_SHIFT 25", "NOTE_OFF 60",
    ]


def test_a_restrike_of_a_sounding_pitch_ends_the_old_note():
    notes = [Note(60, 0.0, 1.0, 64), Note(60, 0.5, 1.5, 64)]
    assert codec.encode(notes) == [
        VEL(16), ON(60), SHIFT(50), OFF(60), ON(60), SHIFT(100), OFF(60),
    ]
    assert codec.decode(codec.encode(notes)) == [
        Note(60, 0.0, 0.5, 61), Note(60, 0.5, 1.5, 61),
    ]


def test_velocity_event_only_when_the_bin_changes():
    notes = [
        Note(60, 0.0, 0.1, 100), Note(62, 0.1, 0.2, 98),  # 98 and 100 share bin 25
        Note(64, 0.2, 0.3, 40), Note(65, 0.3, 0.4, 40),
    ]
    events = codec.encode(notes)
    assert [vocab.decode_event(e).value for e in events if vocab.is_velocity(e)] == [25, 10]
    assert events == [
        VEL(25), ON(60), SHIFT(10), OFF(60), ON(62), SHIFT(10), OFF(62), VEL(10), ON(64),
        SHIFT(10), OFF(64), ON(65), SHIFT(10), OFF(65),
    ]


def test_a_note_shorter_than_5_ms_lasts_one_step():
    notes = [Note(60, 1.0, 1.004, 64)]
    assert codec.encode(notes) == [VEL(16), ON(60), SHIFT(1), OFF(60)]
    assert codec.decode(codec.encode(notes)) == [Note(60, 0.0, 0.01, 61)]


def test_leading_silence_is_dropped():
    assert codec.encode([Note(60, 7.3, 7.5, 64)]) == [VEL(16), ON(60), SHIFT(20), OFF(60)]


def test_times_round_to_the_nearest_10_ms():
    events = codec.encode([Note(60, 0.0, 0.014, 64), Note(61, 0.0, 0.016, 64)])
    assert events == [VEL(16), ON(60), ON(61), SHIFT(1), OFF(60), SHIFT(1), OFF(61)]


def test_two_strikes_on_one_step_are_one_note_the_longer_kept():
    notes = [Note(60, 0.0, 0.0, 100), Note(60, 0.001, 0.5, 70)]
    assert codec.decode(codec.encode(notes)) == [Note(60, 0.0, 0.5, 69)]


def test_no_notes_no_events():
    assert codec.encode([]) == []
    assert codec.decode([]) == []


# ---------------------------------------------------------------- forgiving decode


def test_note_off_of_a_silent_pitch_is_ignored():
    assert codec.decode([OFF(60), VEL(16), ON(62), SHIFT(10), OFF(62), OFF(62)]) == [
        Note(62, 0.0, 0.1, 61)
    ]


def test_note_on_of_a_sounding_pitch_restrikes():
    assert codec.decode([VEL(16), ON(60), SHIFT(20), ON(60), SHIFT(30), OFF(60)]) == [
        Note(60, 0.0, 0.2, 61), Note(60, 0.2, 0.5, 61),
    ]


def test_unclosed_notes_end_at_the_end_of_the_stream():
    assert codec.decode([VEL(16), ON(60), SHIFT(40)]) == [Note(60, 0.0, 0.4, 61)]


def test_unclosed_notes_end_at_the_max_length():
    events = [VEL(16), ON(60)] + [SHIFT(100)] * 8 + [OFF(60)]
    assert codec.decode(events) == [Note(60, 0.0, 5.0, 61)]
    assert codec.decode(events, max_note_seconds=2.0) == [Note(60, 0.0, 2.0, 61)]
    assert codec.decode(events, max_note_seconds=None) == [Note(60, 0.0, 8.0, 61)]


def test_a_note_closed_where_it_began_is_dropped():
    assert codec.decode([ON(60), OFF(60), SHIFT(10)]) == []


def test_note_before_any_velocity_plays_at_the_default_bin():
    assert codec.decode([ON(60), SHIFT(10)]) == [
        Note(60, 0.0, 0.1, vocab.bin_to_velocity(vocab.velocity_to_bin(codec.DEFAULT_VELOCITY)))
    ]


# ---------------------------------------------------------------- properties

note_lists = st.lists(
    st.builds(
        Note,
        pitch=st.integers(0, 127),
        start=st.floats(0, 30, allow_nan=False),
        end=st.floats(0, 4),  # a duration, made absolute below
        velocity=st.integers(1, 127),
    ).map(lambda n: Note(n.pitch, n.start, n.start + n.end, n.velocity)),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(note_lists)
def test_round_trip_gives_back_the_quantized_notes(notes):
    assert codec.decode(codec.encode(notes), max_note_seconds=None) == codec.quantize_notes(notes)


@settings(max_examples=300, deadline=None)
@given(note_lists)
def test_quantized_notes_follow_the_rules(notes):
    quantized = codec.quantize_notes(notes)
    assert len(quantized) <= len(notes)
    if notes:
        assert quantized[0].start == 0.0  # leading silence dropped
    by_pitch = {}
    for n in quantized:
        assert n.end > n.start  # nothing of zero length
        assert n.velocity == vocab.bin_to_velocity(vocab.velocity_to_bin(n.velocity))  # snapped to its bin
        by_pitch.setdefault(n.pitch, []).append(n)
    for same in by_pitch.values():  # one pitch never overlaps itself
        for a, b in zip(same, same[1:]):
            assert a.end <= b.start
    # every onset of the input is heard (onsets of one pitch on one step merge)
    origin = min((vocab.seconds_to_steps(n.start) for n in notes), default=0)
    expected = {(n.pitch, vocab.seconds_to_steps(n.start) - origin) for n in notes}
    assert {(n.pitch, vocab.seconds_to_steps(n.start)) for n in quantized} == expected


@settings(max_examples=300, deadline=None)
@given(note_lists)
def test_encoded_streams_are_canonical(notes):
    events = codec.encode(notes)
    sounding, current_bin, instant = set(), None, []
    for e in events + [SHIFT(1)]:
        event = vocab.decode_event(e)
        if event.type is vocab.EventType.TIME_SHIFT:
            offs = [v for t, v in instant if t == "off"]
            ons = [v for t, v in instant if t == "on"]
            # at one instant: offs, then ons, each ascending
            assert [t for t, _ in instant] == sorted(t for t, _ in instant)  # "off" < "on"
            assert offs == sorted(offs) and ons == sorted(ons)
            instant = []
        elif event.type is vocab.EventType.VELOCITY:
            assert event.value != current_bin  # only when the bin changes
            current_bin = event.value
        elif event.type is vocab.EventType.NOTE_ON:
            assert event.value not in sounding and current_bin is not None
            sounding.add(event.value)
            instant.append(("on", event.value))
        else:
            assert event.value in sounding  # no off without an on
            sounding.remove(event.value)
            instant.append(("off", event.value))
    assert not sounding  # every note closed
    if events:
        assert not vocab.is_time_shift(events[0]) and not vocab.is_time_shift(events[-1])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 387), max_size=300),
    st.one_of(st.none(), st.floats(0.05, 10)),
)
def test_any_event_stream_decodes_to_well_formed_notes(events, max_seconds):
    notes = codec.decode(events, max_note_seconds=max_seconds)
    total = sum(vocab.decode_event(e).value for e in events if vocab.is_time_shift(e)) / 100
    for n in notes:
        assert 0 <= n.start < n.end <= total + 1e-9
        if max_seconds is not None:
            assert n.duration <= max(max_seconds, 0.01) + 1e-9
        assert 1 <= n.velocity <= 127
    ons = sum(1 for e in events if vocab.is_note_on(e))
    assert len(notes) <= ons  # no note without its note-on
    by_pitch = {}
    for n in notes:
        by_pitch.setdefault(n.pitch, []).append(n)
    for same in by_pitch.values():
        for a, b in zip(same, same[1:]):
            assert a.end <= b.start
    # decoding what decoding gave is stable: it is already canonical
    assert codec.decode(codec.encode(notes), max_note_seconds=None) == codec.quantize_notes(notes)
