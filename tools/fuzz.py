"""A longer fuzz run than the suite's (tests/fuzz): hostile inputs to the command line,
each in a process of its own with a memory limit and a time limit, for N minutes.

    .venv/bin/python tools/fuzz.py --minutes 10 [--seed 1] [--memory-mb 4000] [--timeout 30]

Counts inputs tried, tracebacks (or internal errors), answers of more than one line,
hangs (past --timeout), files lost (an old output changed by a run that failed) and the
peak memory of the worst inputs. Exit status 1 if any of the bad counts is not 0; the
first few cases of each are printed to replay by hand. The inputs are tests/hostile.py's.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import signal
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import hostile  # noqa: E402

OLD = b"MThd the old file"


def run_isolated(argv, timeout: float, memory_mb: int) -> dict:
    """`encore ARGV` (or a function taking no arguments, returning an exit code) in a
    forked process: its exit code, stderr, peak memory (MB), and whether it ran past
    `timeout` (killed: a hang)."""
    err_file = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:  # the child: a memory limit, the streams to the file, main(), exit
        code = 1
        try:
            limit = memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            os.dup2(err_file.fileno(), 2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            from live.app.cli import main

            text = io.StringIO()
            with redirect_stdout(io.StringIO()), redirect_stderr(text):
                try:
                    code = argv() if callable(argv) else main([str(a) for a in argv])
                except SystemExit as stop:
                    code = stop.code if isinstance(stop.code, int) else 1
            os.write(2, text.getvalue().encode())
        except BaseException:  # noqa: BLE001 (what escapes main is exactly what is counted)
            import traceback

            os.write(2, traceback.format_exc().encode())
            code = 99
        os._exit(code if isinstance(code, int) else 1)
    start, hung = time.monotonic(), False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - start > timeout:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            hung = True
            break
        time.sleep(0.005)
    err_file.seek(0)
    stderr = err_file.read().decode(errors="replace")
    err_file.close()
    return {"code": os.waitstatus_to_exitcode(status), "stderr": stderr, "hung": hung,
            "peak_mb": usage.ru_maxrss / 1024, "seconds": time.monotonic() - start}


class Tally:
    def __init__(self):
        self.tried = 0
        self.bad = {"tracebacks": [], "more than one line": [], "hangs": [], "files lost": []}
        self.peaks: list[tuple[float, str]] = []
        self.by_kind: dict[str, int] = {}
        self.worst: list[str] = []

    def check(self, kind: str, what: str, result: dict, lost: bool = False) -> None:
        self.tried += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        self.peaks.append((result["peak_mb"], f"{kind}: {what}"))
        if kind == "worst":
            answer = (result["stderr"].strip().splitlines() or ["(no message)"])[-1]
            self.worst.append(f"{result['peak_mb']:,.0f} MB, {result['seconds']:.1f} s  {what}: {answer[:150]}")
        stderr = result["stderr"]
        if result["hung"]:
            self.bad["hangs"].append(what)
        elif "Traceback" in stderr or "internal error" in stderr or result["code"] not in (0, 1, 2):
            self.bad["tracebacks"].append(f"{what}: {stderr.strip().splitlines()[-1:] or result['code']}")
        elif result["code"] != 0 and len(stderr.strip().splitlines()) != 1:
            self.bad["more than one line"].append(f"{what}: {stderr[:300]!r}")
        if lost:
            self.bad["files lost"].append(what)

    def report(self, seconds: float) -> str:
        lines = [f"fuzzed {self.tried:,} inputs in {seconds / 60:.1f} min ("
                 + ", ".join(f"{kind} {n:,}" for kind, n in sorted(self.by_kind.items())) + ")"]
        for name, cases in self.bad.items():
            lines.append(f"  {name}: {len(cases)}")
            lines += [f"    {case[:300]}" for case in cases[:5]]
        lines.append("  the worst inputs of the issue (peak memory, time, answer):")
        lines += [f"    {line}" for line in self.worst]
        lines.append("  the highest peaks of all:")
        lines += [f"    {mb:,.0f} MB  {what[:140]}" for mb, what in sorted(self.peaks, reverse=True)[:6]]
        return "\n".join(lines)

    @property
    def clean(self) -> bool:
        return not any(self.bad.values())


def _model(folder: Path) -> Path:
    from live.model.randmodels import build_stream_model

    return build_stream_model(folder / "small.onnx", layers=1, hidden=8, embedding=4, primers=[[300, 60, 280, 188]])


def _corpus_arrays(folder: Path) -> dict:
    from toy_corpus import toy_corpus

    from export.corpus.building import save_corpus

    path = save_corpus(toy_corpus(pieces=6), folder / "toy.npz")
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def worst_inputs(folder: Path, model: Path) -> list[tuple[str, str, list[str]]]:
    """The inputs the issue measured (a 1e8 s gap, a zip bomb, 20,000 primers, a 50 MB
    MIDI file, a FIFO): (kind, what, argv), each run once."""
    import json
    import zipfile

    gap = folder / "gap.mid"
    gap.write_bytes(hostile.crafted_midi("gap of 1e8 seconds"))
    big = folder / "big.mid"
    with open(big, "wb") as file:
        body = b"".join(b"\x00\x90\x3c\x40\x00\x80\x3c\x00" for _ in range(50 * 2**20 // 8))
        file.write(hostile._header(0, 1, 480) + hostile._track(body + b"\x00\xff\x2f\x00"))
    bomb = folder / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (300_000_000, 4)})
        with archive.open("notes.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue() + b"\0" * 2**20)
    many = folder / "many-primers.onnx"
    hostile.with_metadata(model, many, {"encore.primers": json.dumps([[1, 2]] * 20_000)})
    fifo = folder / "fifo"
    os.mkfifo(fifo)
    out = folder / "worst.mid"
    return [("worst", "a gap of 1e8 s (877 bytes)", ["encode", gap]),
            ("worst", "a 50 MB MIDI file", ["encode", big]),
            ("worst", "a zip bomb corpus (declares 9.6 GB)", ["info", bomb]),
            ("worst", "a zip bomb corpus in evaluate", ["evaluate", model, bomb]),
            ("worst", "20,000 primers in metadata", ["info", many]),
            ("worst", "--seed-file FIFO", ["render", "-o", out, "--model", model, "--seed-file", fifo]),
            ("worst", "--controls FIFO", ["play", "--controls", fifo, "--seconds", "1"]),
            ("worst", "decode FIFO", ["decode", fifo, "-o", out])]


def _knob_map_check(path: Path) -> int:
    """What play does with --controls FILE before any port opens, and then what the
    input thread does with each knob's CCs: one line for a bad map, no error after."""
    from live.engine.knobs import KNOB_CONTROLS, KnobMapError, read_knob_file

    try:
        knobs = read_knob_file(path)
    except KnobMapError as err:
        print(f"encore: {err}", file=sys.stderr)
        return 1
    for knob in knobs.knobs:
        if knob.control in KNOB_CONTROLS:
            spec = KNOB_CONTROLS[knob.control]
            for value in range(128):
                problem = spec.problem(knob.value(value))
                if problem:
                    raise AssertionError(f"{knob} at CC value {value}: {problem}")
    return 0


def one_input(rng: random.Random, folder: Path, model: Path, arrays: dict, number: int):
    """(kind, what, argv, output that must survive a failure or None) of one hostile input."""
    kind = rng.choice(["midi", "midi", "events", "knobs", "metadata", "corpus", "numbers"])
    if kind == "midi":
        path = folder / f"m{number}.mid"
        path.write_bytes(hostile.mutated_midi(rng))
        return kind, f"encode {path.name} ({path.stat().st_size} bytes)", ["encode", path], None
    if kind == "events":
        path, out = folder / f"e{number}.json", folder / f"e{number}.mid"
        path.write_text(hostile.event_file_text(rng))
        out.write_bytes(OLD)
        return kind, f"decode {path.read_text()[:60]!r}", ["decode", path, "-o", out], out
    if kind == "knobs":
        path = folder / f"k{number}.toml"
        path.write_text(hostile.knob_map_text(rng))
        return kind, f"knob map {path.read_text()[:60]!r}", lambda: _knob_map_check(path), None
    if kind == "metadata":
        path = hostile.with_metadata(model, folder / f"model{number}.onnx", hostile.model_metadata(rng))
        return kind, f"info of metadata {path.name}", ["info", path], None
    if kind == "corpus":
        path = folder / f"c{number}.npz"
        with open(path, "wb") as file:
            np.savez(file, **hostile.corpus_arrays(rng, arrays))
        return kind, f"info {path.name}", ["info", path], None
    out = folder / f"r{number}.mid"
    out.write_bytes(OLD)
    argv = ["render", "-o", out, "--model", model, "--events", "30"]
    for option in rng.sample(RENDER_OPTIONS, rng.randrange(1, 4)):
        argv += [option, hostile.number_text(rng)]
    return kind, " ".join(map(str, argv[5:]))[:200], argv, out


RENDER_OPTIONS = ["--bpm", "--channel", "--program", "--temperature", "--top-p", "--low", "--high",
                  "--polyphony", "--max-note", "--density", "--velocity-gain", "--velocity-offset",
                  "--transpose", "--grid", "--harmony", "--variation", "--loop", "--random-seed", "--primer",
                  "--bass-channel", "--bass-low", "--bass-density", "--scale", "--chords"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-mb", type=int, default=4000)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tally, start = Tally(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="encore-fuzz-") as name:
        folder = Path(name)
        model, arrays = _model(folder), _corpus_arrays(folder)
        for kind, what, argv in worst_inputs(folder, model):
            tally.check(kind, what, run_isolated(argv, args.timeout, args.memory_mb))
        number = 0
        while time.monotonic() - start < args.minutes * 60:
            number += 1
            kind, what, argv, keep = one_input(rng, folder, model, arrays, number)
            result = run_isolated(argv, args.timeout, args.memory_mb)
            lost = keep is not None and result["code"] != 0 and keep.read_bytes() != OLD
            tally.check(kind, what, result, lost)
            for path in folder.glob(f"*{number}.*"):
                path.unlink()
            if number % 200 == 0:
                print(f"  {tally.tried:,} inputs, {sum(map(len, tally.bad.values()))} bad so far", flush=True)
    print(tally.report(time.monotonic() - start))
    return 0 if tally.clean else 1


if __name__ == "__main__":
    sys.exit(main())
