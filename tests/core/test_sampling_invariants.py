"""100,000 events sampled from adversarial logits with random controls changing between
events: no stuck notes, and every control respected."""

import zlib

import numpy as np
import pytest

from live.core import vocab
from live.core.controls import Controls
from live.core.scales import SCALES
from live.core.noise import GumbelNoise
from live.core.performer import Performer, max_steps
from live.core.sampler import DENSITY_SCALE, allowed_events, sample

EVENTS_PER_CASE = 12_500  # x 8 cases = 100,000


def adversarial_logits(kind: str, rng: np.random.Generator) -> np.ndarray:
    logits = np.full(388, -30.0)
    if kind == "random":
        return rng.normal(0, 4, 388)
    if kind == "one_pitch_on":
        logits[vocab.note_on(int(rng.integers(0, 128)) if rng.random() < 0.01 else 64)] = 30.0
    elif kind == "all_offs":
        logits[vocab.NOTE_OFF_OFFSET : vocab.TIME_SHIFT_OFFSET] = 30.0
        logits[vocab.NOTE_ON_OFFSET : vocab.NOTE_OFF_OFFSET] = 5.0
    elif kind == "no_time_shifts":
        logits = rng.normal(0, 3, 388)
        logits[vocab.TIME_SHIFT_OFFSET : vocab.VELOCITY_OFFSET] = -1e9
    return logits


def random_controls(rng: np.random.Generator, temperature: float) -> Controls:
    low = int(rng.integers(0, 100))
    return Controls(
        temperature=temperature,
        top_p=float(rng.choice([1.0, 0.9, 0.5, 0.01])),
        low=low,
        high=int(rng.integers(low, 128)),
        root=int(rng.integers(0, 12)),
        scale=str(rng.choice(list(SCALES))),
        polyphony=int(rng.choice([1, 2, 4, 16])),
        max_note=float(rng.choice([0.05, 0.3, 1.0, 5.0])),
        density=float(rng.uniform(-1, 1)),
        velocity_gain=float(rng.uniform(0, 2)),
        velocity_offset=int(rng.integers(-40, 40)),
        transpose=int(rng.integers(-24, 25)),
    )


@pytest.mark.parametrize("temperature", [0.05, 3.0])
@pytest.mark.parametrize("kind", ["random", "one_pitch_on", "all_offs", "no_time_shifts"])
def test_no_stuck_notes_and_every_control_respected(kind, temperature):
    # a seed of the case's own name: hash() of a string changes with each process, and a
    # failure must come back the same when it is run again
    case_seed = zlib.crc32(f"{kind} {temperature}".encode())
    rng, noise = np.random.default_rng(case_seed), GumbelNoise(case_seed)
    performer = Performer(channel=3)
    controls = random_controls(rng, temperature)
    sounding: dict[int, dict] = {}  # played pitch -> {"on": time, "limit": longest limit}
    last_time = 0.0
    ons = offs = 0

    def check_messages(messages):
        nonlocal last_time, ons, offs
        for m in messages:
            assert m.channel == 3
            assert m.time >= last_time - 1e-9, "time never runs backwards"
            last_time = m.time
            if m.on:
                assert m.pitch not in sounding, "a pitch is never struck twice without an off"
                assert controls.pitch_allowed(m.pitch), f"pitch {m.pitch} breaks range/scale"
                assert 1 <= m.velocity <= 127
                sounding[m.pitch] = {"on": m.time, "limit": controls.max_note}
                ons += 1
            else:
                assert m.pitch in sounding, "no note-off for a silent pitch"
                note = sounding.pop(m.pitch)
                assert m.time - note["on"] <= note["limit"] + 1e-9, "max note length"
                offs += 1

    for _ in range(EVENTS_PER_CASE):
        if rng.random() < 0.02:
            controls = random_controls(rng, temperature)
        for note in sounding.values():
            note["limit"] = max(note["limit"], controls.max_note)
        allowed = allowed_events(performer, controls)
        held_before = len(performer.held)
        event = sample(adversarial_logits(kind, rng), performer, controls, noise)
        overdue = performer.overdue(controls)
        assert allowed[event] or event == vocab.note_off(overdue[0]), vocab.event_name(event)
        if vocab.is_note_on(event) and vocab.decode_event(event).value not in performer.held:
            assert held_before < controls.polyphony, "max polyphony"
        if vocab.is_time_shift(event) and performer.held:
            limit = max_steps(controls)
            oldest = min(h.onset for h in performer.held.values())
            assert performer.step + vocab.decode_event(event).value - oldest <= limit
        bin_before = performer.bin
        messages = performer.apply(event, controls)
        for m in messages:
            if m.on:
                expected = controls.played_velocity(vocab.bin_to_velocity(bin_before))
                assert m.velocity == expected, "velocity gain and offset"
        check_messages(messages)
        assert len(performer.playing) == len(sounding)

    check_messages(performer.finish())
    assert not sounding, "every note ended at the end"
    assert ons == offs
    assert not performer.playing
    assert ons > 0  # the adversary played
    if kind in ("random", "one_pitch_on"):
        assert ons > 100


def test_the_mask_never_leaves_nothing():
    performer = Performer()
    controls = Controls(low=60, high=60, scale="major_pentatonic", root=1)  # C is not in it
    mask = allowed_events(performer, controls)
    assert not mask[vocab.NOTE_ON_OFFSET : vocab.NOTE_OFF_OFFSET].any()
    assert mask[vocab.time_shift(1)]
    noise = GumbelNoise(0)
    logits = np.full(388, -1e9)
    logits[60] = 1e9
    for _ in range(200):
        event = sample(logits, performer, controls, noise)
        assert not vocab.is_note_on(event)
        performer.apply(event, controls)


def test_nan_logits_still_give_an_allowed_event():
    performer, controls = Performer(), Controls()
    noise = GumbelNoise(1)
    for _ in range(50):
        event = sample(np.full(388, np.nan), performer, controls, noise)
        assert allowed_events(performer, controls)[event]
        performer.apply(event, controls)


def test_a_transpose_turned_mid_note_still_ends_the_right_note():
    performer = Performer()
    messages = performer.apply(vocab.note_on(60), Controls(transpose=0))
    messages += performer.apply(vocab.time_shift(10), Controls(transpose=2))
    messages += performer.apply(vocab.note_on(58), Controls(transpose=2))  # also sounds 60
    messages += performer.apply(vocab.time_shift(10), Controls(transpose=2))
    messages += performer.apply(vocab.note_off(60), Controls(transpose=2))  # already ended
    messages += performer.finish()
    assert [(m.on, m.pitch, round(m.time, 2)) for m in messages] == [
        (True, 60, 0.0), (False, 60, 0.1), (True, 60, 0.1), (False, 60, 0.2),
    ]


def test_low_temperature_picks_the_likeliest_and_top_p_cuts_the_tail():
    performer, noise = Performer(), GumbelNoise(2)
    logits = np.zeros(388)
    logits[64], logits[65] = 5.0, 4.0
    cold = [sample(logits, performer, Controls(temperature=0.05), noise) for _ in range(300)]
    assert set(cold) == {64}
    # p(64) is 0.25 of the mass here, so a nucleus of 0.2 holds 64 alone
    narrow = [sample(logits, performer, Controls(top_p=0.2), noise) for _ in range(300)]
    assert set(narrow) == {64}
    hot = [sample(logits, performer, Controls(temperature=3.0), noise) for _ in range(300)]
    assert len(set(hot)) > 50


def test_density_tilts_note_ons_against_time_shifts():
    noise = GumbelNoise(3)
    logits = np.zeros(388)

    def notes_per_second(density):
        performer = Performer()
        controls = Controls(density=density, polyphony=4, max_note=0.5)
        for _ in range(3000):
            performer.apply(sample(logits, performer, controls, noise), controls)
        return performer.note_ons / performer.time

    sparse, plain, dense = (notes_per_second(d) for d in (-1.0, 0.0, 1.0))
    assert dense > 1.3 * plain and plain > 3 * sparse


@pytest.mark.parametrize(
    "temperature, top_p, density, offset",
    [
        (1.0, 1.0, 0.0, 0.0),
        (0.5, 1.0, 0.0, 0.0),
        (2.0, 1.0, 0.0, 0.0),
        (1.0, 0.7, 0.0, 0.0),
        (0.5, 1.0, 0.4, 0.0),  # density tilts the note-on, not divided by the temperature
        (1.0, 1.0, 0.0, -1e7),  # logits far from zero, where float32 spacing is 1
    ],
)
def test_draws_follow_the_tempered_softmax_and_its_nucleus(temperature, top_p, density, offset):
    candidates = [vocab.time_shift(n) for n in (1, 2, 3)] + [vocab.note_on(64)]
    logits = np.full(388, -1e9, dtype=np.float32)
    logits[candidates] = np.float32(offset) + np.float32([0.0, 1.0, 2.0, 1.0])
    bias = np.array([-1.0, -1.0, -1.0, 1.0]) * density * DENSITY_SCALE
    expected = np.exp((logits[candidates].astype(np.float64) - offset) / temperature + bias)
    expected /= expected.sum()
    if top_p < 1.0:  # the likeliest events whose mass first reaches top_p, renormalised
        order = sorted(range(4), key=lambda i: (-expected[i], candidates[i]))  # ties: lower index
        kept = order[: int(np.searchsorted(np.cumsum(expected[order]), top_p)) + 1]
        expected = np.where(np.isin(np.arange(4), kept), expected, 0.0)
        expected /= expected.sum()
    performer, noise, draws = Performer(), GumbelNoise(4), 40_000
    controls = Controls(temperature=temperature, top_p=top_p, density=density)
    counts = np.bincount(
        [candidates.index(sample(logits, performer, controls, noise)) for _ in range(draws)],
        minlength=4,
    )
    tolerance = 4.5 * np.sqrt(expected * (1 - expected) / draws) + 1e-12
    assert np.all(np.abs(counts / draws - expected) <= tolerance), (counts / draws, expected)


def test_a_nucleus_tie_keeps_the_lower_index():
    logits = np.full(388, -1e9, dtype=np.float32)
    low, high = vocab.time_shift(5), vocab.time_shift(9)
    logits[[low, high]] = 1.0  # half the mass each: a nucleus of 0.3 holds one of them
    performer, noise = Performer(), GumbelNoise(6)
    assert {sample(logits, performer, Controls(top_p=0.3), noise) for _ in range(200)} == {low}
    assert {sample(logits, performer, Controls(top_p=0.6), noise) for _ in range(200)} == {low, high}


def test_the_noise_comes_back_the_same_from_a_saved_position():
    noise = GumbelNoise(5)
    for _ in range(30):
        noise.next_row()
    saved = noise.position()  # two rows before the end of the first block
    ahead = [noise.next_row().copy() for _ in range(70)]  # across two more blocks
    noise.restore(saved)
    again = [noise.next_row().copy() for _ in range(70)]
    assert all(np.array_equal(a, b) for a, b in zip(ahead, again))
    assert not np.array_equal(ahead[0], ahead[1])
    assert GumbelNoise(5).next_row().tolist() == GumbelNoise(5).next_row().tolist()
    assert not noise.next_row().flags.writeable  # the sampler adds it, never writes it


@pytest.mark.parametrize("grid", [12, 16, 6])
def test_a_beat_model_s_notes_begin_only_on_the_grid_whatever_the_logits_want(grid):
    """Logits that want a note at every step: with the grid, note-ons (and velocity
    events) only on its lines; time shifts and note-offs anywhere, so a note can end
    between them and the stream always goes on."""
    rng = np.random.default_rng(3)
    performer, controls, noise = Performer(), Controls(polyphony=2), GumbelNoise(5)
    onsets = []
    for _ in range(3000):
        logits = rng.normal(size=vocab.VOCAB_SIZE).astype(np.float32)
        logits[vocab.NOTE_ON_OFFSET:vocab.NOTE_OFF_OFFSET] += 3.0  # a model eager to play
        logits[vocab.TIME_SHIFT_OFFSET:vocab.TIME_SHIFT_OFFSET + 3] += 3.0  # in short steps
        event = sample(logits, performer, controls, noise, grid)
        if vocab.is_note_on(event) or vocab.is_velocity(event):
            onsets.append(performer.step)
        performer.apply(event, controls)
    assert len(onsets) > 100 and all(step % grid == 0 for step in onsets)
    assert performer.step > 3000 // 3  # time goes on
    assert all(step % grid == 0 for step in onsets)
    off_grid = Performer(start_step=grid + 1)
    allowed = allowed_events(off_grid, controls, grid)
    assert not allowed[vocab.NOTE_ON_OFFSET:vocab.NOTE_OFF_OFFSET].any()
    # nothing held: a rest goes to a grid line (the next, or one after)
    shifts = np.flatnonzero(allowed[vocab.TIME_SHIFT_OFFSET:vocab.VELOCITY_OFFSET]) + 1
    assert len(shifts) and all((grid + 1 + k) % grid == 0 for k in shifts)
    holding = Performer(start_step=grid)
    holding.apply(vocab.note_on(60), controls)
    holding.apply(vocab.time_shift(1), controls)
    # a held note may end between the lines: rests of any length (up to its max)
    assert allowed_events(holding, controls, grid)[vocab.TIME_SHIFT_OFFSET:vocab.TIME_SHIFT_OFFSET + 5].all()
    assert allowed_events(off_grid, controls)[vocab.NOTE_ON_OFFSET:vocab.NOTE_OFF_OFFSET].any()  # no grid: anywhere


def test_a_model_that_never_lets_time_pass_still_renders_to_its_end():
    """A broken model that wants only velocity events (or only notes in one instant) would
    hold a render in one step for good: after MAX_EVENTS_IN_A_STEP events, time must pass."""
    from types import SimpleNamespace

    from live.core.generator import Generator
    from live.core.render import render
    from live.core.sampler import MAX_EVENTS_IN_A_STEP

    class Timeless:
        info = SimpleNamespace(time="seconds")

        def __init__(self, wanted):
            logits = np.full(vocab.VOCAB_SIZE, -50.0, np.float32)
            logits[wanted] = 50.0
            self.state = SimpleNamespace(logits=logits)

        def initial_state(self):
            return self.state

        def step(self, state, event):
            return self.state

        def feed(self, state, events):
            return self.state

    for wanted in (slice(vocab.VELOCITY_OFFSET, None), slice(vocab.NOTE_ON_OFFSET, vocab.TIME_SHIFT_OFFSET)):
        generator = Generator(Timeless(wanted), Controls(), seed=1)
        generator.prime([])
        result = render(generator, seconds=2.0)
        assert result.seconds == 2.0
        assert len(result.events) < 2.0 / vocab.STEP_SECONDS * (MAX_EVENTS_IN_A_STEP + 1)
