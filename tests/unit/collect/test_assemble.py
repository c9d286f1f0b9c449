"""assemble(): text from several sources merged into one Snapshot, and the
dmabuf_dump accounting over it."""

from dmabuf_top.analysis import accounting
from dmabuf_top.collect.assemble import NO_KERNEL_SOURCE_WARNING, assemble
from dmabuf_top.collect.rawscan import ProcText, RawScan
from tests.support.rawscans import BUFINFO, MIB, scene


def test_merge_holders_and_kernel_only():
    snap = assemble(scene())
    assert sorted(snap.buffers) == [10, 11, 12, 13]
    shared = snap.buffers[10]
    assert [(h.pid, h.fds) for h in shared.holders] == [(100, [5, 6]), (200, [3])]
    assert shared.count == 3 and shared.name == "shared"
    map_only = snap.buffers[12]
    assert map_only.size == 2 * MIB and map_only.exporter == "system" and map_only.heap
    assert map_only.holders[0].fds == [] and len(map_only.holders[0].maps) == 1
    assert map_only.attachments == ["0000:03:00.0"]
    kernel_only = snap.buffers[13]
    assert kernel_only.holders == [] and kernel_only.name == "kernel only"
    assert snap.buffers[11].name is None
    assert snap.kernel.sources == ["bufinfo"] and snap.kernel.total_bytes == 15 * MIB
    assert snap.warnings == []
    assert snap.processes[100].comm == "compositor" and snap.processes[100].uid == 1000


def test_dmabuf_dump_accounting():
    snap = assemble(scene())
    procs = {p.pid: p for p in accounting.process_stats(snap)}
    # compositor: buffer 10 (shared by 2 pids) held twice by dup
    assert procs[100].rss == 8 * MIB and procs[100].pss == 4 * MIB
    assert procs[100].fds == 2 and procs[100].buffers == 1
    # camera: 10 (half), 11 (alone), 12 (map-only, alone)
    assert procs[200].rss == 14 * MIB and procs[200].pss == 10 * MIB
    assert procs[200].maps == 1 and procs[200].fds == 2
    t = accounting.totals(snap)
    assert t.bytes == 15 * MIB and t.kernel_wide
    assert t.userspace_bytes == 14 * MIB and t.kernel_only_bytes == 1 * MIB
    assert t.userspace_rss == 22 * MIB and t.userspace_pss == 14 * MIB
    exp = {e.name: e for e in accounting.exporter_stats(snap)}
    assert (exp["drm"].buffers, exp["drm"].bytes) == (3, 13 * MIB)
    assert exp["system"].heap and exp["system"].bytes == 2 * MIB


def test_without_kernel_source_map_only_size_is_estimated_and_warned():
    snap = assemble(scene(with_kernel=False))
    assert 13 not in snap.buffers
    assert snap.buffers[12].size == 2 * MIB and snap.buffers[12].exporter is None
    assert NO_KERNEL_SOURCE_WARNING in snap.warnings
    assert any("estimated from the mapping" in w for w in snap.warnings)
    t = accounting.totals(snap)
    assert not t.kernel_wide and t.bytes == t.userspace_bytes == 14 * MIB
    assert t.kernel_only_bytes == 0


def test_unreadable_pids_are_counted():
    raw = scene()
    raw.unreadable = [1, 2, 3]
    snap = assemble(raw)
    assert "3 processes unreadable: run as root" in snap.warnings
    assert snap.source.privilege == "limited"
    raw.unreadable = [7]
    assert "1 process unreadable: run as root" in assemble(raw).warnings
    raw.scan_uid = 0  # root, and still refused (a container, SELinux): no "run as root"
    snap = assemble(raw)
    assert any(w.startswith("1 process unreadable even as root (") for w in snap.warnings)
    assert not any("run as root" in w for w in snap.warnings)


def test_fdinfo_without_ino_uses_fd_inodes():
    text = "pos:\t0\nflags:\t02\nmnt_id:\t11\nsize:\t4096\ncount:\t1\nexp_name:\tsystem\n"
    p = ProcText(pid=7, fdinfo={3: text}, links={3: "anon_inode:dmabuf"}, fd_inodes={3: 99})
    snap = assemble(RawScan(taken_at="t", procs=[p]))
    assert list(snap.buffers) == [99] and snap.buffers[99].size == 4096


def test_sysfs_and_bpf_sources():
    raw = RawScan(
        taken_at="t",
        sysfs=[("5", "drm\n", "4096\n"), ("6", "system\n", "8192\n")],
        bpf="5\n4096\nnamed\ndrm\n6\n8192\n\nsystem\n7\n100\n\nsystem\n",
    )
    snap = assemble(raw)
    assert sorted(snap.buffers) == [5, 6, 7]
    assert snap.buffers[5].name == "named"
    assert snap.kernel.sources == ["sysfs", "bpf"]
    assert snap.kernel.total_bytes == 4096 + 8192 + 100


def test_buffer_created_during_the_walk_is_not_kernel_only():
    raw = scene()
    # bufinfo read before the /proc walk did not have buffer 13 yet (nor 12)
    before = BUFINFO.split(f"{2 * MIB:08d}\t")[0] + f"\nTotal 2 objects, {12 * MIB} bytes\n"
    raw.bufinfo_before = before
    snap = assemble(raw)
    assert 13 not in snap.buffers  # unheld and new: transient, left out
    assert 12 in snap.buffers  # new too, but held (mapped) by pid 200
    t = accounting.totals(snap)
    assert t.bytes == 14 * MIB and t.kernel_only_bytes == 0
