"""What the /proc walk keeps of a walk to give again (known_fds), and when bufinfo gives
the count that a reused fdinfo text would otherwise give (counted_buffers): on the
real 6.1 texts captured in the VM."""

from __future__ import annotations

import os

from dmabuf_top.collect.fdinfo_reuse import BUFFER, counted_buffers, known_fds
from dmabuf_top.collect.parsers.bufinfo import parse_bufinfo
from dmabuf_top.collect.rawscan import ProcText
from tests.support.paths import DATA

VM61 = DATA / "vm-6.1"
DEV = (0, 8)


def holder(pid: int = 146) -> ProcText:
    fdinfo = {fd: (VM61 / "fdinfo" / f"146-{fd}.txt").read_text() for fd in (4, 5)}
    links = {4: "/dmabuf:", 5: "/dmabuf:scanout 0"}
    return ProcText(pid=pid, links=links, fdinfo=fdinfo)


def test_known_are_the_kernel_verified_fds_of_processes_with_a_start_time():
    pt, gone = holder(), holder(147)
    known = known_fds([pt, gone], {146: 4242, 147: None}, DEV, {})
    assert list(known) == [146]
    start, fds, buffers = known[146]
    assert start == 4242 and sorted(fds) == [4, 5]
    assert buffers == {fds[4][BUFFER], fds[5][BUFFER]}  # for one subset test against bufinfo's
    assert (fds[5].inode, fds[5].size, fds[5].exporter) == (15, 8388608, "drm")
    assert fds[5].dev == os.makedev(*DEV)
    assert fds[5].text is pt.fdinfo[5]
    assert known_fds([pt], {146: 4242}, None, {}) == {}  # no verified dma-buf device


def test_an_fd_whose_link_names_another_name_than_fdinfo_is_not_kept():
    pt = holder()
    pt.links[5] = "/dmabuf:renamed since"  # renamed between the readlink and the fdinfo read
    pt.fdinfo[7] = "pos:\t0\nflags:\t02\nmnt_id:\t9\nino:\t99\n"  # a file named /dmabuf:x
    pt.links[7] = "/dmabuf:x"
    assert sorted(known_fds([pt], {146: 1}, DEV, {})[146][1]) == [4]


def test_an_entry_given_again_is_kept_not_parsed_again():
    pt = holder()
    first = known_fds([pt], {146: 1}, DEV, {})
    again = known_fds([pt], {146: 1}, DEV, first)
    assert again[146][1][5] is first[146][1][5]
    assert known_fds([pt], {146: 2}, DEV, first)[146][1][5] is not first[146][1][5]  # new process


def test_bufinfo_gives_the_count_only_of_its_record_of_the_same_buffer():
    fds = known_fds([holder()], {146: 1}, DEV, {})[146][1]
    index: dict = {}
    for e in parse_bufinfo((VM61 / "bufinfo.txt").read_text()).entries:
        index.setdefault(e.inode, []).append(e)
    assert fds[5][BUFFER] in counted_buffers(index)
    assert known_fds([holder()], {146: 1}, DEV, {})[146][2] <= counted_buffers(index)
    assert fds[5][BUFFER] not in counted_buffers({})  # freed since the walk, or no bufinfo
    other = fds[5]._replace(size=4096)  # a record of that inode, but not that buffer's
    assert other[BUFFER] not in counted_buffers(index)
    uncounted = {ino: [e.__class__(**{**vars(e), "count": None}) for e in recs]
                 for ino, recs in index.items()}
    assert fds[5][BUFFER] not in counted_buffers(uncounted)  # a record without a count


def test_a_process_whose_fds_were_all_given_again_keeps_its_entries_as_they_are():
    pt = holder()
    first = known_fds([pt], {146: 1}, DEV, {})
    assert known_fds([pt], {146: 1}, DEV, first, same={146})[146][1] is first[146][1]
    new = known_fds([pt], {146: 2}, DEV, first, same={146})  # another process, that pid
    assert new[146][1] is not first[146][1] and new[146][1] == first[146][1]
