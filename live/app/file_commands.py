"""The commands that read and write files: inspect, encode, decode, roll, render and
musicstats. Each reads its arguments, calls the work and prints what it made."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from live.core import codec, vocab
from live.core.ensemble import other_voices
from live.core.errors import EncoreError
from live.core.notes import stretched
from live.core.wording import count
from live.files.event_files import read_event_file
from live.files.melody import all_pitched_notes, choose_melody, skyline_notes
from live.files.midifile import Part, Song, read_midi, write_midi
from live.files.midiscan import ScanReport, find_midi_files, process_each
from live.app.options import generator_from_args, timeline_from_args

DEFAULT_RENDER_SECONDS = 60.0
DEFAULT_RENDER_BARS = 32  # a beat model: 32 bars of 4/4 (1 minute at 128 BPM)


def cmd_inspect(args) -> int:
    report = ScanReport()
    for _, song in process_each(find_midi_files(args.paths), read_midi, report):
        print(_describe_song(song))
    return _finish(report)


def cmd_encode(args) -> int:
    report = ScanReport()
    files = find_midi_files(args.paths)
    many = len(files) > 1

    def events_of(path: Path):
        song = read_midi(path, beats=args.time == "beats")
        if args.all:
            notes, part = all_pitched_notes(song), "all non-drum parts"
        else:
            choice = choose_melody(song)
            notes, part = choice.part.notes, choice.part.label
        if args.skyline:
            notes = skyline_notes(notes)
        return part, codec.encode(notes)

    for path, (part, events) in process_each(files, events_of, report):
        shown = [vocab.event_name(e) for e in events] if args.names else events
        if args.json:
            record = {"file": str(path), "part": part, "vocab": vocab.VOCAB_NAME, "time": args.time,
                      "events": shown}
            print(json.dumps(record))
        else:
            text = ", ".join(shown) if args.names else " ".join(map(str, shown))
            print(f"{path}: {text}" if many else text)
    return _finish(report)


def cmd_decode(args) -> int:
    from live.files.output_paths import check_midi_output, same_file

    args.output = check_midi_output(args.output)
    if args.events_file != "-" and same_file(args.events_file, args.output):
        raise EncoreError(f"{args.output}: is the events file too; give -o another name (it would be overwritten)")
    events, said = read_event_file(Path(args.events_file))
    time_is = args.time or said or "seconds"
    notes = codec.decode(events, args.max_note_seconds)
    if time_is == "beats":  # steps of 1/48 beat: a beat is 0.48 s in the codec, 60/bpm here
        notes = stretched(notes, 60.0 / args.bpm / vocab.REFERENCE_BEAT_SECONDS)
    part = Part(name="encore", channel=args.channel - 1, program=args.program, notes=notes)
    write_midi(args.output, [part], bpm=args.bpm)
    length = max((n.end for n in notes), default=0.0)
    beats = f" ({length * args.bpm / 60:.1f} beats at {args.bpm:g} BPM)" if time_is == "beats" else ""
    print(f"wrote {args.output}: {count(len(notes), 'note')}, {length:.2f} s{beats}")
    return 0


def cmd_roll(args) -> int:
    from live.files.roll import draw_roll, summary

    output = args.output or Path(args.midi_file).expanduser().with_suffix(".svg")
    path, music = draw_roll(args.midi_file, output)
    print(f"wrote {path}: {summary(music)}")
    return 0


def cmd_render(args) -> int:
    from live.files.audio import check_audio_tools, render_wav
    from live.files.output_paths import check_midi_output, check_svg_output, check_wav_output, same_file
    from live.app.progress import progress_bars
    from live.core.render import render
    from live.files.midifile import write_rendered

    # every path, file and tool checked before the render, not after it
    args.output = check_midi_output(args.output, audio_hint=" and add --wav FILE.wav for audio")
    if args.seed_file and same_file(args.seed_file, args.output):
        raise EncoreError(f"{args.output}: is the --seed-file too; give -o another name (the seed would be "
                          "overwritten)")
    if args.wav:
        args.wav = check_wav_output(args.wav)
        check_audio_tools(args.soundfont)
    if args.roll:
        args.roll = check_svg_output(args.roll)
    generator, seeded_with = generator_from_args(args, channel=args.channel - 1)
    timeline = timeline_from_args(args, generator.model)
    if args.bars is not None and not timeline.beats:
        raise EncoreError(f"--bars needs a beat model; {generator.model.info.path} speaks seconds "
                            "(10 ms steps, no beat grid): give --seconds")
    # how much music, in performance time (a beat model's is beats x 0.48 s)
    if args.events is not None:
        length = None
    elif args.seconds:
        length = args.seconds / timeline.rate
    else:
        bars = args.bars or (DEFAULT_RENDER_BARS if timeline.beats else None)
        length = bars * timeline.perf_per_beat() * 4 if bars else DEFAULT_RENDER_SECONDS
    with progress_bars(args.quiet) as start_bar:
        result = render(generator, seconds=length, events=args.events,
                        progress=start_bar("rendering").fraction, timeline=timeline)
    title = f"encore ({Path(generator.model.info.path).stem})"
    write_rendered(result, args.output, args.bpm, args.channel - 1, args.program, title, stretch=timeline.rate,
                   others=other_voices(args))
    heard = result.seconds * timeline.rate
    bars = heard / 60 * args.bpm / 4
    grid = f", {bars:.{0 if abs(bars - round(bars)) < 1e-6 else 1}f} bars at {args.bpm:g} BPM" if timeline.beats else ""
    print(
        f"wrote {args.output}: {count(len(result.notes), 'note')} in {heard:.1f} s{grid} "
        f"({count(len(result.events), 'event')}), seeded with {seeded_with}"
    )
    if args.wav:
        render_wav(args.output, args.wav, args.soundfont)
        print(f"wrote {args.wav}")
    if args.roll:
        from live.files.roll import draw_roll, summary

        path, music = draw_roll(args.output, args.roll)
        print(f"wrote {path}: {summary(music)}")
    return 0


def cmd_musicstats(args) -> int:
    from export.evaluation.musicstats import compare, format_figures

    model, source = (None, args.model) if args.corpus is None else (args.model, args.corpus)
    figures = compare(model, source, args.split, args.minutes, args.temperature, args.random_seed, args.renders,
                      args.grid, args.loop, args.variation, args.chords, args.harmony)
    print(json.dumps(figures, indent=2) if args.json else format_figures(figures))
    return 0


def _describe_song(song: Song) -> str:
    minutes, seconds = divmod(int(round(song.duration)), 60)
    numerator, denominator = song.time_signature
    lines = [
        f"{song.path}: format {song.format}, {song.bpm:.0f} BPM, "
        f"{numerator}/{denominator}, {minutes}:{seconds:02d}, "
        f"{len(song.parts)} part{'s' if len(song.parts) != 1 else ''}"
    ]
    drums = [p for p in song.parts if p.is_drum]
    if not song.pitched_parts():
        lines.append("  no pitched notes: nothing to take as a melody")
    else:
        choice = choose_melody(song)
        lines.append(
            f"  {'#':>2}  {'part':<28} {'prog':>4} {'notes':>6} {'mono':>5} "
            f"{'pitch':>5} {'cover':>5} {'score':>5}"
        )
        for number, s in enumerate(choice.scores, 1):
            mark = "  <- melody" if s.part is choice.part else ""
            lines.append(
                f"  {number:>2}  {s.part.label[:28]:<28} {s.part.program:>4} {s.notes:>6} "
                f"{s.monophony:>5.0%} {s.mean_pitch:>5.1f} {s.coverage:>5.0%} "
                f"{s.score:>5.2f}{mark}"
            )
        lines.append(f"  melody: {choice.part.label}: {choice.reason}")
    for part in drums:
        lines.append(f"  drums kept apart: {part.label}, {count(len(part.notes), 'note')}")
    return "\n".join(lines)


def _finish(report: ScanReport) -> int:
    """Report skipped files; fail only when nothing could be processed."""
    total = report.done + len(report.skipped)
    if total == 1 and report.skipped:
        raise report.skipped[0]
    if report.skipped:
        print(report.summary(), file=sys.stderr)
    if total == 0:
        raise EncoreError("no MIDI files found (.mid or .midi); check the path")
    return 0 if report.done else 1
