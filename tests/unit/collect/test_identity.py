"""A file that only looks like a dma-buf is never taken for one: fds need the
kernel's word (exp_name in fdinfo, the dma-buf filesystem magic, or the pre-5.3
anon_inode link), mappings the dma-buf filesystem's device number."""

from __future__ import annotations

from dmabuf_top.analysis import accounting
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.rawscan import ProcText
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.loader import loads_snapshots
from tests.support.rawscans import MIB, fdinfo, maps_line, scene

#: fdinfo of a regular file: the generic lines only (no size/count/exp_name)
REGULAR_FDINFO = "pos:\t0\nflags:\t0100002\nmnt_id:\t31\nino:\t10\n"


def impostor(ino: int = 10, dev: str = "00:2a") -> ProcText:
    """A process that opened and mapped /dmabuf:fake/x, a regular file whose inode
    number equals a real buffer's."""
    line = maps_line(0x7E0000000000, 4096, ino, "fake/x").replace(" 00:0a ", f" {dev} ")
    return ProcText(
        pid=300, fdinfo={3: REGULAR_FDINFO.replace("ino:\t10", f"ino:\t{ino}")},
        links={3: "/dmabuf:fake/x"}, maps=[line], comm="impostor",
    )


def test_a_regular_file_named_like_a_dmabuf_is_not_one():
    truth = assemble(scene())
    raw = scene()
    raw.procs.append(impostor())
    snap = assemble(raw)
    assert snap.buffers[10].pids == truth.buffers[10].pids == [100, 200]
    assert snap.buffers[10].name == "shared"
    assert 300 not in snap.processes
    assert accounting.process_stats(snap) == accounting.process_stats(truth)
    assert accounting.totals(snap) == accounting.totals(truth)
    assert snap.buffers == truth.buffers
    (warning,) = [w for w in snap.warnings if "named like dma-bufs" in w]
    assert warning.startswith("1 mapping of files named like dma-bufs")
    assert snap.unverified_maps == []


def test_the_dmabuf_device_is_learned_from_a_kernel_wide_source():
    raw = scene()
    raw.dmabuf_dev = None  # no stat of a verified fd: bufinfo lists inode 12
    snap = assemble(raw)
    assert snap.buffers[12].pids == [200] and "maps" in snap.buffers[12].sources
    assert snap.unverified_maps == []


def test_without_a_device_mappings_stay_apart_and_unverified():
    raw = scene(with_kernel=False)
    raw.dmabuf_dev = None
    snap = assemble(raw)
    assert 12 not in snap.buffers  # the map-only buffer cannot be confirmed
    (u,) = snap.unverified_maps
    assert (u.pid, u.inode, u.dev, u.end - u.start) == (200, 12, "00:0a", 2 * MIB)
    assert any("1 mapping named like dma-bufs could not be verified" in w for w in snap.warnings)
    assert snap.buffers[10].pids == [100, 200]  # fds are still the kernel's word


def test_two_devices_for_kernel_listed_inodes_verify_nothing():
    raw = scene()
    raw.dmabuf_dev = None
    raw.procs.append(impostor(ino=12))  # a look-alike with the map-only buffer's inode
    snap = assemble(raw)
    assert {(u.pid, u.dev) for u in snap.unverified_maps} == {(200, "00:0a"), (300, "00:2a")}
    assert snap.buffers[12].holders == []  # still listed by bufinfo, held by nobody known


def test_filesystem_magic_or_the_old_anon_inode_link_confirm_an_fd():
    raw = scene()
    quiet = ProcText(
        pid=400, fdinfo={7: REGULAR_FDINFO.replace("ino:\t10", "ino:\t11")},
        links={7: "/dmabuf:"}, magic_fds={7}, comm="quiet",
    )
    old = ProcText(
        pid=401, fdinfo={8: "pos:\t0\nflags:\t02\nmnt_id:\t9\n"}, fd_inodes={8: 11},
        links={8: "anon_inode:dmabuf"}, comm="old",
    )
    raw.procs += [quiet, old]
    snap = assemble(raw)
    assert snap.buffers[11].pids == [200, 400, 401]
    assert not any("named like dma-bufs" in w for w in snap.warnings)


def test_unverified_maps_round_trip_through_a_snapshot_file():
    raw = scene(with_kernel=False)
    raw.dmabuf_dev = None
    snap = assemble(raw)
    text = dump_snapshot(snap)
    assert "unverified_maps:" in text
    (back,) = loads_snapshots(text)
    assert back.unverified_maps == snap.unverified_maps
    assert "unverified_maps" not in dump_snapshot(assemble(scene()))  # absent when none


def test_fdinfo_helper_is_a_dmabuf_fdinfo():
    assert "exp_name:" in fdinfo(10, MIB, 1) and "exp_name:" not in REGULAR_FDINFO
