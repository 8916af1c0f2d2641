"""Who listens to our virtual JACK port, remembered, so notes can be ended there after
the port died with its process.

A virtual port is encore's own: SIGKILL, the out-of-memory killer or a crash in native
code take it away with every connection a musician made to it, and the synth behind it
holds what was sounding. Only another process can still reach that synth, and only if it
knows which ports were connected: this witness, running in that other process (the
TUI's screen, or the guardian beside `encore play`), asks JACK now and then and keeps
the last answer. Through the JACK-Client library, as jack_link; where it cannot load,
there is no witness and the rescue says so.
"""

from __future__ import annotations

import threading
import time

from live.core.errors import EncoreError
from live.engine.jack_link import close_client, open_client

LOOK_EVERY = 0.25  # seconds: a connection made and killed within this may be missed
OPEN_WAIT = 2.0
# A port that dies is first cut from its connections, then removed: a look between the two
# sees it alone. What was connected this long before its last sight still counts.
HOLD = 1.0


class ConnectionWitness:
    def __init__(self, client, port_name: str, every: float = LOOK_EVERY):
        self.client = client
        self.port_name = port_name  # the full JACK name of the port watched: encore:encore
        self._seen: dict[str, float] = {}  # a port connected to it -> when last seen so
        self._alive_at = 0.0  # when the watched port was last there
        self._every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="encore-jack-witness", daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, port_name: str, wait: float = OPEN_WAIT, every: float = LOOK_EVERY) -> "ConnectionWitness | None":
        """None where libjack cannot load or the server does not answer in time."""
        client = open_client("encore-witness", wait)
        return cls(client, port_name, every) if client is not None else None

    @property
    def destinations(self) -> tuple[str, ...]:
        """The ports it was connected to in the HOLD before it was last seen: once it is
        gone, that is what it fed (a port a musician unplugged a while before is not)."""
        return tuple(sorted(name for name, seen in self._seen.items() if seen >= self._alive_at - HOLD))

    def look(self, now: float | None = None) -> None:
        """Ask JACK once. While the port exists its connections are remembered with the
        time; once it is gone, nothing changes: that is the point."""
        try:
            connections = self.client.get_all_connections(self.port_name)
        except Exception:  # the port is gone (or not there yet)
            return
        now = time.monotonic() if now is None else now
        self._alive_at = now
        for port in connections:
            self._seen[port.name] = now

    def _watch(self) -> None:
        while not self._stopped.wait(self._every):
            self.look()

    def panic(self, backend_name: str = "jack") -> tuple[list[str], list[str]]:
        """All notes off and all sound off on every channel of every port the watched one
        was connected to: (reached, not reached with why)."""
        from live.engine.ports import panic_port

        reached, missed = [], []
        for name in self.destinations:
            try:
                panic_port(backend_name, name)
                reached.append(name)
            except EncoreError as err:
                missed.append(f"{name} ({err})")
        return reached, missed

    def stop(self) -> None:
        self._stopped.set()
        close_client(self.client)
