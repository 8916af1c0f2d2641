"""A corpus build over thousands of real MIDI files: in spawned workers, killed and
resumed, stopped by Ctrl-C and SIGTERM, logged; and the file it writes, mapped by
training instead of read whole."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from export.corpus import corpus_build
from export.corpus.build_journal import journal_folder
from export.corpus.building import load_corpus, save_corpus
from export.errors import CorpusError

from midi_builders import varint

FILES = 5000
BROKEN_EVERY = 97  # about 1 % of a real collection will not read


def melody_file(number: int) -> bytes:
    """A one-track file of 8-24 notes in 4/4, its own pitches and rhythm (bytes, not
    mido: 5,000 of them are written in well under a second)."""
    rng = np.random.default_rng(number)
    body = b"\x00\xff\x51\x03" + (500000).to_bytes(3, "big") + b"\x00\xff\x58\x04\x04\x02\x18\x08"
    wait = 0
    for _ in range(int(rng.integers(8, 25))):
        pitch, length = int(rng.integers(48, 84)), int(rng.choice([120, 240, 480]))
        body += varint(wait) + bytes([0x90, pitch, int(rng.integers(40, 127))])
        body += varint(length) + bytes([0x80, pitch, 0])
        wait = int(rng.choice([0, 0, 120, 240]))
    body += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">Lhhh", 6, 0, 1, 480) + b"MTrk" + struct.pack(">L", len(body)) + body


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("collection")
    for number in range(FILES):
        sub = folder / f"set{number % 10}"
        sub.mkdir(exist_ok=True)
        data = melody_file(number)
        if number % BROKEN_EVERY == 0:
            data = data[:30]  # cut short in its first track
        (sub / f"tune{number:05d}.mid").write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def unbroken(big_folder, tmp_path_factory) -> Path:
    """The corpus an unbroken build writes (two workers)."""
    output = tmp_path_factory.mktemp("whole") / "whole.npz"
    corpus_build.build_corpus_file([str(big_folder)], output, jobs=2)
    return output


def double_unless_13(item: int) -> int:
    """For the workers (spawned: a module-level function): item 13 kills its reader."""
    if item == 13:
        os._exit(3)
    return item * 2


def test_a_worker_that_dies_on_a_file_costs_that_file_not_the_build():
    from export.corpus.workers import ordered_map

    with ordered_map(2) as mapped:
        got = list(mapped(double_unless_13, range(40), lambda item: ("lost", item)))
    assert got == [("lost", 13) if i == 13 else i * 2 for i in range(40)]  # in order, nothing else lost


def columns(path: Path) -> dict:
    with np.load(path) as data:
        found = {name: data[name] for name in data.files}
    provenance = json.loads(str(found.pop("provenance")))
    provenance.pop("created")
    return {**found, "provenance": provenance}


def assert_same_corpus(left: Path, right: Path) -> None:
    a, b = columns(left), columns(right)
    assert a.keys() == b.keys()
    for name in a:
        if name == "provenance":
            assert a[name] == b[name]
        else:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def build_command(folder: Path, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "live.app.cli", "corpus", "build", str(folder), "-o", str(output), *extra]


def shards_done(output: Path) -> int:
    done = journal_folder(output) / "done.json"
    try:
        return len(json.loads(done.read_text())["shards"])
    except (OSError, ValueError):
        return 0


def start_and_wait_for_shards(command: list[str], output: Path, shards: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, env=env)
    deadline = time.monotonic() + 120
    while shards_done(output) < shards:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no shard written in 120 s"
        time.sleep(0.05)
    return process


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_build_of_5000_files_killed_in_the_middle_resumes_to_the_same_corpus(big_folder, unbroken, tmp_path):
    whole = load_corpus(unbroken)
    assert len(whole.pieces) == FILES - len(range(0, FILES, BROKEN_EVERY))
    assert whole.provenance["counts"]["skipped"] == len(range(0, FILES, BROKEN_EVERY))

    output = tmp_path / "killed.npz"
    process = start_and_wait_for_shards(build_command(big_folder, output, "--jobs", "2", "--quiet"),
                                        output, 2, dict(os.environ))
    workers = children(process.pid)
    assert len(workers) >= 2
    os.killpg(process.pid, signal.SIGKILL)  # the build, with no chance to tidy up
    process.wait()
    assert not output.exists()
    deadline = time.monotonic() + 10
    while [pid for pid in workers if alive(pid)]:  # its workers do not linger as orphans
        assert time.monotonic() < deadline, "workers outlived their build by 10 s"
        time.sleep(0.1)
    kept = shards_done(output)
    assert 2 <= kept < FILES // corpus_build.SHARD_FILES

    heard = []
    corpus_build.build_corpus_file([str(big_folder)], output, jobs=1, say=heard.append)
    (line,) = heard
    read_before = int(line.split(": ")[1].split(" of ")[0].replace(",", ""))
    assert read_before >= 800 and f"of {FILES:,} files already read" in line
    assert not journal_folder(output).exists()  # a finished build tidies its journal away
    assert_same_corpus(unbroken, output)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_keeps_what_was_read_says_so_in_a_line_and_the_same_command_goes_on(
        big_folder, unbroken, tmp_path, stop):
    output = tmp_path / "stopped.npz"
    command = build_command(big_folder, output, "--jobs", "2", "--quiet")  # no log line every 1,000 files
    process = start_and_wait_for_shards(command, output, 1, dict(os.environ))
    os.killpg(process.pid, stop)  # as a terminal's Ctrl-C reaches the whole group
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # no traceback from the build or any worker
    assert "interrupted:" in lines[0] and f"of {FILES:,} files read and kept in {journal_folder(output)}" in lines[0]
    assert "give the same command" in lines[0]
    assert shards_done(output) >= 1 and not output.exists()

    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming the stopped build" in done.stderr and f"wrote {output}" in done.stdout
    assert_same_corpus(unbroken, output)


def test_a_stopped_build_of_other_options_or_one_still_running_is_refused_in_one_line_and_kept(big_folder, tmp_path):
    output = tmp_path / "c.npz"
    journal = corpus_build.start([str(big_folder)], journal_folder(output), 0, (120.0, 120.0), 10, True,
                                 (0.8, 0.1, 0.1), "beats", None)
    corpus_build.collect(journal)
    with pytest.raises(CorpusError, match=r"another build into the same corpus is running"):
        corpus_build.build_corpus_file([str(big_folder)], output, limit=10)  # while that one holds it
    journal.close()  # as its process ends
    with pytest.raises(CorpusError, match=r"holds a stopped build of other --limit; give the same command "
                                          r"to resume it, or delete that folder to start over"):
        corpus_build.build_corpus_file([str(big_folder)], output, limit=20)
    assert journal_folder(output).is_dir()
    corpus_build.build_corpus_file([str(big_folder)], output, limit=10)  # the same command: it goes on
    assert load_corpus(output).provenance["counts"]["pieces"] == 10 - 1  # tune00000 is broken
    assert not journal_folder(output).exists()


def test_off_a_terminal_the_build_logs_a_line_every_n_files(big_folder, tmp_path):
    output = tmp_path / "logged.npz"
    done = subprocess.run(build_command(big_folder, output, "--limit", "250", "--log-every", "100"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    logged = [line for line in done.stderr.splitlines() if line.startswith(f"reading {big_folder}: ")]
    assert [line.split(": ")[1].split(" ")[0] for line in logged] == ["100/250", "200/250"]
    assert "skipped" in logged[0]  # tune00000 is one of the broken


def is_mapped(array: np.ndarray) -> bool:
    while array is not None:
        if isinstance(array, np.memmap):
            return True
        array = array.base
    return False


def test_a_mapped_corpus_gives_the_same_pieces_and_reads_nothing_until_used(unbroken):
    loaded, mapped = load_corpus(unbroken), load_corpus(unbroken, mmap=True)
    assert is_mapped(mapped.pieces[0].notes) and not is_mapped(loaded.pieces[0].notes)
    assert [p.name for p in mapped.pieces] == [p.name for p in loaded.pieces]
    for a, b in zip(loaded.pieces, mapped.pieces):
        np.testing.assert_array_equal(a.notes, b.notes)
        np.testing.assert_array_equal(a.events, b.events)


def test_a_corpus_written_before_notes_were_stored_still_loads_and_maps_as_read(unbroken, tmp_path):
    old = tmp_path / "old.npz"
    with np.load(unbroken) as data:
        np.savez_compressed(old, **{name: data[name] for name in data.files})
    corpus = load_corpus(old, mmap=True)
    assert not is_mapped(corpus.pieces[0].notes)
    np.testing.assert_array_equal(corpus.pieces[5].notes, load_corpus(unbroken).pieces[5].notes)
    resaved = save_corpus(corpus, tmp_path / "resaved.npz")
    assert is_mapped(load_corpus(resaved, mmap=True).pieces[0].notes)


def test_a_full_disk_is_one_line_that_keeps_what_was_read(big_folder, tmp_path, monkeypatch):
    import errno

    from export.corpus.build_journal import BuildJournal

    output = tmp_path / "full.npz"
    real_add, calls = BuildJournal.add_shard, []

    def add_until_full(self, source, reads):
        calls.append(len(reads))
        if len(calls) == 2:  # the second shard finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device", str(self.folder / "shard-00001.npz.tmp"))
        real_add(self, source, reads)

    monkeypatch.setattr(BuildJournal, "add_shard", add_until_full)
    monkeypatch.setattr(corpus_build, "SHARD_FILES", 100)
    with pytest.raises(CorpusError) as full:
        corpus_build.build_corpus_file([str(big_folder)], output, limit=300)
    assert "No space left on device" in str(full.value) and "free some space" in str(full.value)
    assert "\n" not in str(full.value)
    monkeypatch.setattr(BuildJournal, "add_shard", real_add)
    heard = []
    corpus_build.build_corpus_file([str(big_folder)], output, limit=300, say=heard.append)
    assert "100 of 300 files already read" in heard[0]
    counts = load_corpus(output).provenance["counts"]
    assert counts["pieces"] + counts["skipped"] == 300


def test_a_meter_that_keeps_nothing_keeps_the_reading_for_the_next_try(big_folder, tmp_path):
    output = tmp_path / "meters.npz"
    kept = r"no piece of .* is in 3/4 .*what was read is kept in .*meters\.npz\.partial"
    with pytest.raises(CorpusError, match=kept):
        corpus_build.build_corpus_file([str(big_folder)], output, limit=50, meters=["3/4"])
    heard = []
    corpus_build.build_corpus_file([str(big_folder)], output, limit=50, meters=["4/4"], say=heard.append)
    assert "50 of 50 files already read" in heard[0]  # nothing read twice
    assert load_corpus(output).provenance["meters_kept"] == ["4/4"]


def test_a_damaged_journal_is_one_line_naming_the_folder_to_delete(big_folder, tmp_path):
    output = tmp_path / "damaged.npz"
    journal = corpus_build.start([str(big_folder)], journal_folder(output), 0, (120.0, 120.0), 20, True,
                                 (0.8, 0.1, 0.1), "beats", None)
    corpus_build.collect(journal)
    journal.close()
    (journal.folder / journal.shards[0]["file"]).write_bytes(b"PK\x03\x04 not a shard")
    with pytest.raises(CorpusError, match=r"shard-00000\.npz: a shard of the stopped build is damaged .*delete"):
        corpus_build.build_corpus_file([str(big_folder)], output, limit=20)
    (journal.folder / journal.shards[0]["file"]).unlink()
    with pytest.raises(CorpusError, match=r"a stopped build's journal that cannot be read \(a shard it names is "
                                          r"missing\); delete that folder"):
        corpus_build.build_corpus_file([str(big_folder)], output, limit=20)
