"""Recordings: lossless replay of delta samples, torn tails at every byte, damage."""

from __future__ import annotations

import gzip

import pytest
import yaml

from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.loader import load_snapshots, loads_snapshots
from dmabuf_top.io.record_reader import cut_sample_note
from dmabuf_top.io.record_writer import DELTA_SCHEMA, RecordEncoder, RecordingWriter
from dmabuf_top.model import CgroupCharge, Process
from tests.support.synth import BOOT, COMMS, MIB, buf, leak_series, snap


def varied_series():
    """Samples exercising every kind of change a delta can carry."""
    a = buf(10, 8 * MIB, "scanout", holders={100: [5]}, maps={100: 1})
    b = buf(11, MIB, None, holders={100: [6], 200: [3]})
    c = buf(12, 2 * MIB, "[bold]\x1bx\tname: yes", exporter="system")  # kernel-only
    s0 = snap([a, b, c], COMMS, t=0)
    s1 = snap([a, b, c], COMMS, t=2)  # nothing changed
    b2 = buf(11, MIB, "renamed", holders={100: [6]})  # name + holders change
    d = buf(13, 4 * MIB, "new", holders={300: [4, 9]}, maps={300: 2})
    s2 = snap([a, b2, c, d], COMMS, t=4, warnings=["1 processes unreadable: run as root"])
    # parents and start times, and the holders' ancestors (a process tree)
    for pid, proc in s2.processes.items():
        proc.ppid, proc.start_time = 50, pid * 10
    s2.ancestors = {1: Process(1, "init", ppid=0, start_time=1), 50: Process(50, "a) b", ppid=1)}
    # the app axis: user, app and cgroup per process, the cgroups' dmem charge
    scope = "/app.slice/app-gnome-org.gnome.Foo-12.scope"
    s2.processes[100].user, s2.processes[100].app = "alice", "org.gnome.Foo"
    s2.processes[100].cgroup = scope
    s2.charges = {scope: CgroupCharge(scope, {"drm/0000:03:00.0/vram0": 4096}, None)}
    comms = {**COMMS, 300: "renamed-proc"}
    s3 = snap([a, d], comms, t=6)  # removals, comm change, warnings cleared
    s3.processes[300].start_time = 4000  # pid 300 reused by another process
    s3.ancestors = {1: Process(1, "init", ppid=0, start_time=1)}
    s3.source.privilege = "limited"
    s3.unreadable_pids = [77]
    s4 = snap([a, d], comms, t=8, boot_id="another-boot")  # reboot: full sample
    return [s0, s1, s2, s3, s4]


def record_text(snaps, **kw) -> str:
    enc = RecordEncoder(interval=2.0, **kw)
    return "".join(enc.encode(s) for s in snaps)


def test_replay_is_lossless():
    snaps = varied_series() + leak_series(6)
    text = record_text(snaps)
    loaded = loads_snapshots(text)
    assert len(loaded) == len(snaps)
    for orig, got in zip(snaps, loaded, strict=True):
        assert got == orig
        assert dump_snapshot(got) == dump_snapshot(orig)


def encode_each(snaps, **kw) -> list[str]:
    enc = RecordEncoder(interval=2.0, **kw)
    return [enc.encode(s) for s in snaps]


def test_buffers_stay_sorted_by_inode():
    a = [buf(ino, holders={200: [ino]}) for ino in (10, 20, 30)]
    s0 = snap(a, COMMS)
    s1 = snap([*a, buf(40, holders={200: [40]})], COMMS, t=1)  # a new, higher inode
    s2 = snap([*a, buf(40), buf(15, holders={300: [3]})], COMMS, t=2)  # a lower one (reuse)
    got = loads_snapshots(record_text([s0, s1, s2]))
    assert [list(g.buffers) for g in got] == [[10, 20, 30], [10, 20, 30, 40], [10, 15, 20, 30, 40]]
    assert [list(g.processes) for g in got][2] == [200, 300]


def test_unchanged_samples_cost_little_and_deltas_are_used():
    snaps = leak_series(3)
    same = [snap(list(snaps[0].buffers.values()), COMMS, t=2 * i) for i in range(50)]
    docs = encode_each(same)
    assert all(len(d) < 130 for d in docs[1:]), max(len(d) for d in docs[1:])
    assert all(d.startswith("--- {") and d.count("\n") == 1 for d in docs[1:])
    kinds = [yaml.safe_load(d)["schema"] for d in encode_each(snaps)]
    assert kinds == ["dmabuf-top/1", DELTA_SCHEMA, DELTA_SCHEMA]
    # every document is YAML: a generic YAML reader sees them all
    assert len(list(yaml.safe_load_all("".join(encode_each(varied_series()))))) == 5


def test_first_sample_is_an_ordinary_snapshot():
    snaps = varied_series()
    first = encode_each(snaps)[0]
    doc = yaml.safe_load(first)
    assert doc["schema"] == "dmabuf-top/1" and doc["record"]["seq"] == 0 and doc["end"] == 0
    assert list(doc)[-1] == "end"
    assert dump_snapshot(loads_snapshots(first)[0]) == dump_snapshot(snaps[0])


def test_full_every_and_reboot_write_full_samples():
    snaps = varied_series()
    docs = [yaml.safe_load(d) for d in encode_each(snaps, full_every=2)]
    assert [d["schema"] == DELTA_SCHEMA for d in docs] == [False, True, False, True, False]
    docs = [yaml.safe_load(d) for d in encode_each(snaps)]
    assert docs[-1]["schema"] == "dmabuf-top/1"  # boot id changed


def test_cut_anywhere_keeps_exactly_the_complete_samples():
    snaps = varied_series()[:4]
    docs = encode_each(snaps)
    text = "".join(docs)
    bounds = [sum(len(d) for d in docs[: i + 1]) for i in range(len(docs))]
    originals = [dump_snapshot(s) for s in snaps]
    near = {c for b in bounds for c in range(b - 40, b + 41)}  # every byte near a boundary
    cuts = sorted({c for c in range(bounds[0], len(text) + 1) if c in near or c % 5 == 0})
    for cut in cuts:
        dropped: list[str] = []
        got = loads_snapshots(text[:cut], where="rec.yaml", dropped=dropped)
        want = sum(1 for b in bounds if b <= cut)
        assert len(got) == want, (cut, repr(text[max(0, cut - 30) : cut]))
        assert [dump_snapshot(s) for s in got] == originals[:want], cut
        # a cut inside a sample is named; a cut between two samples loses nothing
        assert dropped == ([] if cut in bounds else [cut_sample_note("rec.yaml", want)]), cut


def test_cut_inside_the_first_sample_is_an_error():
    text = record_text(varied_series()[:2])
    cut = text.find("\nend: 0\n")
    for at in (cut, cut // 2, 10):
        with pytest.raises(SnapshotError):
            loads_snapshots(text[:at])


def test_gz_cut_at_every_byte(tmp_path):
    snaps = leak_series(4)
    path = tmp_path / "rec.yaml.gz"
    with RecordingWriter(path, interval=1.0) as w:
        sizes = [w.add(s) for s in snaps]
    data = path.read_bytes()
    assert len(data) == sum(sizes)
    originals = [dump_snapshot(s) for s in snaps]
    bounds = [sum(sizes[: i + 1]) for i in range(len(sizes))]
    cut_path = tmp_path / "cut.yaml.gz"
    for cut in range(bounds[0], len(data) + 1, 7):
        cut_path.write_bytes(data[:cut])
        dropped: list[str] = []
        got = load_snapshots(cut_path, dropped)
        want = sum(1 for b in bounds if b <= cut)
        assert [dump_snapshot(s) for s in got] == originals[:want], cut
        assert len(dropped) == (0 if cut in bounds else 1), (cut, dropped)
        assert all(f"gzip member {want + 1}" in d for d in dropped)
    cut_path.write_bytes(data[: bounds[0] - 1])
    with pytest.raises(SnapshotError, match="truncated gzip"):
        load_snapshots(cut_path)
    # the .gz holds the very same text as a plain recording
    assert gzip.decompress(data).decode() == record_text(snaps, full_every=0).replace(
        "interval: 2.0", "interval: 1.0"
    )


def test_damage_in_the_middle_is_an_error():
    docs = encode_each(varied_series()[:4])
    # sample 1 lost its end: the samples after it cannot be trusted
    broken = "".join([docs[0], docs[1].replace(',"end":1}', "}"), *docs[2:]])
    with pytest.raises(SnapshotError, match=r"document 2\).*incomplete"):
        loads_snapshots(broken)
    # sample 1 cut short in the middle of its line
    torn = "".join([docs[0], docs[1][:40] + "\n", *docs[2:]])
    with pytest.raises(SnapshotError, match=r"document 2\).*invalid"):
        loads_snapshots(torn)
    # the full sample 0 without its end line, deltas after it
    with pytest.raises(SnapshotError, match=r"document 1\).*incomplete"):
        loads_snapshots("".join([docs[0].replace("end: 0\n", ""), *docs[1:]]))
    # sample 2 missing entirely: the delta of sample 3 has no base
    with pytest.raises(SnapshotError, match="does not follow"):
        loads_snapshots("".join(docs[:2] + docs[3:]))
    # a delta alone
    with pytest.raises(SnapshotError, match="no full sample"):
        loads_snapshots(docs[2])
    # invalid YAML in the middle, valid samples after it
    garbled = "".join(docs[:2] + ['---\nx: "unterminated\n'] + docs[2:])
    with pytest.raises(SnapshotError, match="invalid YAML"):
        loads_snapshots(garbled)


def test_concatenated_recordings_and_plain_snapshots():
    snaps = varied_series()
    text = record_text(snaps[:2]) + "---\n" + dump_snapshot(snaps[2]) + record_text(snaps[3:])
    got = loads_snapshots(text)
    assert [dump_snapshot(s) for s in got] == [dump_snapshot(s) for s in snaps]
    # cat of two recordings whose second one was cut mid-sample
    second = record_text(snaps[2:])
    cut = second[: second.rfind("end: ")]  # inside its last sample (a full one: new boot)
    got = loads_snapshots(record_text(snaps[:2]) + cut)
    assert [dump_snapshot(s) for s in got] == [dump_snapshot(s) for s in snaps[:4]]


def test_writer_refuses_existing_file_without_overwrite(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("keep me\n")
    with pytest.raises(SnapshotError, match="file exists"):
        RecordingWriter(path, overwrite=False)
    assert path.read_text() == "keep me\n"
    with pytest.raises(SnapshotError, match="cannot write"):
        RecordingWriter(tmp_path / "no" / "r.yaml")


def test_boot_id_in_series():
    assert all(s.boot_id == BOOT for s in leak_series(2))
