"""Real programs on every kernel of the matrix: GStreamer pipelines and a v4l2-ctl stream
on vivid (tests/support/vm/programs.py) make, share and import real dma-bufs (vivid's
vmalloc and dma-contig buffers, attached to vivid's device when imported). Frozen with
SIGSTOP, `dmabuf-top snapshot` in the guest must equal the kernel's bufinfo (every buffer,
size, exporter, count, attachment) and /proc (the holders: the programs' pids, fds and
mappings, with their real comm and cmdline); a pipeline stopped between two snapshots
shows in `dmabuf-top diff` as its buffers freed.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import yaml

from tests.integration.test_vm_snapshot import dmabuf_top
from tests.support.vm.guest import BUFINFO, assert_no_dmabufs_left, kernel_bufinfo
from tests.support.vm.programs import Scene

pytestmark = pytest.mark.kernels


@pytest.fixture
def scene(vm) -> Iterator[Scene]:
    s = Scene(vm)
    try:
        yield s
    finally:
        s.close()
    assert_no_dmabufs_left(vm, "the programs")


def snapshot(vm, out: str) -> dict:
    r = vm.run([dmabuf_top(vm), "snapshot", "--source", "proc", "-o", out], timeout=300)
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(vm.read_file(out).decode())


def test_snapshot_of_real_programs_is_bufinfo_and_proc(vm, scene):
    scene.start("capture", "playback", "stream")
    with scene.frozen():
        doc = snapshot(vm, "/tmp/programs.yaml")
        rows, total = kernel_bufinfo(vm.read_file(BUFINFO).decode())
        truth = scene.holdings()

    bufs = {b["inode"]: b for b in doc["buffers"]}
    assert set(bufs) == set(rows) and rows
    for ino, k in rows.items():
        got = bufs[ino]
        assert (got["size"], got["exporter"], got["count"], got["name"]) == (
            k["size"], k["exporter"], k["count"], k["name"]), ino
        assert (got["attachments"], got["fences"]) == (k["attachments"], k["fences"]), ino
        holders = {h["pid"]: (h["fds"], [[m["start"], m["end"], m["perms"]] for m in h["maps"]])
                   for h in got["holders"]}
        want = {pid: (sorted(fd for fd, i in t["fds"].items() if i == ino),
                      [m[:3] for m in t["maps"] if m[3] == ino])
                for pid, t in truth.items() if ino in t["fds"].values()
                or any(m[3] == ino for m in t["maps"])}
        assert holders == want, ino
    assert (doc["totals"]["buffers"], doc["totals"]["bytes"]) == total

    # the programs' own buffers: vivid's allocators, and its device where one imports
    pid = {key: scene.pid(key) for key in ("capture", "playback", "stream")}
    exporters = {key: {bufs[i]["exporter"] for i in set(truth[p]["fds"].values())}
                 for key, p in pid.items()}
    assert exporters == {"capture": {"videobuf2_vmalloc"},
                         "playback": {"videobuf2_dma_contig"},
                         "stream": {"videobuf2_dma_contig"}}
    streamed = set(truth[pid["stream"]]["fds"].values())
    assert all(bufs[i]["attachments"] == ["vivid.0"] for i in streamed)
    assert {m[3] for m in truth[pid["stream"]]["maps"]} == streamed  # each one mapped
    assert all(bufs[i]["holders"] for i in bufs)  # no buffer is the kernel's alone here

    procs = {p["pid"]: p for p in doc["processes"]}
    assert set(procs) == set(pid.values())
    for key, p in pid.items():
        argv = scene.programs[key].argv
        assert truth[p]["cmdline"] == argv
        assert procs[p]["comm"] == truth[p]["comm"] == argv[0].rsplit("/", 1)[1][:15]
        assert procs[p]["cmdline"] == " ".join(argv)


def test_a_pipeline_stopped_between_snapshots_shows_as_freed(vm, scene):
    scene.start("capture", "stream")
    with scene.frozen():
        snapshot(vm, "/tmp/before.yaml")
        truth = scene.holdings()
    freed = set(truth[scene.pid("capture")]["fds"].values())
    assert freed
    assert scene.stop("capture") == -signal.SIGTERM
    with scene.frozen():
        snapshot(vm, "/tmp/after.yaml")
    r = vm.run([dmabuf_top(vm), "diff", "--format", "yaml", "/tmp/before.yaml",
                "/tmp/after.yaml"], timeout=300)
    assert r.returncode == 1, r.stderr  # 1: changes
    diff = yaml.safe_load(r.stdout)
    assert {b["inode"] for b in diff["disappeared"]} == freed
    assert diff["appeared"] == [] and diff["changed_buffers"] == []
    assert all(b["exporter"] == "videobuf2_vmalloc" for b in diff["disappeared"])
    r = vm.run([dmabuf_top(vm), "diff", "/tmp/before.yaml", "/tmp/after.yaml"], timeout=300)
    assert "gst-launch-1.0" in r.stdout and "disappeared" in r.stdout, r.stdout

