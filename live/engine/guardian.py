"""A watchdog process for a set played to a device port.

encore ends every note on every exit it can see. It cannot see SIGKILL, the kernel's
out-of-memory killer or a crash in native code (a MIDI driver, onnxruntime): then the
synth would hold its notes for ever. So `encore play` starts this small process beside
it, joined by a pipe. On a clean stop encore writes CLEAN and closes the pipe; if the
pipe closes without it, encore died, and the guardian sends the MIDI panic (CC 123 and
CC 120 on every channel) to the device port itself. A virtual port dies with encore and
takes its connections along: on JACK the guardian watches who is connected to it
(live.engine.jack_witness) and sends the panic there instead.

It imports nothing of MIDI until it has to, and ignores the terminal's signals: Ctrl-C
reaches encore, which stops cleanly and then releases the guardian.
"""

from __future__ import annotations

import os
import subprocess
import sys

CLEAN = b"clean\n"
RELEASE_WAIT_SECONDS = 2.0


class Guardian:
    """encore's end of the pipe."""

    def __init__(self, backend_name: str, port_name: str, virtual: bool = False):
        """port_name: the device port played to; virtual: our own virtual JACK port (its
        full name), whose connections are watched instead."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "live.engine.guardian", backend_name, port_name, str(os.getpid()),
             *(["virtual"] if virtual else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # no terminal signal for it: it ends when encore has
        )

    def release(self) -> None:
        """The set ended cleanly (its notes are off): the guardian leaves without a word."""
        try:
            self.process.stdin.write(CLEAN)
            self.process.stdin.close()
        except OSError:
            pass  # it is gone already
        try:
            self.process.wait(timeout=RELEASE_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()


def watch(backend_name: str, port_name: str, player: str, virtual: str = "") -> int:
    from live.signals import ignore_stop_signals

    ignore_stop_signals()  # it outlives encore's terminal on purpose
    witness = None
    if virtual:
        from live.engine.jack_witness import ConnectionWitness

        witness = ConnectionWitness.start(port_name)
    heard = sys.stdin.buffer.read()  # until encore closes the pipe, or dies
    if heard.endswith(CLEAN):
        return 0
    # encore's pid from its command line: once it is gone, getppid() names init instead
    head = f"the encore process {player} ended without its clean-up (killed or crashed)"
    if witness is not None:
        reached, missed = witness.panic(backend_name)
        if reached:
            print(f"encore: {head}; all notes off sent to {', '.join(reached)}, which its virtual port fed",
                  file=sys.stderr, flush=True)
        if missed:
            print(f"encore: {head}, and all notes off could not reach {', '.join(missed)}",
                  file=sys.stderr, flush=True)
        return 1 if missed else 0
    from live.core.errors import EncoreError
    from live.engine.ports import panic_port

    try:
        panic_port(backend_name, port_name)
    except EncoreError as err:
        print(f"encore: {head}, and all notes off could not reach {port_name!r}: {err}",
              file=sys.stderr, flush=True)
        return 1
    print(f"encore: {head}; all notes off sent to {port_name!r}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(watch(*sys.argv[1:5]))
