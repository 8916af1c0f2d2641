"""Changes the screen shows before the engine's snapshots do.

A key press is shown at once (so a second press builds on the first), but the next
snapshot can still be behind it: sent before the engine read the request, or before its
generator thread applied it. Such a snapshot would take the change back on screen, and the
next press would build on the old value. PendingChanges keeps each change until a
snapshot has it, so it can be shown again on top of the ones that do not.
"""

from __future__ import annotations

from live.engine import protocol

# Snapshots after the engine read a change that may still lack it: its generator thread
# applies it within a few; one the engine refused (it logs why) is let go after these.
LATE_SNAPSHOTS = 20


def shows(status: protocol.Status, request: protocol.Request) -> bool:
    """Whether this snapshot already has what the request asks for."""
    if isinstance(request, protocol.SetControl):
        controls = status.bass if request.voice == "bass" else status.controls
        return controls is None or getattr(controls, request.name, None) == request.value
    if isinstance(request, protocol.SetTempo):
        return status.tempo.bpm == request.bpm
    if isinstance(request, protocol.SetQuantize):
        return status.quantize == protocol.QuantizeStatus(request.grid, request.strength)
    if isinstance(request, protocol.SetLoop):
        return status.loop.bars == request.bars
    if isinstance(request, protocol.SetLaunch):
        return status.loop.launch == request.when
    return True


def _target(request: protocol.Request) -> tuple:
    """What a request changes: a later change of it replaces an earlier one still waiting."""
    if isinstance(request, protocol.SetControl):
        return (protocol.SetControl, request.voice, request.name)
    return (type(request),)


class PendingChanges:
    """The control changes sent to one engine that its snapshots do not show yet."""

    def __init__(self):
        self.sent = 0  # requests sent; a snapshot's requests_read says how many it has read
        self.waiting: list[list] = []  # [number, request, snapshots late]

    def sent_one(self, request: protocol.Request, shown_at_once: bool) -> None:
        self.sent += 1
        if shown_at_once:
            self.waiting = [w for w in self.waiting if _target(w[1]) != _target(request)]
            self.waiting.append([self.sent, request, 0])

    def still_ahead_of(self, status: protocol.Status) -> list[protocol.Request]:
        """The changes to show again on top of this snapshot, oldest first."""
        read = status.requests_read
        kept = []
        for number, request, late in self.waiting:
            if read is None or shows(status, request):
                continue  # an engine that does not count, or it is in
            late += number <= read
            if late <= LATE_SNAPSHOTS:
                kept.append([number, request, late])
        self.waiting = kept
        return [request for _, request, _ in kept]
