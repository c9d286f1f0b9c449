"""collect/proc_facts.py on this machine's real /proc: what is still read from /proc
after the BPF task iterator (the processes it could not say all of), and a kernel text
held open to be read again."""

from __future__ import annotations

import os

from dmabuf_top.collect.parsers.bpf_types import (
    TASK_CMDLINE_ELSEWHERE,
    TASK_KERNEL_THREAD,
    TaskFacts,
)
from dmabuf_top.collect.parsers.procstat import parse_stat
from dmabuf_top.collect.proc_facts import HeldText, open_held, read_bpf_task_leftovers, read_text


def facts(pid: int, flags: int = 0) -> TaskFacts:
    st = parse_stat(read_text(f"/proc/{pid}/stat"))
    return TaskFacts(pid, st.ppid, os.getuid(), st.start_time, "bpf-comm", "bpf cmdline", flags)


def test_complete_records_need_no_proc_read():
    me = os.getpid()
    procs, stats = read_bpf_task_leftovers({me: facts(me)}, {me})
    assert procs == [] and stats == {}


def test_flagged_and_unseen_holders_are_read_from_proc():
    me, parent = os.getpid(), os.getppid()
    tasks = {me: facts(me, TASK_CMDLINE_ELSEWHERE)}
    procs, _ = read_bpf_task_leftovers(tasks, {me, parent})
    got = {p.pid: p for p in procs}
    assert set(got) == {me, parent}  # the parent: a holder the iterator did not see
    st = parse_stat(got[me].stat)  # comm: stat's, the same as /proc/PID/comm
    assert st.pid == me and st.comm == read_text(f"/proc/{me}/comm").rstrip("\n")
    assert got[me].cmdline and got[me].cmdline != "bpf cmdline"


def test_kernel_thread_ancestors_get_their_stat_read():
    me = os.getpid()
    parent = os.getppid()
    tasks = {me: facts(me), parent: facts(parent, TASK_KERNEL_THREAD)}
    _, stats = read_bpf_task_leftovers(tasks, {me})
    assert set(stats) == {parent} and parse_stat(stats[parent]).pid == parent


def test_a_held_text_reads_the_file_as_it_is_now_each_time(tmp_path):
    """Each read starts from the beginning and gives what a fresh open would: the file's
    text of the moment (a regular file rewritten in place), and a /proc seq_file (this
    process's mountinfo) read again gives what a fresh open gives."""
    path = tmp_path / "bufinfo"
    path.write_text("first\n")
    held = open_held(str(path))
    assert held is not None
    try:
        assert held.read() == "first\n" and held.read() == "first\n"
        with open(path, "r+") as f:
            f.write("again!\n")
        assert held.read() == "again!\n" == read_text(str(path))
    finally:
        held.close()
    proc = open_held(f"/proc/{os.getpid()}/mountinfo")
    assert proc is not None
    try:
        before = proc.read()
        assert before == read_text(f"/proc/{os.getpid()}/mountinfo") and before
        assert proc.read() == before
    finally:
        proc.close()
    assert open_held(str(tmp_path / "absent")) is None


def test_a_held_text_that_can_no_longer_be_read_reads_as_none(tmp_path):
    path = tmp_path / "d"
    path.mkdir()
    held = open_held(str(path))  # a directory opens, and read(2) fails with EISDIR
    assert isinstance(held, HeldText)
    try:
        assert held.read() is None
    finally:
        held.close()
