"""encore files: MIDI files, folder scans, output paths, the recorder, audio, primers from files."""
