"""An ensemble: several voices (lead, bass, ...) played as one performance.

Each voice is a Generator of its own (model, channel, controls, performer, noise,
looper), and the scheduler sees the ensemble as one: it asks for the next event, and the
voice furthest behind in the music makes it, so every voice stays within one event of the
others and all share one timeline, one queue, one ledger, one loop and one harmony. A
snapshot is every voice's; a rollback restores them all; a rest, a reseed, a pause and a
loop's actions reach every voice at the same step. Another voice (drums, a pad) is one
more Generator in the dict.
"""

from __future__ import annotations

from typing import NamedTuple

from live.core import vocab
from live.core.generator import Generator
from live.core.performer import NoteMessage


def other_voices(options) -> tuple[tuple[str, int, int], ...]:
    """(track name, channel 0..15, program) of the voices beside the lead that the command
    line's options ask for (--bass): a track each in a render, a recording and a clip."""
    if not getattr(options, "bass", False):
        return ()
    return (("encore bass", options.bass_channel - 1, options.bass_program),)


class EnsembleSnapshot(NamedTuple):
    voices: tuple  # each voice's Snapshot, in order

    @property
    def loop(self):
        """The lead's loop state (the scheduler reads which loop actions have landed)."""
        return self.voices[0].loop


class _Loopers:
    """Every voice's looper as one: actions go to all; what is read is the lead's."""

    def __init__(self, ensemble: "Ensemble"):
        self._ensemble = ensemble

    def install(self, actions) -> None:
        for voice in self._ensemble.voices.values():
            voice.loop().install(actions)

    def __getattr__(self, name):
        return getattr(self._ensemble.lead.loop(), name)


def transposed_primer(events: list[int], semitones: int) -> list[int]:
    """A primer moved by `semitones` (notes pushed past 0..127 stay where they would
    fold back in range by octaves): a bass voice hears the lead's primer low."""
    moved = []
    for event in events:
        if vocab.is_note_on(event) or vocab.is_note_off(event):
            base = vocab.NOTE_ON_OFFSET if vocab.is_note_on(event) else vocab.NOTE_OFF_OFFSET
            pitch = event - base + semitones
            while pitch < 0:
                pitch += 12
            while pitch > 127:
                pitch -= 12
            event = base + pitch
        moved.append(event)
    return moved


class Ensemble:
    def __init__(self, voices: dict[str, Generator], primer_shifts: dict[str, int] | None = None):
        if not voices:
            raise ValueError("an ensemble needs a voice")
        channels = [voice.channel for voice in voices.values()]
        if len(set(channels)) != len(channels):
            raise ValueError(f"each voice needs a channel of its own, not {channels}")
        self.voices = dict(voices)
        self.lead = next(iter(self.voices.values()))
        self.primer_shifts = dict(primer_shifts or {})  # voice -> semitones its primer is moved
        self._by_channel = {voice.channel: voice for voice in self.voices.values()}
        self._order = tuple(self.voices.values())

    # ------------------------------------------------------------ read as one voice

    def _behind(self) -> Generator:
        """The voice furthest behind in the music (the first of them on a tie). A plain
        loop: this runs several times an event, and min() with a key cost a render 8 %."""
        behind = self._order[0]
        step = behind.performer.step
        for voice in self._order[1:]:
            if voice.performer.step < step:
                behind, step = voice, voice.performer.step
        return behind

    @property
    def performer(self):
        """The voice furthest behind: where the ensemble's music has been made up to."""
        return self._behind().performer

    @property
    def controls(self):
        return self.lead.controls

    @controls.setter
    def controls(self, controls) -> None:
        self.lead.controls = controls

    @property
    def channel(self) -> int:
        return self.lead.channel

    @property
    def channels(self) -> tuple[int, ...]:
        return tuple(self._by_channel)

    @property
    def model(self):
        return self.lead.model

    @property
    def beats(self) -> bool:
        return self.lead.beats

    @property
    def primer(self) -> list[int]:
        return self.lead.primer

    @property
    def events(self) -> list[int]:
        return self.lead.events

    @property
    def restarted_at(self) -> float:
        return self.lead.restarted_at

    @property
    def looper(self):
        return self.lead.looper

    def loop(self) -> _Loopers:
        return _Loopers(self)

    @property
    def replaying(self) -> bool:
        return self.lead.replaying

    @property
    def harmony(self):
        return self.lead.harmony

    @harmony.setter
    def harmony(self, harmony) -> None:
        for voice in self.voices.values():
            voice.harmony = harmony

    @property
    def harmony_key(self):
        return self.lead.harmony_key

    @harmony_key.setter
    def harmony_key(self, key) -> None:
        for voice in self.voices.values():
            voice.harmony_key = key

    def voice(self, name: str | None) -> Generator:
        if name in (None, "lead"):
            return self.lead
        return self.voices[name]

    def held_keys(self) -> set[tuple[int, int]]:
        return set().union(*(voice.held_keys() for voice in self.voices.values()))

    def max_note(self, channel: int) -> float:
        voice = self._by_channel.get(channel, self.lead)
        return voice.controls.max_note

    # ------------------------------------------------------------ playing

    def next(self) -> tuple[int, list[NoteMessage]]:
        """The voice furthest behind makes the next event."""
        return self._behind().next()

    def force(self, event: int) -> list[NoteMessage]:
        raise TypeError("an ensemble takes rests (rest_to), not one voice's forced event")

    def rest_to(self, target: int) -> list[NoteMessage]:
        messages: list[NoteMessage] = []
        for voice in self.voices.values():
            messages += voice.rest_to(target)
        return messages

    def hear(self, on: bool, pitch: int, velocity: int = 0) -> None:
        """The player is heard by the lead, whose phrase it continues."""
        self.lead.hear(on, pitch, velocity)

    def prime(self, events: list[int], at_seconds: float = 0.0) -> None:
        for name, voice in self.voices.items():
            shift = self.primer_shifts.get(name, 0)
            voice.prime(transposed_primer(list(events), shift) if shift else list(events), at_seconds)

    def reset_performer(self, at_seconds: float) -> None:
        for voice in self.voices.values():
            voice.reset_performer(at_seconds)

    def finish(self) -> list[NoteMessage]:
        messages: list[NoteMessage] = []
        for voice in self.voices.values():
            messages += voice.finish()
        return messages

    def forget_before(self, snapshot: EnsembleSnapshot) -> None:
        for voice, saved in zip(self.voices.values(), snapshot.voices):
            voice.forget_before(saved)

    def snapshot(self) -> EnsembleSnapshot:
        return EnsembleSnapshot(tuple(voice.snapshot() for voice in self.voices.values()))

    def restore(self, snapshot: EnsembleSnapshot) -> None:
        for voice, saved in zip(self.voices.values(), snapshot.voices):
            voice.restore(saved)

    def begin_loop(self, bars: int) -> None:
        for voice in self.voices.values():
            voice.begin_loop(bars)

    def loop_comes_in(self, restart: bool = False, renew: bool = False) -> None:
        for voice in self.voices.values():
            voice.loop_comes_in(restart=restart, renew=renew)
