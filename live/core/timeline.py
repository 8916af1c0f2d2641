"""The timeline: performance time <-> clock time, through a tempo that can change at any
moment. Pure: clock readings come in, times go out.

Performance time is the model's own, 10 ms a step since the performance began:
  - a seconds model: it *is* time; the clock runs at its pace whatever the tempo, and the
    tempo only places the beat grid (for quantise and the bar:beat display);
  - a beat model: a step is 1/48 beat, so performance time is beats x 0.48 s (the
    reference 125 BPM); at another tempo the clock stretches it: at 100 BPM a beat
    takes 0.6 s, at 150 BPM 0.4 s.

The map is a line through one anchor, (clock, performance), with a slope; a tempo change
re-anchors it at "now", so nothing already sent moves and everything queued (kept in
performance time) lands on the new grid. Following a MIDI clock or Link re-anchors it on
each beat they report: the phase is locked, not only the tempo.

`latency` sends everything that much early: a synth's known output latency.
"""

from __future__ import annotations

from live.core import vocab

MIN_BPM, MAX_BPM = 20.0, 400.0
SOURCES = ("internal", "midi clock", "link")


class Timeline:
    def __init__(self, beats: bool = False, bpm: float = 120.0, latency: float = 0.0):
        self.beats = beats  # a beat model: the tempo stretches the music
        self.bpm = _checked(bpm)
        self.latency = latency
        self.source = "internal"
        self.beat_origin = 0.0  # performance time of beat 0: bar 1, beat 1
        # (performance time, the clock time it sounds at, clock seconds per performance
        # second): one tuple, replaced whole, so another thread never reads half a change
        self._map = (0.0, 0.0, self._rate())

    @property
    def rate(self) -> float:
        return self._map[2]

    @property
    def anchor(self) -> tuple[float, float]:
        """(performance time, the clock time it sounds at) the map was last set through:
        where play last started, resumed, bent or locked."""
        return self._map[0], self._map[1]

    # ------------------------------------------------------------ the map

    def to_clock(self, perf: float) -> float:
        """When to send what sounds at performance time `perf`."""
        perf0, clock0, rate = self._map
        return clock0 + (perf - perf0) * rate - self.latency

    def to_perf(self, clock: float) -> float:
        """The performance time to send at clock time `clock` (it sounds `latency` later)."""
        perf0, clock0, rate = self._map
        return perf0 + (clock + self.latency - clock0) / rate

    def sounding_at(self, clock: float) -> float:
        """The performance time heard at clock time `clock`."""
        perf0, clock0, rate = self._map
        return perf0 + (clock - clock0) / rate

    def heard_at(self, perf: float) -> float:
        """The clock time at which performance time `perf` is heard."""
        return self.to_clock(perf) + self.latency

    def place(self, perf: float, clock: float) -> None:
        """Performance time `perf` is sent at clock time `clock` (start, resume)."""
        self._map = (perf, clock + self.latency, self.rate)

    # ------------------------------------------------------------ tempo and beats

    def perf_per_beat(self) -> float:
        """Performance seconds in a beat: 0.48 for a beat model, 60/BPM otherwise."""
        return vocab.REFERENCE_BEAT_SECONDS if self.beats else 60.0 / self.bpm

    def set_bpm(self, bpm: float, now: float, source: str | None = None) -> None:
        """A new tempo from `now` on: the music bends there, what was before stays."""
        bpm = _checked(bpm)
        if source is not None:
            self.source = source
        if bpm == self.bpm:
            return
        if self.beats:
            self._map = (self.to_perf(now), now + self.latency, vocab.REFERENCE_BPM / bpm)
        else:
            # a seconds model's time does not stretch; keep the beat under `now` where it is
            heard = self.sounding_at(now)
            beat = self.beat_at(heard)
            self.bpm = bpm
            self.beat_origin = heard - beat * self.perf_per_beat()
        self.bpm = bpm

    def lock(self, clock: float, beat: float, bpm: float, source: str) -> None:
        """An external clock says: beat `beat` sounds at clock time `clock`, at `bpm`."""
        self.bpm, self.source = _checked(bpm), source
        perf = self.beat_origin + beat * self.perf_per_beat()
        if self.beats:
            self._map = (perf, clock, self._rate())
        else:
            # the music keeps its own time; the grid moves onto the clock's beats
            self.beat_origin = self.sounding_at(clock) - beat * self.perf_per_beat()

    def beat_at(self, perf: float) -> float:
        """Beats since beat 0 at performance time `perf`."""
        return (perf - self.beat_origin) / self.perf_per_beat()

    def perf_at_beat(self, beat: float) -> float:
        return self.beat_origin + beat * self.perf_per_beat()

    def grid_time(self, perf: float, grid_beats: float, not_before: float) -> float:
        """The grid line nearest `perf` (performance time), never before `not_before`."""
        step = grid_beats * self.perf_per_beat()
        line = self.beat_origin + round((perf - self.beat_origin) / step) * step
        while line < not_before:
            line += step
        return line

    def _rate(self) -> float:
        return vocab.REFERENCE_BPM / self.bpm if self.beats else 1.0


def bar_and_beat(beat: float, beats_per_bar: int = 4) -> tuple[int, int]:
    """Beats since beat 0 -> (bar, beat) as musicians count them, from 1:1."""
    whole = int(beat // 1) if beat >= 0 else 0
    return whole // beats_per_bar + 1, whole % beats_per_bar + 1


def _checked(bpm: float) -> float:
    bpm = float(bpm)
    if not MIN_BPM <= bpm <= MAX_BPM:
        raise ValueError(f"tempo {bpm:g} BPM is outside {MIN_BPM:g}..{MAX_BPM:g}")
    return bpm
