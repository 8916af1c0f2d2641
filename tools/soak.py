"""A set played for a long time to a JACK receiver, its memory watched (issue 21, item 7).

    .venv/bin/python tools/soak.py --minutes 45 [-- extra play options]

Starts a receiver that drains a JACK MIDI port (python-rtmidi), plays `encore play` to it
(lead and bass, a 4-bar loop by default), and samples the player's memory every
--every seconds: resident (VmRSS) and anonymous (RssAnon, what a leak grows). Prints
each sample, then the growth per hour over the whole run and over its second half
(memory that settles early shows in the first figure, not the second).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECEIVER = "encore-soak"


def memory(pid: int) -> tuple[float, float] | None:
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    except OSError:
        return None
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["RssAnon"].split()[0]) / 1024


def per_hour(samples: list[tuple[float, float, float]]) -> float:
    (t0, _, a0), (t1, _, a1) = samples[0], samples[-1]
    return (a1 - a0) / max(t1 - t0, 1e-9) * 3600


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("play", nargs="*", help="options for encore play (after --)")
    args = parser.parse_args()

    import rtmidi

    received = [0]
    inport = rtmidi.MidiIn(rtmidi.API_UNIX_JACK)
    inport.open_virtual_port(RECEIVER)
    inport.set_callback(lambda message, data: received.__setitem__(0, received[0] + 1))
    seconds = args.minutes * 60
    extra = args.play or ["--bass", "--loop", "4"]
    command = [sys.executable, "-m", "live.app.cli", "play", "--port", RECEIVER, "--seconds", f"{seconds:g}", *extra]
    player = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    began, samples = time.monotonic(), []
    try:
        while player.poll() is None:
            sample = memory(player.pid)
            if sample is not None and received[0]:  # from the first note on: loading is not a leak
                elapsed = time.monotonic() - began
                samples.append((elapsed, *sample))
                print(f"{elapsed / 60:6.1f} min  VmRSS {sample[0]:7.1f} MB  RssAnon {sample[1]:7.1f} MB  "
                      f"{received[0]:,} messages", flush=True)
            time.sleep(args.every)
    finally:
        if player.poll() is None:
            player.terminate()
        _, err = player.communicate(timeout=30)
        inport.close_port()
    if len(samples) < 4:
        print(f"too short to measure ({len(samples)} samples): {err.strip()[-300:]}")
        return 1
    half = [s for s in samples if s[0] >= samples[-1][0] / 2]
    print(f"RssAnon {samples[0][2]:.1f} -> {samples[-1][2]:.1f} MB over {samples[-1][0] / 60:.1f} min: "
          f"{per_hour(samples):+.1f} MB/h over the run, {per_hour(half):+.1f} MB/h over its second half; "
          f"{received[0]:,} messages received")
    return 0


if __name__ == "__main__":
    sys.exit(main())
