"""The `encore` command line: argument parsing and one-line errors; the work is elsewhere."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from live import __version__

from live.core import codec
from live.core.controls import SPECS_BY_NAME
from live.core.errors import EncoreError
from live.app.arguments import (
    OneLineParser, bpm, control_argument, int_in, loop_bars, non_negative_ms, positive_float, random_seed, up_to,
)
from live.app.training_commands import add_training_commands
from live.app.file_commands import (  # noqa: F401 (DEFAULT_RENDER_*: the parser's help)
    DEFAULT_RENDER_BARS, DEFAULT_RENDER_SECONDS, cmd_decode, cmd_encode, cmd_inspect, cmd_musicstats, cmd_render,
    cmd_roll,
)
from live.app.options import add_generation_options, generator_from_args
from live.engine.knobs import MAPPABLE
from live.engine.ports import RTMIDI_APIS


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="encore",
        description="A real-time MIDI performance instrument driven by a recurrent network.",
    )
    parser.add_argument("--version", action="version", version=f"encore {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    commands.required = True

    corpus = commands.add_parser("corpus", help="work with MIDI collections")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", metavar="ACTION")
    corpus_commands.required = True
    inspect = corpus_commands.add_parser(
        "inspect", help="show each part of MIDI files and which is taken as the melody"
    )
    inspect.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    inspect.set_defaults(handler=cmd_inspect)

    encode = commands.add_parser(
        "encode", help="print the performance-388 event indices of MIDI files"
    )
    encode.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    encode.add_argument(
        "--all", action="store_true", help="every non-drum note merged, not just the melody"
    )
    encode.add_argument("--skyline", action="store_true", help="reduce to one voice first")
    encode.add_argument("--json", action="store_true", help="one JSON object per file")
    encode.add_argument("--names", action="store_true", help="event names, not indices")
    encode.add_argument("--time", choices=("seconds", "beats"), default="seconds",
                        help="a time shift step is 10 ms (seconds, the default) or 1/48 beat (beats: "
                             "the file's beats, its tempo ignored, as beat models and corpora read it)")
    encode.set_defaults(handler=cmd_encode)

    decode = commands.add_parser("decode", help="write an event list (JSON) as a MIDI file")
    decode.add_argument("events_file", metavar="EVENTS.json")
    decode.add_argument("-o", "--output", required=True, metavar="OUT.mid")
    decode.add_argument("--bpm", type=bpm, default=120.0,
                        help="the file's tempo; with --time beats also the tempo the beats are played at")
    decode.add_argument("--time", choices=("seconds", "beats"),
                        help="what a time shift step is: 10 ms or 1/48 beat (default: what encode --json "
                             "wrote in the file, else seconds)")
    decode.add_argument("--program", type=int_in(0, 127, "program"), default=0)
    decode.add_argument("--channel", type=int_in(1, 16, "channel"), default=1, help=CHANNEL_HELP)
    decode.add_argument(
        "--max-note-seconds",
        type=positive_float,
        default=codec.DEFAULT_MAX_NOTE_SECONDS,
        help="notes never closed end after this long (default %(default)s)",
    )
    decode.set_defaults(handler=cmd_decode)

    roll_cmd = commands.add_parser(
        "roll", help="draw a MIDI file as a piano roll picture (SVG): bars, beats, pitches, channels"
    )
    roll_cmd.add_argument("midi_file", metavar="FILE.mid")
    roll_cmd.add_argument("-o", "--output", metavar="OUT.svg",
                          help="the picture (default: FILE.svg beside the .mid)")
    roll_cmd.set_defaults(handler=cmd_roll)

    render_cmd = commands.add_parser(
        "render", help="render a performance to a .mid file (and a .wav through FluidSynth)"
    )
    render_cmd.add_argument("-o", "--output", required=True, metavar="OUT.mid")
    length = render_cmd.add_mutually_exclusive_group()
    length.add_argument("--seconds", type=up_to(DAY), help="music to render (default 60)")
    length.add_argument("--bars", type=int_in(1, 100_000, "bars"),
                        help="bars of 4/4 to render (a beat model; default for one: 32)")
    length.add_argument("--events", type=int_in(1, 10_000_000, "events"), help="events to render")
    render_cmd.add_argument("--bpm", type=bpm, default=120.0,
                            help="tempo: a beat model plays at it and the file says it (default 120)")
    render_cmd.add_argument("--channel", type=int_in(1, 16, "channel"), default=1, help=CHANNEL_HELP)
    render_cmd.add_argument("--program", type=int_in(0, 127, "program"), default=0,
                            help="General MIDI program (instrument) 0-127 written to the file")
    render_cmd.add_argument("--wav", metavar="OUT.wav", help="also render audio (needs FluidSynth)")
    render_cmd.add_argument("--soundfont", metavar="FILE.sf2", help="soundfont for --wav")
    render_cmd.add_argument("--roll", metavar="OUT.svg", help="also draw the render as a piano roll (SVG)")
    render_cmd.add_argument("--quiet", action="store_true", help="no progress bar")
    add_generation_options(render_cmd)
    render_cmd.set_defaults(handler=cmd_render)

    ports_cmd = commands.add_parser("ports", help="list MIDI input and output ports")
    ports_cmd.add_argument("--backend", default="auto", choices=["auto", *RTMIDI_APIS])
    ports_cmd.set_defaults(handler=cmd_ports)

    play_cmd = commands.add_parser("play", help="play live through a MIDI port (the main job)")
    add_play_options(play_cmd)
    play_cmd.set_defaults(handler=cmd_play)

    tui_cmd = commands.add_parser(
        "tui", help="the performer's screen: play with knobs, seeds and a piano roll"
    )
    add_play_options(tui_cmd)
    tui_cmd.set_defaults(handler=cmd_tui)

    learn_cmd = commands.add_parser("learn", help="MIDI-learn: move a knob to map it to a control")
    learn_cmd.add_argument("control", type=control_argument, choices=list(MAPPABLE), metavar="CONTROL",
                           help=f"the control the knob moves (or the button presses): {', '.join(MAPPABLE)} "
                           "(top-p and top_p are the same)")
    learn_cmd.add_argument("--input", required=True, metavar="NAME")
    learn_cmd.add_argument("--backend", default="auto", choices=["auto", *RTMIDI_APIS])
    learn_cmd.add_argument("--timeout", type=positive_float, default=30.0, metavar="SECONDS")
    learn_cmd.set_defaults(handler=cmd_learn)

    bench = commands.add_parser("bench", help="measure encore's speed on this machine")
    bench.add_argument(
        "--model", action="append", metavar="FILE.onnx",
        help="a model to time (repeatable; default: the shipped model beside a study-sized "
        "window model); --live and --grid take one, the shipped model by default",
    )
    bench.add_argument("--steps", type=int_in(10, 1_000_000, "steps"), default=2000,
                       help="model steps to time per stream model (default 2000)")
    bench.add_argument("--json", action="store_true", help="figures as one JSON object")
    what = bench.add_mutually_exclusive_group()
    what.add_argument("--live", action="store_true",
                      help="play through a real MIDI port and measure send-time error")
    what.add_argument("--grid", action="store_true",
                      help="on JACK, a beat model's notes against a MIDI clock's and a Link peer's 16ths "
                           "(128 then 136 BPM), and send-time error and knob latency with the TUI open")
    what.add_argument("--loop", action="store_true",
                      help="on JACK with the TUI open, a 2-bar loop at 128 BPM with next pressed off the beat: "
                           "send-time error and how long next waits for the new phrase's downbeat")
    bench.add_argument("--seconds", type=positive_float,
                       help="how long --live plays (default 60); with --grid, each of its three parts "
                            "(default 20)")
    bench.add_argument("--backend", default="auto", choices=["auto", *RTMIDI_APIS])
    bench.set_defaults(handler=cmd_bench)

    add_training_commands(commands, corpus_commands)

    music = commands.add_parser(
        "musicstats", help="what a model renders beside a corpus split or MIDI files: rates, ranges, "
        "histograms, grid, bar repeats, key",
        usage="encore musicstats [MODEL.onnx] CORPUS.npz|FILE.mid|FOLDER [options]",
    )
    # Two positionals, the first optional, parsed by hand: argparse's own "?" then a
    # required one breaks when an option comes between them.
    music.add_argument("model", metavar="MODEL.onnx",
                       help="the model to render (leave it out to measure the music alone)")
    music.add_argument("corpus", metavar="MUSIC", nargs="?",
                       help="what to measure beside it: a corpus .npz (its --split), a .mid file or a folder of them")
    music.add_argument("--split", choices=["val", "test"], default="test", help="the corpus split (default test)")
    music.add_argument("--minutes", type=up_to(DAY / 60), default=3.0)
    music.add_argument("--temperature", type=positive_float, default=1.0)
    music.add_argument("--grid", choices=SPECS_BY_NAME["grid"].choices, default=SPECS_BY_NAME["grid"].default,
                       help="a beat model's grid control for the renders (off: the model's own rhythm)")
    music.add_argument("--loop", type=loop_bars, default=0, metavar="BARS",
                       help="render with a loop of BARS bars (a beat model's; default 0: off)")
    music.add_argument("--variation", type=int_in(0, 100, "variation"), default=25, metavar="PERCENT",
                       help="with --loop: how much of the phrase changes each time round (default 25)")
    music.add_argument("--chords", metavar="CHORDS",
                       help="render following this progression (a beat model's), e.g. 'Am F C G': adds the share "
                            "of notes on beats 1 and 3 that are the chord's tones, and of notes in its key")
    music.add_argument("--harmony", type=int_in(0, 100, "harmony"), default=60, metavar="PERCENT",
                       help="with --chords: the harmony control (default 60)")
    music.add_argument("--random-seed", type=random_seed, default=0)
    music.add_argument("--renders", type=int_in(1, 100, "renders"), default=1,
                       help="render it this many times with fresh seeds: figures of them all, "
                            "and each one's range over the renders")
    music.add_argument("--json", action="store_true")
    music.set_defaults(handler=cmd_musicstats)
    return parser


DAY = 24 * 3600.0  # the longest render: more is a typo (1e308), not a set
CHANNEL_HELP = "MIDI channel 1-16 (10 is drums on General MIDI synths)"


def add_play_options(parser: argparse.ArgumentParser) -> None:
    """The options of a live performance, shared by `play` and `tui`."""
    parser.add_argument("--port", metavar="NAME", help="output port (a unique part of its name)")
    parser.add_argument("--virtual", metavar="NAME", help="open a virtual output port of this name "
                        "(it plays at once; encore's own port waits for a synth)")
    parser.add_argument("--no-wait", action="store_true",
                        help="play at once on encore's own virtual port, before a synth is connected to it")
    parser.add_argument("--backend", default="auto", choices=["auto", *RTMIDI_APIS])
    parser.add_argument("--channel", type=int_in(1, 16, "channel"), default=1, help=CHANNEL_HELP)
    parser.add_argument("--program", type=int_in(0, 127, "program"), help="send this program change first")
    parser.add_argument("--seconds", type=positive_float, help="stop after this long (default: until Ctrl-C)")
    parser.add_argument("--record", metavar="OUT.mid", help="record what is sent (and played in)")
    parser.add_argument("--bpm", type=bpm, default=120.0,
                          help="tempo: a beat model plays at it; the quantise grid, the sent clock "
                               "and the recording follow it (default 120)")
    parser.add_argument("--lookahead", type=up_to(2000.0), default=100.0, metavar="MS",
                          help="how far generation runs ahead of playback (default 100 ms)")
    live_input = parser.add_argument_group("controller input")
    live_input.add_argument("--input", metavar="NAME", help="controller/keyboard input port")
    live_input.add_argument("--controls", metavar="MAP.toml", help="knob map (CC -> control)")
    live_input.add_argument("--listen", choices=["continue", "call", "off"], default="continue",
                            help="played notes: continue the phrase (default), call and "
                            "response, or off (passed through only)")
    live_input.add_argument("--respond-after", type=positive_float, default=1.0, metavar="SECONDS",
                            help="call and response: answer after this pause (default 1 s)")
    live_input.add_argument("--no-thru", action="store_true", help="do not pass played notes to the output")
    loop = parser.add_argument_group("loop actions (with --loop, or a loop set live)")
    loop.add_argument("--launch", choices=["bar", "beat", "now"], default="bar",
                      help="when next, mutate and hold land: the next bar line (default), beat, or grid "
                           "line, as clips launch in a DAW; a new loop length always lands on the loop's bar line")
    loop.add_argument("--capture-dir", metavar="FOLDER", default=".",
                      help="where a captured loop's .mid clip goes (default: this folder)")
    clock = parser.add_argument_group("clock")
    clock.add_argument("--follow-clock", action="store_true",
                       help="follow the MIDI clock on the input: its tempo and beat (a beat model "
                            "plays on its grid), Start/Stop/Continue")
    clock.add_argument("--link", action="store_true",
                       help="follow an Ableton Link session: its tempo and bar (encore comes in on the "
                            "next bar line; the tempo control sets the session's)")
    clock.add_argument("--quantize", choices=["off", "1/8", "1/16", "1/32"], default="off",
                       help="pull note-ons to this grid of the tempo")
    clock.add_argument("--quantize-strength", type=int_in(0, 100, "quantize strength"), default=100,
                       metavar="PERCENT")
    clock.add_argument("--send-clock", action="store_true",
                       help="send MIDI clock (24 ppqn) on the output, from encore's own timeline")
    clock.add_argument("--output-latency", type=non_negative_ms, default=0.0, metavar="MS",
                       help="send everything this much early: the synth's known latency (default 0)")
    add_generation_options(parser)


def crash_report(err: Exception) -> str:
    """The traceback written to a file in the temporary folder; its path (or where it
    could not be written) for the one line the user sees. ENCORE_DEBUG=1 raises instead."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(err))
    try:
        with tempfile.NamedTemporaryFile("w", prefix="encore-crash-", suffix=".txt", delete=False) as file:
            file.write(f"encore {__version__}: {' '.join(sys.argv)}\n{text}")
        return file.name
    except OSError:
        return "ENCORE_DEBUG=1 for the details"


def main(argv: list[str] | None = None) -> int:
    try:
        argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
        args = build_parser().parse_args(argv)
        args.argv = argv  # what `train --nproc N` starts N processes with
        return args.handler(args) or 0
    except EncoreError as err:
        print(f"encore: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stop:
        # raised with a text where there is more to say (what was kept, what was not)
        print(f"encore: interrupted{': ' + str(stop) if str(stop) else ''}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `encore encode ... | head` closed the pipe: not an error worth a traceback.
        sys.stderr.close()
        return 0
    except MemoryError:
        print("encore: out of memory: the input asks for more than this machine has; give a smaller one",
              file=sys.stderr)
        return 1
    except RecursionError:
        print("encore: an input is nested too deeply to read; give a flatter one", file=sys.stderr)
        return 1
    except Exception as err:  # a bug: still one line, and the details kept for the report
        if os.environ.get("ENCORE_DEBUG"):
            raise
        print(f"encore: internal error ({type(err).__name__}: {str(err)[:160]}), a bug in encore; please "
              f"report it with the command and {crash_report(err)}", file=sys.stderr)
        return 70  # EX_SOFTWARE


# ---------------------------------------------------------------- commands


def cmd_ports(args) -> int:
    from live.app.play import list_ports

    print(list_ports(args.backend))
    return 0


def cmd_play(args) -> int:
    from live.app.play import play

    return play(args, lambda: generator_from_args(args, channel=args.channel - 1))


def cmd_tui(args) -> int:
    from live.app.tui.app import run_tui

    return run_tui(args)


def cmd_learn(args) -> int:
    from live.app.play import learn

    return learn(args)


def cmd_bench(args) -> int:
    from live.app import bench

    if args.grid:
        from live.app import grid_bench
        from live.model import default_model_path

        if args.model and len(args.model) > 1:
            raise EncoreError("bench --grid measures one model; give --model once")
        model = args.model[0] if args.model else default_model_path()
        figures = grid_bench.bench_grid(model, args.seconds or 20.0)
        print(json.dumps(figures, indent=2) if args.json else grid_bench.format_grid(figures))
        return 0
    if args.loop:
        from live.app import loop_bench
        from live.model import default_model_path

        model = args.model[0] if args.model else default_model_path()
        figures = loop_bench.bench_loop(str(model), args.seconds or 30.0)
        print(json.dumps(figures, indent=2) if args.json else loop_bench.format_loop(figures))
        return 0
    if args.live:
        from live.model import default_model_path
        from live.model import randmodels
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            model = (args.model or [None])[0]
            if model is None:
                model = default_model_path()
                if not model.is_file():
                    model = randmodels.build_stream_model(Path(folder) / "stand_in.onnx", layers=2,
                                                          hidden=256, embedding=64)
                    print("no default model yet: a random-weight 2x256 stream model stands in")
            figures = bench.bench_live(model, args.seconds or 60.0, args.backend)
        print(json.dumps(figures, indent=2) if args.json else bench.format_live(figures))
        return 0
    figures = {"codec": bench.bench_codec(), "models": bench.bench_models(args.model, args.steps)}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(bench.format_codec(figures["codec"]))
        print(bench.format_models(figures["models"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
