import pytest

from live.core import vocab


def test_layout_matches_performance_rnn():
    assert vocab.VOCAB_SIZE == 388
    assert vocab.note_on(0) == 0 and vocab.note_on(127) == 127
    assert vocab.note_off(0) == 128 and vocab.note_off(127) == 255
    assert vocab.time_shift(1) == 256 and vocab.time_shift(100) == 355
    assert vocab.velocity(1) == 356 and vocab.velocity(32) == 387


@pytest.mark.parametrize("index", range(388))
def test_every_index_decodes_and_rebuilds(index):
    event = vocab.decode_event(index)
    build = {
        vocab.EventType.NOTE_ON: vocab.note_on,
        vocab.EventType.NOTE_OFF: vocab.note_off,
        vocab.EventType.TIME_SHIFT: vocab.time_shift,
        vocab.EventType.VELOCITY: vocab.velocity,
    }[event.type]
    assert build(event.value) == index


@pytest.mark.parametrize("bad", [-1, 388, 1000])
def test_indices_outside_the_vocabulary_are_refused(bad):
    with pytest.raises(ValueError, match="outside 0..387"):
        vocab.decode_event(bad)


def test_velocity_bins_as_performance_rnn():
    assert [vocab.velocity_to_bin(v) for v in (1, 4, 5, 64, 124, 125, 127)] == [1, 1, 2, 16, 31, 32, 32]
    assert [vocab.bin_to_velocity(b) for b in (1, 2, 16, 32)] == [1, 5, 61, 125]
    for v in range(1, 128):
        assert vocab.velocity_to_bin(vocab.bin_to_velocity(vocab.velocity_to_bin(v))) == vocab.velocity_to_bin(v)


def test_out_of_range_velocities_are_clamped_into_the_bins():
    assert vocab.velocity_to_bin(0) == 1
    assert vocab.velocity_to_bin(200) == 32


def test_time_rounds_half_up_despite_float_error():
    assert vocab.seconds_to_steps(0.004) == 0
    assert vocab.seconds_to_steps(0.005) == 1
    assert vocab.seconds_to_steps(0.015) == 2  # 0.015 * 100 is 1.4999999999999998
    assert vocab.seconds_to_steps(3.7249999999999996) == 373
    assert vocab.seconds_to_steps(2.5) == 250


def test_event_names():
    assert vocab.event_name(60) == "NOTE_ON 60"
    assert vocab.event_name(188) == "NOTE_OFF 60"
    assert vocab.event_name(305) == "TIME_SHIFT 50"
    assert vocab.event_name(371) == "VELOCITY 16"
