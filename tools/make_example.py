"""Write live/examples/ode_to_joy.mid: the bundled example song.

Beethoven's "Ode to Joy" theme (public domain) arranged as a small dance track: a lead,
a bass line, pad chords and drums on channel 10, so `encore corpus inspect` has parts
to tell apart. Run from the repository root: python tools/make_example.py
"""

from pathlib import Path

from live.files.midifile import Part, write_midi
from live.core.notes import Note

BPM = 128
BEAT = 60 / BPM

THEME = "E4 E4 F4 G4 G4 F4 E4 D4 C4 C4 D4 E4 E4. D4/ D4- " * 2
CHORDS = ["C4 E4 G4", "G3 B3 D4", "C4 E4 G4", "G3 B3 D4"] * 2
BASS = ["C2", "G2", "C2", "G2"] * 2
NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def pitch(name: str) -> int:
    return 12 * (int(name[1]) + 1) + NAMES[name[0]]


def theme_notes() -> list[Note]:
    notes, beat = [], 0.0
    for token in THEME.split():
        length = {".": 1.5, "/": 0.5, "-": 2.0}.get(token[-1], 1.0)
        name = token.rstrip("./-")
        accent = 100 if beat % 4 == 0 else 84 if beat % 2 == 0 else 72
        notes.append(Note(pitch(name) + 12, beat * BEAT, (beat + length * 0.9) * BEAT, accent))
        beat += length
    return notes


def main() -> None:
    bars = len(CHORDS)
    pads = [
        Note(pitch(p), bar * 4 * BEAT, (bar + 1) * 4 * BEAT, 60)
        for bar, chord in enumerate(CHORDS)
        for p in chord.split()
    ]
    bass = [
        Note(pitch(BASS[bar]) + (12 if eighth % 2 else 0), (bar * 8 + eighth) * BEAT / 2,
             (bar * 8 + eighth + 0.8) * BEAT / 2, 96)
        for bar in range(bars)
        for eighth in range(8)
    ]
    drums = [Note(36, b * BEAT, b * BEAT + 0.1, 110) for b in range(bars * 4)]
    drums += [Note(42, (b + 0.5) * BEAT, (b + 0.5) * BEAT + 0.05, 80) for b in range(bars * 4)]
    parts = [
        Part("Synth Lead", channel=0, program=81, notes=theme_notes()),
        Part("Bass", channel=1, program=38, notes=bass),
        Part("Pads", channel=2, program=89, notes=pads),
        Part("Drums", channel=9, program=0, is_drum=True, notes=sorted(drums, key=lambda n: n.start)),
    ]
    out = Path("live/examples/ode_to_joy.mid")
    write_midi(out, parts, bpm=BPM, title="Ode to Joy (encore example)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
