"""Command-line options shared by everything that generates (render, play, tui):
the model, the seed and the sampling controls, and how they become a Generator."""

from __future__ import annotations

import argparse
import copy

import numpy as np

from live.core.controls import CONTROL_SPECS, SPECS_BY_NAME, ControlError, Controls, ControlSpec
from live.core.scales import ScaleError, note_name, parse_scale
from live.app.arguments import int_in, loop_bars, random_seed
from live.core.ensemble import transposed_primer
from live.core.bars import to_bar_line
from live.core.errors import EncoreError
from live.core.generator import Generator
from live.core.timeline import Timeline
from live.model import Model, load_model
from live.files.primers import embedded_primer, primer_from_midi, primer_from_notes


# The bass voice's own controls (the rest are the lead's): low, one note at a time, sparse,
# on the chord's tones, a little steadier than the lead. Chosen by measurement: see README.
BASS_DEFAULTS = {"low": 36, "high": 60, "density": 0.0, "temperature": 0.9, "polyphony": 1, "max_note": 1.5,
                 "harmony": 90, "grid": "1/4"}
BASS_PROGRAM = 33
BASS_PRIMER_SHIFT = -24  # the bass hears the lead's primer two octaves down


def add_generation_options(parser: argparse.ArgumentParser) -> None:
    model = parser.add_argument_group("model and seed")
    model.add_argument("--model", metavar="FILE.onnx", help="model file (default: the shipped model)")
    seed = model.add_mutually_exclusive_group()
    seed.add_argument("--primer", type=int, metavar="N",
                      help="seed with the model's primer N, counted from 1 (default: a random one)")
    seed.add_argument("--seed-file", metavar="FILE.mid", help="seed with the end of a MIDI file's melody")
    seed.add_argument("--seed-notes", metavar="NOTES", help="seed with notes, e.g. 'C4 E4 G4' or '60 64 67'")
    seed.add_argument("--silence", action="store_true", help="start from silence (no primer)")
    model.add_argument("--random-seed", type=random_seed, metavar="S", help="makes the performance repeatable")

    sampling = parser.add_argument_group("sampling controls")
    for spec in CONTROL_SPECS:
        if spec.flag is None:
            continue
        if spec.name == "scale":  # --scale ROOT:NAME sets the root too
            sampling.add_argument(spec.flag, type=_scale_arg, metavar="ROOT:NAME",
                                  help=f"{spec.help} (default {spec.default}: every pitch)")
            continue
        metavar = "NOTE" if spec.kind == "pitch" else "SECONDS" if spec.unit == "s" else None
        if spec.kind == "choice":
            metavar, default = "|".join(spec.choices), str(spec.default)
        else:
            default = f"{spec.default:g}" + (f" {spec.unit}" if spec.unit else "")
        sampling.add_argument(spec.flag, dest=spec.name, type=_arg_parser(spec), default=spec.default,
                              metavar=metavar, help=_literal(f"{spec.help} ({spec.allowed}; default {default})"))
        if "_" in spec.name:  # --top_p too, as the one name is written in a knob map
            sampling.add_argument(f"--{spec.name}", dest=spec.name, type=_arg_parser(spec),
                                  default=spec.default, help=argparse.SUPPRESS)
    harmony = parser.add_argument_group("chords (a beat model's)")
    harmony.add_argument("--chords", metavar="CHORDS",
                         help="follow a progression, a chord a bar and cycling: 'Am F C G', or 'Am:2 F:2' for "
                              "bars each (maj, m, 7, m7, maj7, sus2, sus4, dim, aug, 5); 'input': the chord held "
                              "on --input. The key follows from the chords unless --scale says; --harmony leans")
    bass = parser.add_argument_group("bass voice")
    bass.add_argument("--bass", action="store_true",
                      help="a second voice under the lead on its own channel: a bass model (--bass-model), one "
                           "note at a time, on the chord's tones with --chords")
    bass.add_argument("--bass-model", metavar="FILE.onnx",
                      help="the bass voice's model: a file, 'lead' (the lead's own, steered low) or a shipped "
                           "name (default: bass, trained on Bach chorale bass lines; else the lead's)")
    bass.add_argument("--bass-channel", type=int_in(1, 16, "bass channel"), default=2, metavar="N",
                      help="its MIDI channel (default 2)")
    bass.add_argument("--bass-program", type=int_in(0, 127, "bass program"), default=BASS_PROGRAM, metavar="P",
                      help=f"its General MIDI program (default {BASS_PROGRAM}: electric bass, finger)")
    for name, default in BASS_DEFAULTS.items():
        spec = SPECS_BY_NAME[name]
        bass.add_argument(f"--bass-{spec.label}", dest=f"bass_{name}", type=_arg_parser(spec), default=default,
                          metavar="NOTE" if spec.kind == "pitch" else None,
                          help=_literal(f"the bass's {spec.label} (default {spec.show(default)})"))
    loop = parser.add_argument_group("loop (a beat model's)")
    loop.add_argument("--loop", type=loop_bars, default=0, metavar="BARS",
                      help="play a phrase of BARS bars again and again (1, 2, 4, 8, 16; default 0: off); "
                           "--variation says how much of it changes each time round")



def _literal(text: str) -> str:
    """Help text shown as written: argparse reads % as a format (a unit of %, like 25 %)."""
    return text.replace("%", "%%")


def _arg_parser(spec: ControlSpec):
    """argparse's type= for one control: its value, or one line naming the flag."""
    def parse(text: str):
        try:
            return spec.parse(text)
        except ControlError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = spec.name
    return parse


def _scale_arg(text: str) -> tuple[int, str]:
    try:
        return parse_scale(text)
    except ScaleError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def controls_from_args(args) -> Controls:
    """The Controls the sampling options give (each flag's dest is its control's name)."""
    root, scale = args.scale or (0, "chromatic")
    values = {spec.name: getattr(args, spec.name) for spec in CONTROL_SPECS
              if spec.flag is not None and spec.name != "scale"}
    if values["low"] > values["high"]:
        low, high = values["low"], values["high"]
        raise ControlError(f"--low {note_name(low)} ({low}) is above --high {note_name(high)} ({high}); "
                           "the lowest pitch must be at most the highest")
    return Controls(**values, root=root, scale=scale)


def with_controls(args, controls: Controls):
    """A copy of args whose sampling options give these controls (for a render of what plays)."""
    args = copy.copy(args)
    for spec in CONTROL_SPECS:
        if spec.flag is not None and spec.name != "scale":
            setattr(args, spec.name, getattr(controls, spec.name))
    args.scale = (controls.root, controls.scale)
    return args


def primer_from_args(args, model: Model, rng: np.random.Generator) -> tuple[str, list[int]]:
    """(a description of the seed, its events)."""
    if args.silence:
        return "silence", []
    beats = model.info.time == "beats"
    if args.seed_file:
        return f"the melody of {args.seed_file}", primer_from_midi(args.seed_file, beats=beats)
    if args.seed_notes:
        return f"the notes {args.seed_notes}", primer_from_notes(args.seed_notes, beats=beats)
    if not model.info.primers and args.primer is None:
        return "silence (the model has no primers)", []
    number, events = embedded_primer(model, args.primer, rng)
    return f"primer {number} of {len(model.info.primers)}", events


def timeline_from_args(args, model) -> Timeline:
    """The timeline a model plays on: stretched by --bpm for a beat model."""
    return Timeline(beats=model.info.time == "beats", bpm=args.bpm,
                    latency=getattr(args, "output_latency", 0.0) / 1000.0)


def generator_from_args(args, channel: int, seed: tuple[str, list[int]] | None = None) -> tuple[Generator, str]:
    """A primed generator; seed (description, events) replaces the one args name."""
    controls = controls_from_args(args)  # check the cheap things before loading a model
    model = load_model(args.model)
    seed_rng = np.random.default_rng(args.random_seed)
    description, primer = seed if seed is not None else primer_from_args(args, model, seed_rng)
    # The sampler's randomness follows from the same seed, apart from the primer draw.
    generator = Generator(
        model, controls, seed=None if args.random_seed is None else args.random_seed + 1, channel=channel
    )
    if model.info.time == "beats":
        primer = to_bar_line(primer)  # play starts on a downbeat, where the model thinks it is
    generator.prime(primer)
    if getattr(args, "bass", False):
        generator = _with_bass(args, generator, primer, controls)
    _follow_chords(args, generator)
    if getattr(args, "loop", 0):
        if model.info.time != "beats":
            raise EncoreError(f"--loop needs a beat model: {model.info.path} plays in seconds, without bars "
                              "(the shipped default is a beat model; `encore info MODEL` says which)")
        generator.begin_loop(args.loop)
    return generator, description


def _with_bass(args, lead: Generator, primer: list[int], controls: Controls):
    """--bass: the lead and a bass voice under it (with_bass)."""

    if args.bass_channel - 1 == lead.channel:
        raise EncoreError(f"--bass-channel {args.bass_channel} is the lead's --channel too; give the bass its own")
    values = {name: getattr(args, f"bass_{name}", default) for name, default in BASS_DEFAULTS.items()}
    if values["low"] > values["high"]:
        raise ControlError(f"--bass-low {note_name(values['low'])} is above --bass-high {note_name(values['high'])}")
    named = getattr(args, "bass_model", None)
    model = bass_model(named)
    if model is not None and model.info.time != lead.model.info.time:
        if named is None:
            model = None  # the shipped bass model is a beat model: a seconds lead keeps its own
        else:
            raise EncoreError(f"--bass-model {named} plays in {model.info.time}, the lead in "
                              f"{lead.model.info.time}: the voices share one timeline; give a "
                              f"{lead.model.info.time} model")
    return with_bass(lead, primer, controls.with_(**values), args.bass_channel - 1,
                     None if args.random_seed is None else args.random_seed + 101,
                     keep_lead_above=args.low == SPECS_BY_NAME["low"].default, model=model)


def bass_model(name: str | None = None):
    """The bass voice's model: `name` (a file or a shipped name), the shipped bass model by
    default, or None for the lead's own ('lead', or no bass model shipped)."""
    from live.model import BASS_MODEL, default_model_path, load_model

    if name == "lead":
        return None
    if name is None:
        shipped = default_model_path(BASS_MODEL)
        return load_model(shipped) if shipped.is_file() else None
    return load_model(name)


def with_bass(lead: Generator, primer: list[int], bass_controls: Controls | None = None, channel: int = 1,
              seed: int | None = None, keep_lead_above: bool = True, model=None):
    """The lead and a bass voice under it (of the lead's model, or its own `model`), as one
    ensemble; the bass hears the lead's primer two octaves down and leans to the chord's
    tones on every step."""
    from live.core.ensemble import Ensemble

    bass_controls = bass_controls or lead.controls.with_(**BASS_DEFAULTS)
    bass = Generator(model or lead.model, bass_controls, channel=channel, seed=seed)
    bass.chord_only = True
    bass.prime(transposed_primer(primer, BASS_PRIMER_SHIFT))
    if keep_lead_above and lead.controls.low <= bass_controls.high:
        lead.controls = lead.controls.with_(low=min(bass_controls.high + 1, lead.controls.high))
    return Ensemble({"lead": lead, "bass": bass}, {"bass": BASS_PRIMER_SHIFT})


def _follow_chords(args, generator: Generator) -> None:
    """--chords: the harmony from the first bar (a progression), or from the first chord
    played (input); a --scale other than chromatic is the key the chords keep."""
    from live.core.chords import parse_progression
    from live.core.harmony import Harmony

    chords = getattr(args, "chords", None)
    if not chords:
        return
    model = generator.model
    if model.info.time != "beats":
        raise EncoreError(f"--chords needs a beat model: {model.info.path} plays in seconds, without bars "
                          "(the shipped default is a beat model; `encore info MODEL` says which)")
    root, scale = args.scale or (0, "chromatic")
    generator.harmony_key = None if scale == "chromatic" else (root, scale)
    if chords.strip().lower() == "input":
        if getattr(args, "command", None) not in ("play", "tui") or not getattr(args, "input", None):
            raise EncoreError("--chords input follows the chord held on the --input keyboard: give --input PORT "
                              "(encore play or tui), or name the chords, e.g. --chords 'Am F C G'")
        return
    generator.harmony = Harmony.of(parse_progression(chords), generator.performer.step, generator.harmony_key)


__all__ = ["add_generation_options", "controls_from_args", "with_controls", "generator_from_args", "ControlError"]
