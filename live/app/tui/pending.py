"""Changes the screen shows before the engine's snapshots do.

A key press is shown at once (so a second press builds on the first), but the next
snapshot can still be behind it: sent before the engine read the command, or before its
generator thread applied it. Such a snapshot would take the change back on screen, and the
next press would build on the old value. PendingChanges keeps each change until a
snapshot has it, so it can be shown again on top of the ones that do not.
"""

from __future__ import annotations

# Snapshots after the engine read a change that may still lack it: its generator thread
# applies it within a few; one the engine refused (it logs why) is let go after these.
LATE_SNAPSHOTS = 20


def shows(status: dict, command: tuple) -> bool:
    """Whether this snapshot already has what the command asks for."""
    kind, *rest = command
    if kind == "set":
        return status["controls"].get(rest[0]) == rest[1]
    if kind == "tempo":
        return status["tempo"]["bpm"] == rest[0]
    if kind == "quantize":
        return status["quantize"] == {"grid": rest[0], "strength": rest[1]}
    return True


def _target(command: tuple) -> tuple:
    """What a command changes: a later change of it replaces an earlier one still waiting."""
    return command[:2] if command[0] == "set" else command[:1]


class PendingChanges:
    """The control changes sent to one engine that its snapshots do not show yet."""

    def __init__(self):
        self.sent = 0  # commands sent; a snapshot's commands_read says how many it has read
        self.waiting: list[list] = []  # [number, command, snapshots late]

    def sent_one(self, command: tuple, shown_at_once: bool) -> None:
        self.sent += 1
        if shown_at_once:
            self.waiting = [w for w in self.waiting if _target(w[1]) != _target(command)]
            self.waiting.append([self.sent, command, 0])

    def still_ahead_of(self, status: dict) -> list[tuple]:
        """The changes to show again on top of this snapshot, oldest first."""
        read = status.get("commands_read")
        kept = []
        for number, command, late in self.waiting:
            if read is None or shows(status, command):
                continue  # an engine that does not count, or it is in
            late += number <= read
            if late <= LATE_SNAPSHOTS:
                kept.append([number, command, late])
        self.waiting = kept
        return [command for _, command, _ in kept]
