"""Compare `encore encode --all` with note_seq's Performance RNN encoding on real files.

Not part of the test suite: it needs reference JSON made with Magenta's note-seq
package in its own environment (one object per MIDI file, with "events" and
"onsets" = [[pitch, step, velocity bin], ...]) and the MIDI files themselves.

    python tools/compare_noteseq.py MIDI_FOLDER REFERENCE_FOLDER
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from live.core import codec, vocab
from live.files.melody import all_pitched_notes
from live.files.midifile import read_midi


def onsets(events: list[int]) -> list[tuple[int, int, int]]:
    step, bin_, found = 0, 0, []
    for index in events:
        event = vocab.decode_event(index)
        if event.type is vocab.EventType.TIME_SHIFT:
            step += event.value
        elif event.type is vocab.EventType.VELOCITY:
            bin_ = event.value
        elif event.type is vocab.EventType.NOTE_ON:
            found.append((event.value, step, bin_))
    return found


def main(midi_folder: str, reference_folder: str) -> None:
    total = agreed = files = identical_streams = 0
    for ref_path in sorted(Path(reference_folder).glob("*.json")):
        ref = json.loads(ref_path.read_text())
        ours = codec.encode(all_pitched_notes(read_midi(Path(midi_folder) / ref["file"])))
        ref_onsets = [tuple(o) for o in ref["onsets"]]
        lead = ref_onsets[0][1] if ref_onsets else 0
        ref_onsets = Counter((p, s - lead, b) for p, s, b in ref_onsets)
        our_onsets = Counter(onsets(ours))
        common = sum((ref_onsets & our_onsets).values())
        files += 1
        total += max(sum(ref_onsets.values()), sum(our_onsets.values()))
        agreed += common
        ref_events = ref["events"]
        while ref_events and vocab.is_time_shift(ref_events[0]):
            ref_events = ref_events[1:]  # note_seq keeps leading silence; we drop it
        identical_streams += ref_events == ours
        if ref_onsets != our_onsets:
            only_ref = ref_onsets - our_onsets
            only_ours = our_onsets - ref_onsets
            print(
                f"{ref['file']}: {common} agree; only note_seq {sorted(only_ref.elements())[:6]}"
                f" ({sum(only_ref.values())}); only encore {sorted(only_ours.elements())[:6]}"
                f" ({sum(only_ours.values())})"
            )
    print(
        f"{files} files: {agreed} of {total} onsets agree ({agreed / max(total, 1):.4%}); "
        f"{identical_streams} files give identical event streams"
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
