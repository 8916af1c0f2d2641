"""Notes <-> performance-388 event indices. Every rule of the encoding lives here.

Encoding (notes -> events), in this order:
  1. Times round to the nearest 10 ms step; velocities fall into their 1..32 bin.
  2. A note that rounds to zero length lasts one step (it was played, so it is kept).
  3. Leading silence before the first note is dropped: the first event is at step 0
     (unless an origin is given: a beat corpus keeps the rest from its bar line, so
     the stream starts on a downbeat).
  4. Two notes of one pitch starting on the same step are one strike: the one that
     ends later is kept (a MIDI synth cannot sound both either).
  5. A re-struck sounding pitch ends the old note at the new onset.
  6. At one instant note-offs come before note-ons, each in ascending pitch, so a
     re-strike reads NOTE_OFF p, NOTE_ON p and the stream is canonical.
  7. Time between instants is written as TIME_SHIFT events of at most 1 s
     (2.5 s -> 100, 100, 50 steps).
  8. A VELOCITY event precedes a NOTE_ON only when the bin changes.

Decoding (events -> notes) is forgiving, because a sampled stream can say anything:
  - NOTE_OFF of a silent pitch is ignored;
  - NOTE_ON of a sounding pitch re-strikes it (the old note ends there);
  - a note never closed ends at its max length (default 5 s) or at the end of the
    stream, whichever comes first;
  - a note closed at the instant it began cannot be heard and is dropped (encoding
    never writes one);
  - NOTE_ON before any VELOCITY event plays in DEFAULT_VELOCITY's bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from live.core import vocab
from live.core.notes import Note, sort_notes

DEFAULT_VELOCITY = 64
DEFAULT_MAX_NOTE_SECONDS = 5.0


@dataclass(frozen=True)
class StepNote:
    """A note on the 10 ms grid: integer steps and a velocity bin."""

    pitch: int
    start: int
    end: int
    bin: int

    def to_note(self) -> Note:
        return Note(
            self.pitch,
            vocab.steps_to_seconds(self.start),
            vocab.steps_to_seconds(self.end),
            vocab.bin_to_velocity(self.bin),
        )


def quantize(notes: Iterable[Note], origin: float | None = None) -> list[StepNote]:
    """Rules 1-5: the notes exactly as the event stream will carry them. origin: the
    instant that is step 0 (None: the first note's, rule 3)."""
    gridded = []
    for n in notes:
        start = vocab.seconds_to_steps(n.start)
        end = max(vocab.seconds_to_steps(n.end), start + 1)
        gridded.append(StepNote(n.pitch, start, end, vocab.velocity_to_bin(n.velocity)))
    if not gridded:
        return []
    origin = min(n.start for n in gridded) if origin is None else min(
        vocab.seconds_to_steps(origin), min(n.start for n in gridded))

    by_pitch: dict[int, list[StepNote]] = {}
    for n in gridded:
        by_pitch.setdefault(n.pitch, []).append(
            StepNote(n.pitch, n.start - origin, n.end - origin, n.bin)
        )

    result = []
    for strikes in by_pitch.values():
        # Same onset: the later-ending (then louder) strike sorts last and wins.
        strikes.sort(key=lambda n: (n.start, n.end, n.bin))
        kept: list[StepNote] = []
        for n in strikes:
            if kept and kept[-1].start == n.start:
                kept[-1] = n
            else:
                kept.append(n)
        for this, following in zip(kept, kept[1:] + [None]):
            if following is not None and following.start < this.end:
                this = StepNote(this.pitch, this.start, following.start, this.bin)
            result.append(this)
    result.sort(key=lambda n: (n.start, n.pitch))
    return result


def quantize_notes(notes: Iterable[Note]) -> list[Note]:
    """The notes that decode(encode(notes)) gives back: the codec's view of them."""
    return [n.to_note() for n in quantize(notes)]


def encode(notes: Iterable[Note], origin: float | None = None, until: float | None = None) -> list[int]:
    """Notes -> event indices (see the module docstring for the rules). origin: see
    quantize; until (with an origin): rest after the last note up to this instant."""
    step_notes = quantize(notes, origin)
    events = encode_steps(step_notes)
    if until is not None and origin is not None and step_notes:
        last = max(n.end for n in step_notes)
        rest = vocab.seconds_to_steps(until) - vocab.seconds_to_steps(origin) - last
        if rest > 0:
            events.extend(_shifts(rest))
    return events


def encode_steps(step_notes: list[StepNote]) -> list[int]:
    """Already-quantized notes (as quantize() returns them) -> event indices."""
    # (step, 0 = off / 1 = on, pitch, bin): a plain sort gives rule 6.
    instants = [(n.end, 0, n.pitch, 0) for n in step_notes]
    instants += [(n.start, 1, n.pitch, n.bin) for n in step_notes]
    instants.sort()

    events: list[int] = []
    now = 0
    current_bin = None
    for step, is_on, pitch, bin_ in instants:
        if step > now:
            events.extend(_shifts(step - now))
            now = step
        if is_on:
            if bin_ != current_bin:
                events.append(vocab.velocity(bin_))
                current_bin = bin_
            events.append(vocab.note_on(pitch))
        else:
            events.append(vocab.note_off(pitch))
    return events


def _shifts(steps: int) -> list[int]:
    full, rest = divmod(steps, vocab.MAX_SHIFT_STEPS)
    shifts = [vocab.time_shift(vocab.MAX_SHIFT_STEPS)] * full
    if rest:
        shifts.append(vocab.time_shift(rest))
    return shifts


class StreamDecoder:
    """Event-by-event decoding: feed() indices, collect the notes that close.

    Kept as a class so a live player can decode a stream as it is sampled, with the
    same rules as offline decoding.
    """

    def __init__(self, max_note_seconds: float | None = DEFAULT_MAX_NOTE_SECONDS):
        if max_note_seconds is not None and max_note_seconds <= 0:
            raise ValueError(f"max note length {max_note_seconds} s must be above 0")
        # Rounded down: a note may never outlast the limit a musician set.
        self.max_steps = (
            None
            if max_note_seconds is None
            else max(1, int(max_note_seconds * vocab.STEPS_PER_SECOND + 1e-9))
        )
        self.step = 0
        self.bin: int | None = None
        self.sounding: dict[int, tuple[int, int | None]] = {}  # pitch -> (start, bin)
        self.closed: list[StepNote] = []

    def feed(self, index: int) -> None:
        # Plain range tests, not vocab.decode_event: this runs once per sampled event.
        if index < vocab.NOTE_OFF_OFFSET:
            if index < 0:
                vocab.decode_event(index)  # raises the range error
            self._close(index, self.step)
            self.sounding[index] = (self.step, self.bin)
        elif index < vocab.TIME_SHIFT_OFFSET:
            self._close(index - vocab.NOTE_OFF_OFFSET, self.step)
        elif index < vocab.VELOCITY_OFFSET:
            self._advance(self.step + index - vocab.TIME_SHIFT_OFFSET + 1)
        elif index < vocab.VOCAB_SIZE:
            self.bin = index - vocab.VELOCITY_OFFSET + 1
        else:
            vocab.decode_event(index)  # raises the range error

    def finish(self) -> list[StepNote]:
        """Close every sounding note at the end of the stream; return all notes."""
        for pitch in list(self.sounding):
            self._close(pitch, self.step)
        return sorted(self.closed, key=lambda n: (n.start, n.pitch))

    def _advance(self, to_step: int) -> None:
        if self.max_steps is not None:
            for pitch, (start, _) in list(self.sounding.items()):
                if start + self.max_steps <= to_step:
                    self._close(pitch, start + self.max_steps)
        self.step = to_step

    def _close(self, pitch: int, at_step: int) -> None:
        if pitch not in self.sounding:
            return
        start, bin_ = self.sounding.pop(pitch)
        if self.max_steps is not None:
            at_step = min(at_step, start + self.max_steps)
        if at_step > start:
            bin_ = bin_ if bin_ is not None else vocab.velocity_to_bin(DEFAULT_VELOCITY)
            self.closed.append(StepNote(pitch, start, at_step, bin_))


def decode_steps(
    events: Iterable[int], max_note_seconds: float | None = DEFAULT_MAX_NOTE_SECONDS
) -> list[StepNote]:
    decoder = StreamDecoder(max_note_seconds)
    for position, index in enumerate(events):
        try:
            decoder.feed(int(index))
        except ValueError as err:
            raise ValueError(f"event {position}: {err}") from None
    return decoder.finish()


def decode(
    events: Iterable[int], max_note_seconds: float | None = DEFAULT_MAX_NOTE_SECONDS
) -> list[Note]:
    """Event indices -> notes, forgiving as the module docstring says."""
    return sort_notes(n.to_note() for n in decode_steps(events, max_note_seconds))
