"""encore engine: the live shell: threads, ports, input, knob maps, MIDI clock, the engine process, signals."""
