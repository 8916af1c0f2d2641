"""The bass voice's figures in models/README.md: what `--bass` plays over a progression.

    .venv/bin/python tools/bass_figures.py "Am F C G" [--bass-model lead --bass-density -0.3]

Renders 3 seeds x 120 bars with `encore render --chords PROGRESSION --bass [options]`
and counts, on the bass's channel: notes a bar, the share of onsets on the bar's chord
tones, the range, the median pitch, notes that overlap (0 for one note at a time) and
bars with no onset.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from live.core.chords import parse_progression  # noqa: E402
from live.files.midifile import read_midi  # noqa: E402

BARS, SEEDS = 120, (1, 2, 3)


def main() -> int:
    progression, options = sys.argv[1], sys.argv[2:]
    chords = parse_progression(progression)
    notes = tones = overlaps = silent = 0
    pitches: list[int] = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in SEEDS:
            out = Path(folder) / f"bass-{seed}.mid"
            subprocess.run([str(ROOT / ".venv/bin/encore"), "render", "-o", str(out), "--bars", str(BARS),
                            "--chords", progression, "--bass", "--random-seed", str(seed), *options],
                           check=True, capture_output=True)
            song = read_midi(out)
            bar = 4 * 60 / song.bpm
            bass = sorted((n for p in song.parts if p.channel == 1 for n in p.notes), key=lambda n: n.start)
            notes += len(bass)
            tones += sum(n.pitch % 12 in chords.at_bar(int(n.start / bar + 1e-6)).tones for n in bass)
            overlaps += sum(1 for a, b in zip(bass, bass[1:]) if b.start < a.end - 1e-6)
            silent += BARS - len({int(n.start / bar + 1e-6) for n in bass})
            pitches += [n.pitch for n in bass]
    print(f"{progression} {' '.join(options)}: {notes / (BARS * len(SEEDS)):.2f} notes a bar, "
          f"{100 * tones / notes:.1f} % chord tones, range {min(pitches)}..{max(pitches)}, "
          f"median pitch {statistics.median(pitches):g}, overlaps {overlaps}, "
          f"silent bars {silent} of {BARS * len(SEEDS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
