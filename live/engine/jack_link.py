"""Our output's JACK connection to the port we play to, watched as a connection.

A JACK connection dies with either of its ports and does not come back by itself: a synth
whose port vanished for 80 ms and returned under the same name is no longer connected to
us. Looking the name up now and then misses such a gap; asking whether the connection
still stands does not, however short the gap was. Through the JACK-Client library (it
loads libjack, which a JACK server brings); where it cannot load, None and the name
check alone.
"""

from __future__ import annotations

import contextlib
import io
import threading

OPEN_WAIT = 2.0  # seconds a JACK server may take to take the watch's client
CLOSE_WAIT = 1.0


def open_client(name: str, wait: float = OPEN_WAIT):
    """A JACK-Client client, or None where libjack cannot load or the server does not
    answer within `wait` (it opens in a thread of its own, so nothing waits longer)."""
    made: list = []

    def make() -> None:
        try:
            import jack

            with contextlib.redirect_stderr(io.StringIO()):
                made.append(jack.Client(name, no_start_server=True))
        except Exception:  # no libjack, no server, an old cffi
            pass

    opener = threading.Thread(target=make, name=f"{name}-open", daemon=True)
    opener.start()
    opener.join(wait)
    return made[0] if made else None


class JackLink:
    def __init__(self, client, destination: str):
        self.client = client
        self.destination = destination  # the full JACK name of the port we play to
        self.source: str | None = None  # ours, found by attach()

    @classmethod
    def open(cls, destination: str, wait: float = OPEN_WAIT) -> "JackLink | None":
        """None where the library cannot load or the server does not answer in time: a
        watch must never be what holds a set up (the client opens in a thread of its own)."""
        client = open_client("encore-watch", wait)
        return cls(client, destination) if client is not None else None

    def _sources(self) -> set[str]:
        try:
            return {p.name for p in self.client.get_all_connections(self.destination) if p.is_output}
        except Exception:  # the destination is gone
            return set()

    def attach(self, open_port):
        """Open our output with open_port() and learn which JACK port it is: the one that
        was not connected to the destination before."""
        before = self._sources()
        opened = open_port()
        new = self._sources() - before
        self.source = next(iter(new)) if len(new) == 1 else None
        return opened

    def intact(self) -> bool:
        """Our output is still connected (True when we never learned which port is ours)."""
        if self.source is None:
            return True
        return self.source in self._sources()

    def destination_present(self) -> bool:
        try:
            self.client.get_port_by_name(self.destination)
            return True
        except Exception:
            return False

    def reconnect(self) -> bool:
        try:
            self.client.connect(self.source, self.destination)
            return True
        except Exception:
            return False

    def close(self, wait: float = CLOSE_WAIT) -> None:
        close_client(self.client, wait)


def close_client(client, wait: float = CLOSE_WAIT) -> None:
    """Close a client, waiting at most `wait`: jack_client_close can block for seconds on
    a busy server, and an exit must not wait on a watch."""
    def close() -> None:
        with contextlib.suppress(Exception):
            client.close()

    closer = threading.Thread(target=close, name="encore-jack-close", daemon=True)
    closer.start()
    closer.join(wait)
