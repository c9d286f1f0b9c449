"""The walk's late read (read_late): the fdinfo it gave again from the last walk and that
bufinfo did not confirm, read after the walk only from the process the walk read."""

from __future__ import annotations

from dmabuf_top.collect.fdinfo_reuse import KnownFd
from dmabuf_top.collect.proc_walk import read_late, scan_pid
from dmabuf_top.collect.rawscan import ProcText
from tests.unit.collect.test_local import VM61, make_proc

OLD = "pos:\t0\nflags:\t02\nmnt_id:\t11\nino:\t15\nsize:\t8388608\ncount:\t9\nexp_name:\tdrm\n"


def reused(pid: int) -> ProcText:
    return ProcText(pid=pid, links={5: "/dmabuf:scanout 0", 6: "/dmabuf:"},
                    fdinfo={5: OLD, 6: OLD}, stat="x")


def test_the_same_process_is_read_again(tmp_path):
    info = (VM61 / "fdinfo" / "146-5.txt").read_text()
    make_proc(tmp_path, 146, {5: "/dmabuf:scanout 0"}, {5: info})  # started at 4242
    pt = reused(146)
    read_late(pt, [5, 6], 4242, str(tmp_path))  # fd 6 closed since: left out
    assert pt.fdinfo == {5: info} and list(pt.links) == [5]


def test_a_process_that_is_not_the_one_the_walk_read_gives_nothing(tmp_path):
    info = (VM61 / "fdinfo" / "146-5.txt").read_text()
    make_proc(tmp_path, 146, {5: "/dmabuf:scanout 0"}, {5: info})
    for start in (4241, None):  # another start time (the pid reused), or none read
        pt = reused(146)
        read_late(pt, [5], start, str(tmp_path))
        assert pt.fdinfo == {6: OLD} and list(pt.links) == [6]
    pt = reused(147)  # gone
    read_late(pt, [5, 6], 4242, str(tmp_path))
    assert pt.fdinfo == {} and pt.links == {}


def test_an_fd_that_stat_cannot_prove_the_same_is_read(tmp_path):
    """A known fd whose stat fails (here: a plain symlink to nowhere, not /proc's link to
    the open file) or differs is read, not given again nor skipped."""
    info = (VM61 / "fdinfo" / "146-5.txt").read_text()
    make_proc(tmp_path, 146, {5: "/dmabuf:scanout 0"}, {5: info})
    known = {5: KnownFd(inode=15, size=8388608, exporter="drm", link="/dmabuf:scanout 0", dev=0,
                     text=OLD)}
    reused: dict[int, list[int]] = {}
    pt = scan_pid(146, str(tmp_path), known=known, reused=reused)
    assert pt is not None and pt.fdinfo == {5: info} and reused == {}
