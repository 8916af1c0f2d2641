"""Command-line options shared by everything that generates (render, play, tui):
the model, the seed and the sampling controls, and how they become a Generator."""

from __future__ import annotations

import argparse

import numpy as np

from live.core.controls import Controls, ControlError, parse_scale
from live.core.generator import Generator
from live.model import Model, load_model
from live.files.primers import embedded_primer, primer_from_midi, primer_from_notes


def add_generation_options(parser: argparse.ArgumentParser) -> None:
    model = parser.add_argument_group("model and seed")
    model.add_argument("--model", metavar="FILE.onnx", help="model file (default: the shipped model)")
    seed = model.add_mutually_exclusive_group()
    seed.add_argument("--primer", type=int, metavar="N", help="seed with the model's primer N (default: a random one)")
    seed.add_argument("--seed-file", metavar="FILE.mid", help="seed with the end of a MIDI file's melody")
    seed.add_argument("--seed-notes", metavar="NOTES", help="seed with notes, e.g. 'C4 E4 G4' or '60 64 67'")
    seed.add_argument("--silence", action="store_true", help="start from silence (no primer)")
    model.add_argument("--random-seed", type=int, metavar="S", help="makes the performance repeatable")

    sampling = parser.add_argument_group("sampling controls")
    sampling.add_argument("--temperature", type=float, default=1.0, help="0.05..3.0 (default 1.0)")
    sampling.add_argument("--top-p", type=float, default=1.0, help="nucleus mass, above 0 and at most 1 (default 1)")
    sampling.add_argument("--scale", metavar="ROOT:NAME", help="lock to a scale, e.g. A:minor, F#:dorian, F:lydian, C:blues")
    sampling.add_argument("--low", type=int, default=0, help="lowest pitch played (default 0)")
    sampling.add_argument("--high", type=int, default=127, help="highest pitch played (default 127)")
    sampling.add_argument("--polyphony", type=int, default=16, help="max notes at once, 1 = monophonic (default 16)")
    sampling.add_argument("--max-note", type=float, default=5.0, metavar="SECONDS", help="force notes off after this long (default 5)")
    sampling.add_argument("--density", type=float, default=0.0, help="-1..1: fewer .. more notes (default 0)")
    sampling.add_argument("--velocity-gain", type=float, default=1.0, help="0..2 (default 1)")
    sampling.add_argument("--velocity-offset", type=int, default=0, help="-127..127 (default 0)")
    sampling.add_argument("--transpose", type=int, default=0, help="-24..24 semitones (default 0)")


def controls_from_args(args) -> Controls:
    root, scale = parse_scale(args.scale) if args.scale else (0, "chromatic")
    return Controls(
        temperature=args.temperature,
        top_p=args.top_p,
        low=args.low,
        high=args.high,
        root=root,
        scale=scale,
        max_polyphony=args.polyphony,
        max_note_seconds=args.max_note,
        density=args.density,
        velocity_gain=args.velocity_gain,
        velocity_offset=args.velocity_offset,
        transpose=args.transpose,
    )


def primer_from_args(args, model: Model, rng: np.random.Generator) -> tuple[str, list[int]]:
    """(a description of the seed, its events)."""
    if args.silence:
        return "silence", []
    if args.seed_file:
        return f"the melody of {args.seed_file}", primer_from_midi(args.seed_file)
    if args.seed_notes:
        return f"the notes {args.seed_notes}", primer_from_notes(args.seed_notes)
    if not model.info.primers and args.primer is None:
        return "silence (the model has no primers)", []
    number, events = embedded_primer(model, args.primer, rng)
    return f"primer {number} of {len(model.info.primers)}", events


def generator_from_args(args, channel: int) -> tuple[Generator, str]:
    controls = controls_from_args(args)  # check the cheap things before loading a model
    model = load_model(args.model)
    seed_rng = np.random.default_rng(args.random_seed)
    description, primer = primer_from_args(args, model, seed_rng)
    # The sampler's randomness follows from the same seed, apart from the primer draw.
    generator = Generator(
        model, controls, seed=None if args.random_seed is None else args.random_seed + 1, channel=channel
    )
    generator.prime(primer)
    return generator, description


__all__ = ["add_generation_options", "controls_from_args", "generator_from_args", "ControlError"]
