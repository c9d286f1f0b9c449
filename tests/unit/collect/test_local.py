"""LocalBackend's fetching on a /proc-shaped tree: fd links are real symlinks, the
fdinfo/maps text is the real 6.1 text captured in the VM. Covers what the VM can't
show on demand: an fd that vanishes between readlink and fdinfo and a pid that exits
mid-scan. (The real /proc path is covered in the VM by test_integration_vm.py.)"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.local import LocalBackend
from dmabuf_top.collect.proc_walk import dmabuf_map_lines, scan_pid
from dmabuf_top.collect.rawscan import RawScan
from tests.support.paths import DATA

VM61 = DATA / "vm-6.1"


def make_proc(root: Path, pid: int, fds: dict[int, str], fdinfo: dict[int, str],
              maps: str = "", comm: str = "x") -> Path:  # fmt: skip
    p = root / str(pid)
    (p / "fd").mkdir(parents=True)
    (p / "fdinfo").mkdir()
    for fd, link in fds.items():
        os.symlink(link, p / "fd" / str(fd))
    for fd, text in fdinfo.items():
        (p / "fdinfo" / str(fd)).write_text(text)
    (p / "maps").write_text(maps)
    (p / "comm").write_text(comm + "\n")
    # fields 3-21, then the start time (22): 4242 ticks
    stat = f"{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560" + " 0" * 12 + " 4242 0\n"
    (p / "stat").write_text(stat)
    (p / "cmdline").write_bytes(b"/usr/bin/" + comm.encode() + b"\0--flag\0")
    return p


def test_scan_reads_only_dmabuf_fds_and_lines(tmp_path):
    info = (VM61 / "fdinfo" / "146-5.txt").read_text()
    maps = (VM61 / "maps" / "146.txt").read_text()
    make_proc(
        tmp_path,
        146,
        {0: "/dev/null", 1: "pipe:[123]", 5: "/dmabuf:scanout 0", 9: "anon_inode:[eventfd]"},
        {5: info, 0: "should not be read"},
        maps,
        "compositor",
    )
    pt = scan_pid(146, str(tmp_path))
    assert pt is not None
    assert list(pt.fdinfo) == [5] and pt.links == {5: "/dmabuf:scanout 0"}
    assert pt.maps and all("/dmabuf" in ln for ln in pt.maps)
    assert pt.cmdline == "/usr/bin/compositor --flag" and pt.uid == os.getuid()
    proc = assemble_one(pt)  # comm: stat's (the walk reads no comm file)
    assert (proc.comm, proc.ppid, proc.start_time) == ("compositor", 1, 4242)


def assemble_one(pt):
    raw = RawScan(taken_at="2026-12-02T00:00:00Z", procs=[pt])
    return assemble(raw).processes[pt.pid]


def test_vanished_fd_and_pid_are_skipped(tmp_path):
    info = (VM61 / "fdinfo" / "146-5.txt").read_text()
    make_proc(tmp_path, 10, {5: "/dmabuf:scanout 0"}, {5: info})
    # fd 7 closed between readlink and fdinfo: no fdinfo file
    make_proc(tmp_path, 11, {7: "/dmabuf:gone"}, {})
    # a pid that exited after the /proc listing: only its directory name is left
    (tmp_path / "12").mkdir()
    # nothing at all
    make_proc(tmp_path, 13, {0: "/dev/null"}, {})
    (tmp_path / "self").mkdir()
    (tmp_path / "meminfo").write_text("MemTotal:        2048 kB\nMemFree:  1 kB\n")
    raw = LocalBackend(proc=str(tmp_path)).fetch()
    assert assemble(raw).kernel.mem_total == 2 << 20
    assert [p.pid for p in raw.procs] == [10]
    assert raw.unreadable == []
    snap = assemble(raw)
    assert [b.name for b in snap.buffers.values()] == ["scanout 0"]


def test_the_walk_reads_the_cgroup_of_holders_only(tmp_path):
    info = (VM61 / "fdinfo" / "146-5.txt").read_text()
    holder = make_proc(tmp_path, 10, {5: "/dmabuf:scanout 0"}, {5: info})
    other = make_proc(tmp_path, 13, {0: "/dev/null"}, {})
    (holder / "cgroup").write_text("0::/user.slice/app.scope\n")
    (other / "cgroup").write_text("0::/other.scope\n")
    cgroups: dict[int, str] = {}
    assert scan_pid(10, str(tmp_path), cgroups) is not None
    assert scan_pid(13, str(tmp_path), cgroups) is None
    assert cgroups == {10: "0::/user.slice/app.scope\n"}
    raw = LocalBackend(proc=str(tmp_path)).fetch()
    assert raw.cgroups == {10: "0::/user.slice/app.scope\n"}


_MAPS_PIECES = st.sampled_from([
    b"7f00-7f10 rw-s 00000000 00:0a 11     /dmabuf:tex atlas",
    b"7f00-7f10 rw-s 00000000 00:0a 12     /dmabuf:",
    b"7f00-7f10 r--p 00000000 08:01 99     /usr/lib/libc.so.6",
    b"/dmabuf", b"\n", b"\n\n", b"\xe2\x82", b"\xff", b"\xc3\xa9", b"name\\012x", b" ",
])


@given(st.lists(_MAPS_PIECES, max_size=30))
def test_dmabuf_map_lines_are_the_lines_of_the_decoded_text(pieces):
    """Searching the bytes gives the very lines (and text) that decoding the whole
    maps text and splitting it gave, undecodable bytes included."""
    maps = b"".join(pieces)
    whole = maps.decode("utf-8", "backslashreplace").split("\n")
    assert dmabuf_map_lines(maps) == [ln for ln in whole if "/dmabuf" in ln]
