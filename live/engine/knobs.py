"""Hardware knobs: CC messages -> control values, through a map kept in TOML.

A map entry names a CC number (and optionally a channel), the control it moves, the
range it sweeps and a curve. `exp` suits controls heard in ratios (temperature, note
length): equal knob turns feel like equal changes. Maps load from --controls FILE, or
from the user's config folder (where MIDI learn saves), on top of the defaults below.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from live.core.controls import (
    BUTTONS, CONTROL_SPECS, CURVES, LAUNCH_SPEC, LOOP_SPEC, RENAMED, SPECS_BY_NAME, TEMPO_SPEC, control_name,
)
from live.core.errors import EncoreError
from live.files.input_paths import input_problem

# CC 120-127 are channel mode messages (all sound off, reset, all notes off ...), sent by
# DAWs and synths on stop: never a knob.
KNOB_CCS = range(0, 120)


def is_knob_cc(cc: int) -> bool:
    return cc in KNOB_CCS


# Every control can take a knob, and so can the tempo and the loop's length and launch;
# the sweep and curve are the table's. A loop's buttons (BUTTONS) take a CC too.
KNOB_CONTROLS = {**SPECS_BY_NAME, **{spec.name: spec for spec in (TEMPO_SPEC, LOOP_SPEC, LAUNCH_SPEC)}}
MAPPABLE = (*KNOB_CONTROLS, *BUTTONS)


class KnobMapError(EncoreError):
    """A knob map that cannot be used: names the file, the entry and the fix."""


@dataclass(frozen=True)
class Knob:
    cc: int
    control: str
    channel: int | None = None  # 1..16, or None for any channel
    min: float | None = None
    max: float | None = None
    curve: str | None = None

    def value(self, cc_value: int):
        spec = KNOB_CONTROLS[self.control]
        low, high = spec.knob_range
        low = low if self.min is None else self.min
        high = high if self.max is None else self.max
        curve = spec.curve if self.curve is None else self.curve
        x = min(127, max(0, cc_value)) / 127.0
        if curve == "exp" and low > 0 and high > 0:
            value = low * (high / low) ** x
        elif curve == "log" and low > 0 and high > 0:
            value = low + (high - low) * math.log1p(9 * x) / math.log(10)
        else:
            value = low + (high - low) * x
        if spec.kind == "choice":
            return spec.choices[int(round(value))]
        return int(round(value)) if spec.whole else round(value, 4)

    def matches(self, channel: int, cc: int) -> bool:
        """channel as on the wire, 0..15."""
        return cc == self.cc and (self.channel is None or self.channel == channel + 1)

    def describe(self) -> str:
        where = "any channel" if self.channel is None else f"channel {self.channel}"
        return f"CC {self.cc} ({where})"


DEFAULT_KNOBS = [Knob(cc, spec.name) for spec in CONTROL_SPECS for cc in spec.ccs]


class KnobMap:
    def __init__(self, knobs: list[Knob] | None = None):
        self.knobs = list(DEFAULT_KNOBS if knobs is None else knobs)

    def lookup(self, channel: int, cc: int) -> Knob | None:
        # The last entry wins, so a user's map overrides the defaults.
        for knob in reversed(self.knobs):
            if knob.matches(channel, cc):
                return knob
        return None

    def for_control(self, control: str) -> list[Knob]:
        return [k for k in self.knobs if k.control == control]

    def learn(self, control: str, channel: int, cc: int) -> Knob:
        """Map this CC (on this wire channel 0..15) to the control, replacing what it did."""
        _check_control(control, "learn")
        knob = Knob(cc, control, channel + 1)
        self.knobs = [k for k in self.knobs if not (k.cc == cc and k.channel in (None, channel + 1))]
        self.knobs.append(knob)
        return knob

    def merged(self, other: "KnobMap") -> "KnobMap":
        return KnobMap(self.knobs + other.knobs)


MAX_KNOB_FILE_BYTES = 1_000_000


def user_map_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("encore")) / "controls.toml"


def load_knob_map(path: str | Path | None = None, warn: Callable[[str], None] | None = None) -> KnobMap:
    """The defaults, then the user's saved map, then --controls FILE on top.

    warn: told (one line per file) about entries that use a control's old name."""
    knob_map = KnobMap()
    saved = user_map_path()
    if saved.is_file():
        knob_map = knob_map.merged(read_knob_file(saved, saved=True, warn=warn))
    if path is not None:
        knob_map = knob_map.merged(read_knob_file(Path(path), warn=warn))
    return knob_map


def read_knob_file(path: Path, saved: bool = False, warn: Callable[[str], None] | None = None) -> KnobMap:
    """A knob map from TOML; anything wrong is one KnobMapError naming the entry.

    saved: the map learn writes. Versions before 0.1 learned CC 120-127 too (a DAW's
    all-notes-off on stop); those entries are left out there, not refused, so an old
    map neither blocks playing nor learning again (which rewrites it without them).
    An entry naming a control by an old name (max_note_seconds ...) loads under the new
    one, and warn hears of it."""
    problem = input_problem(path, missing="no such knob map; check the path")
    if problem:  # before open: a FIFO would hold the set's start for good
        raise KnobMapError(f"{path}: {problem}")
    if path.stat().st_size > MAX_KNOB_FILE_BYTES:
        raise KnobMapError(f"{path}: larger than {MAX_KNOB_FILE_BYTES // 1000} kB; a knob map is a few "
                           "hundred lines at most")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise KnobMapError(f"{path}: cannot be read ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise KnobMapError(f"{path}: not valid TOML ({err})") from None
    except RecursionError:
        raise KnobMapError(f"{path}: not a knob map (its TOML is nested too deeply)") from None
    entries = data.get("knob", [])
    if not isinstance(entries, list):
        raise KnobMapError(f"{path}: 'knob' must be a list of [[knob]] tables")
    knobs, renamed = [], []
    for number, entry in enumerate(entries, 1):
        where = f"{path}: knob {number}"
        if not isinstance(entry, dict):
            raise KnobMapError(f"{where}: expected a [[knob]] table")
        unknown = set(entry) - {"cc", "control", "channel", "min", "max", "curve"}
        if unknown:
            raise KnobMapError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        cc, control = entry.get("cc"), entry.get("control")
        control = control_name(control) if isinstance(control, str) else control
        if saved and isinstance(cc, int) and 0 <= cc <= 127 and not is_knob_cc(cc):
            continue
        if not isinstance(cc, int) or not is_knob_cc(cc):
            raise KnobMapError(
                f"{where}: cc must be a number 0..119 (120-127 are channel mode messages), "
                f"not {cc!r}")
        if control in RENAMED:
            renamed.append(f"knob {number}: control {control!r} is now {RENAMED[control]!r}")
            control = RENAMED[control]
        _check_control(control, where)
        channel = entry.get("channel")
        if channel is not None and (not isinstance(channel, int) or not 1 <= channel <= 16):
            raise KnobMapError(f"{where}: channel must be 1..16, not {channel!r}")
        curve = entry.get("curve")
        if curve is not None and curve not in CURVES:
            raise KnobMapError(f"{where}: curve must be one of {', '.join(CURVES)}, not {curve!r}")
        bounds = [entry.get("min"), entry.get("max")]
        _check_bounds(bounds, control, where)
        knobs.append(Knob(cc, control, channel, bounds[0], bounds[1], curve))
    if renamed and warn is not None:
        warn(f"{path}: {'; '.join(renamed)} (it loads; write the new names there to quiet this)")
    return KnobMap(knobs)


def write_knob_file(path: Path, knob_map: KnobMap) -> Path:
    import tomli_w

    entries = [{k: v for k, v in asdict(knob).items() if v is not None} for knob in knob_map.knobs]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# encore knob map: [[knob]] cc, control, channel (1-16), min, max, curve\n"
                    + tomli_w.dumps({"knob": entries}))
    return path


def save_learned(knob: Knob) -> Path:
    """Add a learned knob to the user's saved map (replacing that CC's old entry); old
    control names in it are written under their new ones."""
    path = user_map_path()
    saved = read_knob_file(path, saved=True) if path.is_file() else KnobMap([])
    saved.knobs = [k for k in saved.knobs if not (k.cc == knob.cc and k.channel in (None, knob.channel))]
    saved.knobs.append(knob)
    return write_knob_file(path, saved)


def _check_control(control, where: str) -> None:
    if control not in MAPPABLE:
        raise KnobMapError(
            f"{where}: unknown control {control!r}; choose from {', '.join(MAPPABLE)}"
        )


def _check_bounds(bounds: list, control: str, where: str) -> None:
    """min and max are numbers the control can take (for a choice: indices into it)."""
    if any(b is not None and (not isinstance(b, (int, float)) or isinstance(b, bool)) for b in bounds):
        raise KnobMapError(f"{where}: min and max must be numbers")
    if control in BUTTONS:
        if any(b is not None for b in bounds):
            raise KnobMapError(f"{where}: {control} is a button (pressed at 64 and up): it takes no min or max")
        return
    spec = KNOB_CONTROLS[control]
    low, high = (0, len(spec.choices) - 1) if spec.kind == "choice" else (spec.low, spec.high)
    for key, bound in zip(("min", "max"), bounds):
        if bound is not None and not low <= bound <= high:
            raise KnobMapError(f"{where}: {key} {bound} is outside {control}'s range {low:g}..{high:g}")
