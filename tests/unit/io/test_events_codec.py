"""Events in recordings (io/events_codec.py): written before their sample in the same
write, loaded back in order with the lost count; recordings without them load as
before; a recorder cut mid-write keeps every complete sample; a malformed event is
one line naming it."""

from __future__ import annotations

import json

import pytest

from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.events_codec import events_line
from dmabuf_top.io.loader import load_snapshots, loads_snapshots
from dmabuf_top.io.record_writer import RecordingWriter
from tests.support.events_data import vm_events
from tests.support.synth import leak_series


def write(path, snaps, batches, losts):
    with RecordingWriter(path, interval=2.0) as w:
        for s, ev, lost in zip(snaps, batches, losts, strict=True):
            w.add(s, ev, lost)


def test_events_round_trip_between_their_samples(tmp_path):
    ev = vm_events()
    snaps = leak_series(4)
    path = tmp_path / "r.yaml"
    write(path, snaps, [[], ev[:4], [], ev[4:]], [0, 0, 3, 3])
    text = path.read_text()
    assert text.count('--- {"schema":"dmabuf-top-events/1"') == 3  # the lost count changed
    loaded = load_snapshots(path)
    assert list(loaded) == snaps
    assert loaded.events == ev and loaded.events_lost == 3


def test_a_recording_without_events_loads_as_before(tmp_path):
    path = tmp_path / "r.yaml"
    write(path, leak_series(3), [[], [], []], [0, 0, 0])
    assert "dmabuf-top-events" not in path.read_text()
    loaded = load_snapshots(path)
    assert len(loaded) == 3 and loaded.events == [] and loaded.events_lost == 0


def test_cut_inside_a_sample_after_its_events_keeps_the_complete_samples(tmp_path):
    path = tmp_path / "r.yaml"
    write(path, leak_series(3), [[], [], vm_events()], [0, 0, 0])
    data = path.read_bytes()
    last = data.rindex(b"--- {\"schema\":\"dmabuf-top/1-delta\"")
    for cut in range(last - 50, len(data) - 1, 7):
        assert len(loads_snapshots(data[:cut].decode())) == 2


@pytest.mark.parametrize("bad", [
    [1.0, "explode", 1, "c", 1, "drm", 1, None, None],  # no such event
    [1.0, "export", -1, "c", 1, "drm", 1, None, None],  # pid
    [1.0, "export", 1, "c" * 300, 1, "drm", 1, None, None],  # unbounded text
    [1.0, "export", 1, "c", 1, "drm", 1, None],  # a field short
    "export",
    # numbers no event has, which later made float(), datetime or Perfetto's varints
    # raise (a traceback from --load, suspects, export)
    [10**400, "export", 1, "c", 1, "drm", 1, None, None],  # time: OverflowError in float()
    [1e308, "export", 1, "c", 1, "drm", 1, None, None],  # time: past any clock
    [-1e18, "export", 1, "c", 1, "drm", 1, None, None],  # time: before 1970
    [float("nan"), "export", 1, "c", 1, "drm", 1, None, None],  # time: NaN
    [1.0, "export", 10**30, "c", 1, "drm", 1, None, None],  # pid past u32
    [1.0, "export", 1, "c", 2**64, "drm", 1, None, None],  # inode past u64
    [1.0, "export", 1, "c", 1, "drm", 10**40, None, None],  # size past u64
    [1.0, "fd", 1, "c", 1, "drm", 1, 2**40, None],  # fd past i32
])
def test_a_malformed_event_is_one_line(bad):
    doc = json.loads(events_line([], 0)[4:])
    doc["events"] = [bad]
    snap_doc = leak_series(1)
    from dmabuf_top.io.record_writer import RecordEncoder

    text = RecordEncoder().encode(snap_doc[0]) + "--- " + json.dumps(doc) + "\n"
    with pytest.raises(SnapshotError, match=r"^x \(document 2\): malformed event") as e:
        loads_snapshots(text, where="x")
    assert "\n" not in str(e.value)


def test_events_of_several_loaded_files_keep_time_order_and_lives(tmp_path):
    """``--load a.yaml b.yaml`` (given in either order) is one recording: its events
    in time order, and each buffer's life as in one recording of them all."""
    from dmabuf_top.analysis.lifecycle import buffer_stories
    from dmabuf_top.collect.file import FileBackend
    from dmabuf_top.io.loader import load_files

    ev = vm_events()
    snaps = leak_series(4)
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    cut = 5  # inside the heap buffer's life: its release is in the second file
    write(first, snaps[:2], [[], ev[:cut]], [0, 1])
    write(second, snaps[2:], [[], ev[cut:]], [0, 2])
    for order in ([first, second], [second, first]):
        loaded = load_files(order)
        assert [s.taken_at for s, _ in loaded] == [s.taken_at for s in snaps]
        backend = FileBackend(loaded)
        assert list(backend.events) == ev and backend.events_lost == 3
        assert buffer_stories(backend.events) == buffer_stories(ev)
    lives = buffer_stories(load_files([second, first]).events)
    heap = lives[ev[0].inode]
    assert heap.maker is not None and heap.released is not None and heap.devices == ["vgem"]


def test_a_gz_recording_with_events_round_trips_through_the_bounded_inflate(tmp_path):
    from dmabuf_top.io import loader

    ev = vm_events()
    snaps = leak_series(3)
    path = tmp_path / "r.yaml.gz"
    write(path, snaps, [ev[:3], [], ev[3:]], [0, 0, 4])
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    loaded = load_snapshots(path)
    assert list(loaded) == snaps and loaded.events == ev and loaded.events_lost == 4
    # the loader inflates through gunzip_complete, bounded: one byte short is refused
    size = len(loader.read_text(path).encode())
    data = path.read_bytes()
    assert len(loader.gunzip_complete(data, "r", limit=size)) == size
    with pytest.raises(SnapshotError, match=r"^r: exceeds .* \(decompressed\): refusing$"):
        loader.gunzip_complete(data, "r", limit=size - 1)


def test_a_recording_made_before_events_loads_without_them():
    """tests/data/vm-6.1-leak.yaml was recorded before events existed."""
    from dmabuf_top.io.loader import load_files
    from tests.support.pilot import VM_RECORDING

    assert "dmabuf-top-events" not in VM_RECORDING.read_text()
    loaded = load_files([VM_RECORDING])
    assert len(loaded) == 12 and loaded.events == [] and loaded.events_lost == 0


def test_events_with_numbers_out_of_range_are_one_line_for_every_command(tmp_path):
    """A crafted recording: ``--once``, ``suspects`` and both exports say one line and
    exit 2 (they ended in OverflowError / ValueError tracebacks)."""
    import subprocess
    import sys

    from tests.support.paths import DATA, REPO

    text = (DATA / "vm-6.18-events" / "recording.yaml").read_text()
    first = text.index('"events":[[') + len('"events":[[')
    for n, value in enumerate(("1" + "0" * 400, "1e308", "-1e18", "NaN")):
        bad = tmp_path / f"bad{n}.yaml"
        bad.write_text(text[:first] + value + text[text.index(",", first):])
        commands = [["--load", str(bad), "--once"]]
        if n == 0:  # one loader under all: the other commands once
            commands += [["suspects", str(bad)],
                         ["export", str(bad), "-o", str(tmp_path / "o.pftrace")],
                         ["export", str(bad), "-o", str(tmp_path / "o.json")]]
        for args in commands:
            r = subprocess.run([sys.executable, "-m", "dmabuf_top", *args], cwd=REPO,
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 2 and r.stdout == "", (args, r.stderr)
            assert r.stderr.startswith("dmabuf-top: error: ") and "malformed event" in r.stderr
            assert r.stderr.count("\n") == 1, r.stderr
