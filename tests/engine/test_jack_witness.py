"""The witness's memory of who listened to a port, with a stand-in for JACK's client (the
real one is in the SIGKILL tests of test_play_jack.py and test_tui.py): a port that dies
is first cut from its connections, then removed, and a look may fall between the two."""

from types import SimpleNamespace

from live.engine.jack_witness import HOLD, ConnectionWitness


class StandInClient:
    """What JACK answers for the port: its connections, or an error once it is gone."""

    def __init__(self):
        self.connections: list[str] | None = []

    def get_all_connections(self, name):
        if self.connections is None:
            raise RuntimeError(f"no port {name}")
        return [SimpleNamespace(name=n) for n in self.connections]

    def close(self):
        pass


def witness(client):
    return ConnectionWitness(client, "encore:encore", every=3600)  # looks only when told


def test_what_was_connected_just_before_the_port_died_is_still_its_destination():
    client = StandInClient()
    seen = witness(client)
    try:
        client.connections = ["synth:midi_in"]
        seen.look(now=10.0)
        client.connections = []  # the kill: cut from its connections ...
        seen.look(now=10.2)
        client.connections = None  # ... then removed
        seen.look(now=10.4)
        assert seen.destinations == ("synth:midi_in",)
    finally:
        seen.stop()


def test_a_synth_unplugged_long_before_is_not_sent_the_panic():
    client = StandInClient()
    seen = witness(client)
    try:
        client.connections = ["old:in", "synth:in"]
        seen.look(now=0.0)
        client.connections = ["synth:in"]  # the musician unplugged one
        for tick in range(1, 10):
            seen.look(now=tick * 0.5)
        assert seen.destinations == ("synth:in",)
        client.connections = None
        seen.look(now=5.0 + HOLD)
        assert seen.destinations == ("synth:in",)  # gone: what it last fed stands
    finally:
        seen.stop()
