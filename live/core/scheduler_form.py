"""The scheduler's commands on the music's form: loops (a length, next, mutate, hold,
landing on the launch point) and chord changes (a progression from the next bar line, a
played chord from the next beat). A part of live.core.scheduler.Scheduler (a mixin: it
reads the scheduler's timeline, generator and history, and rolls back through it)."""

from __future__ import annotations

from typing import NamedTuple

from live.core import vocab
from live.core.commands import PlayChord, SetLoop
from live.core.looper import LoopAction
from live.core.margins import RESTART_MARGIN
from live.core.phrase import LOOP_BARS

LAUNCH_MODES = ("bar", "beat", "now")
NO_LOOP_IN_SECONDS = ("no loop: a loop counts bars, and this model plays in seconds, without a beat "
                      "(play a beat model; `encore info MODEL` says which time a model speaks)")


class LoopState(NamedTuple):
    """The loop as a screen shows it (read from another thread: a moment's view)."""

    bars: int  # the length asked last (0: no loop)
    bar: int | None  # the loop's bar heard now, from 1
    passes: int  # times round (the first pass is its capture)
    hold: bool
    capturing: bool  # its phrase is being played for the first time
    launch: str
    anchor: float | None  # performance time of a bar 1 of the loop
    phrase: tuple  # its bars (live.core.phrase.Bar, None where not played yet)


class FormCommands:
    """Loops and chords, for a Scheduler."""

    def loop_state(self, now: float) -> LoopState:
        looper = self.generator.looper
        if looper is None or not looper.bars or looper.anchor is None:
            return LoopState(self.loop_bars, None, 0, False, bool(self.loop_bars), self.launch, None, ())
        step = vocab.seconds_to_steps(self.timeline.sounding_at(now))
        bar = looper.bar_at(step)
        return LoopState(self.loop_bars, None if bar is None else bar + 1, looper.passes, looper.hold,
                         not looper.complete, self.launch, looper.anchor * vocab.STEP_SECONDS, looper.phrase)

    def _set_loop(self, command: SetLoop, now: float) -> None:
        if not self.timeline.beats:
            self._refusals.say("loop", NO_LOOP_IN_SECONDS, now)
            return
        bars = command.bars
        if command.change == "double":
            if not self.loop_bars:
                self._refusals.say("loop", "no loop to double: set a loop length first", now)
                return
            bars = min(self.loop_bars * 2, LOOP_BARS[-1])
        elif command.change == "halve":
            if not self.loop_bars:
                self._refusals.say("loop", "no loop to halve: set a loop length first", now)
                return
            bars = max(self.loop_bars // 2, 1)
        if bars not in LOOP_BARS:
            self._refusals.say("loop", f"loop not changed: {bars!r} bars; a loop is "
                               f"{', '.join(map(str, LOOP_BARS[1:]))} bars (0: off)", now)
            return
        if bars == self.loop_bars:
            return
        looper = self.generator.loop()
        launch = self._launch_step(now)
        # a length lands on the loop's own bar line; a loop begins at the launch point
        at = looper.next_bar_line(launch) if self.loop_bars and looper.bars else launch
        self.loop_bars = bars
        self._give(LoopAction("bars", at, bars, next(self._loop_serial)), now)

    def _phrase_action(self, kind: str, now: float) -> None:
        if not self.timeline.beats:
            self._refusals.say("loop", NO_LOOP_IN_SECONDS, now)
            return
        if kind not in ("next", "mutate", "hold"):
            self._refusals.say("loop", f"no phrase action {kind!r}; choose next, mutate or hold", now)
            return
        if not self.loop_bars:
            self._refusals.say("loop", f"no loop to {kind}: set a loop length first", now)
            return
        self._give(LoopAction(kind, self._launch_step(now), 0, next(self._loop_serial)), now)

    def _give(self, action: LoopAction, now: float) -> None:
        """Hand an action to the looper; if the music is made past where it lands, the
        unsent future is made again (it lands there, not a lookahead late)."""
        self._prune_loop_actions()
        self._loop_actions.append(action)
        lands = self.timeline.to_clock(action.at_step * vocab.STEP_SECONDS)
        self.loop_landings.append((action.kind, now, max(lands, now)))
        generator = self.generator
        if self.started and self.playing and action.at_step < generator.performer.step and self._history:
            self._rollback(now)  # restores, reinstalls the actions, then plays on
        else:
            generator.loop().install([action])

    def _launch_step(self, now: float) -> int:
        perf = self.timeline.to_perf(now) + RESTART_MARGIN if self.started else self.generator.performer.time
        if self.launch == "bar":
            perf = self._on_grid(perf, 4 * self.timeline.perf_per_beat())
        elif self.launch == "beat":
            perf = self._on_grid(perf, self.timeline.perf_per_beat())
        else:
            perf = self._on_grid(perf)
        return vocab.seconds_to_steps(perf)

    def _reinstall_loop_actions(self) -> None:
        """After a rollback: the restored state may be older than some actions given."""
        if self._loop_actions:
            self.generator.loop().install(self._loop_actions)

    def _prune_loop_actions(self) -> None:
        """Actions that landed before the oldest rollback point can never be needed again."""
        if not self._loop_actions or not self._history:
            return
        saved = self._history[0][2].loop
        landed = saved[0]["applied"] if saved is not None else 0
        self._loop_actions = [a for a in self._loop_actions if a.serial > landed]

    def _loop_comes_in(self, restart: bool = False, renew: bool = False) -> None:
        """After the performer was placed anew (resume, reseed, an answer): where the
        loop goes on (its next bar line; from bar 1 on a clock Start; anew on a reseed)."""
        self.generator.loop_comes_in(restart=restart, renew=renew)

    def _harmony_change(self, command, now: float) -> None:
        """A progression from the next bar line, a played chord from the next beat; the
        unsent future is made again if it is made past there."""
        from live.core.harmony import Harmony

        if not self.timeline.beats:
            self._refusals.say("chords", "no chords: they change on beats and bars, and this model plays in "
                               "seconds (play a beat model)", now)
            return
        chord = isinstance(command, PlayChord)
        what = command.chord if chord else command.progression
        perf = self.timeline.to_perf(now) + RESTART_MARGIN if self.started else self.generator.performer.time
        beat = self.timeline.perf_per_beat()
        at = vocab.seconds_to_steps(self._on_grid(perf, beat if chord else 4 * beat))
        generator = self.generator
        if generator.harmony is None:
            origin = vocab.seconds_to_steps(self.timeline.beat_origin)
            generator.harmony = Harmony.of(what, at, generator.harmony_key, origin)
        else:
            generator.harmony = generator.harmony.then(what, at)
        if self.started and self.playing and at < generator.performer.step:
            self._rollback(now)
