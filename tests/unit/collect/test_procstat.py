"""``/proc/PID/stat`` (parent, start time) through both backends, on REAL processes: a
child whose comm holds spaces, ``)`` and a newline maps a file under a ``/dmabuf``
path (so both backends read it as a possible holder); the local backend, the real
collector under dash, mksh + toybox and busybox, and psutil must agree on its
parent, its start time and its ancestors up to pid 1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from dmabuf_top.collect.adb_stream import collector_script, parse_stream
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.local import LocalBackend
from dmabuf_top.collect.parsers.procstat import parse_stat
from dmabuf_top.collect.proc_facts import read_ancestor_stats, read_text
from dmabuf_top.collect.proc_walk import scan_pid
from dmabuf_top.collect.rawscan import ProcText
from tests.support.rawscans import scene
from tests.support.shells import FLAVOURS, device_shell

#: a comm (15 bytes) that looks like the fields after one
HOSTILE_COMM = "a) S 1 2\nz (q"

CHILD = r"""
import mmap, os, sys
path = os.path.join(sys.argv[1], "dmabuf:x")
with open(path, "wb") as f:
    f.write(b"\0" * 4096)
f = open(path, "r+b")
m = mmap.mmap(f.fileno(), 4096)
with open("/proc/self/comm", "w") as c:
    c.write(sys.argv[2])
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def child(tmp_path: Path) -> Iterator[int]:
    d = tmp_path / "dmabuf-dir"
    d.mkdir()
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(d), HOSTILE_COMM],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
        yield p.pid
    finally:
        p.kill()
        p.wait()


def psutil_start_ticks(pid: int) -> int:
    """psutil's create_time back in clock ticks since boot."""
    seconds = psutil.Process(pid).create_time() - psutil.boot_time()
    return round(seconds * os.sysconf("SC_CLK_TCK"))


def chain(pid: int) -> list[int]:
    """psutil's ancestors of ``pid``, parent first, down to pid 1."""
    return [p.pid for p in psutil.Process(pid).parents()]


def test_parse_stat_splits_at_the_last_paren() -> None:
    text = f"4527 ({HOSTILE_COMM}) R 4522 4522 1307 0 -1 4194304 2940 0 2 0 6 1 0 0 20 0 1 0 "
    text += "110962 12853248 2158 18446744073709551615\n"
    st = parse_stat(text)
    assert st is not None
    assert (st.pid, st.comm, st.state, st.ppid, st.start_time) == (
        4527, HOSTILE_COMM, "R", 4522, 110962,
    )  # fmt: skip
    assert parse_stat(text[: text.index(" 110962")]) is None  # cut before field 22
    for junk in ("", "4527 (x", "x (y) S 1" + " 0" * 30, "1 (y) S -1" + " 0" * 30, ")"):
        assert parse_stat(junk) is None


def test_local_stat_of_a_real_child_is_psutils(child: int) -> None:
    pt = scan_pid(child)
    assert pt is not None and pt.maps and pt.stat is not None
    st = parse_stat(pt.stat)
    assert st is not None and st.comm == HOSTILE_COMM == psutil.Process(child).name()
    assert st.ppid == os.getpid() == psutil.Process(child).ppid()
    assert st.start_time == psutil_start_ticks(child)
    ancestors = read_ancestor_stats([pt])
    assert sorted(ancestors) == sorted(chain(child))
    for pid, text in ancestors.items():
        a = parse_stat(text)
        assert a is not None and a.pid == pid and a.ppid == psutil.Process(pid).ppid()
        assert a.start_time == psutil_start_ticks(pid)


def test_local_backend_scan_has_the_child_and_its_ancestors(child: int) -> None:
    raw = LocalBackend(source="proc").fetch()  # the walk reads the look-alike's mapper
    pt = next(p for p in raw.procs if p.pid == child)
    assert pt.stat is not None  # the state and cpu fields are live: compare what a tree takes
    assert tree_facts(pt.stat) == tree_facts(read_text(f"/proc/{child}/stat"))
    assert tree_facts(pt.stat) is not None
    assert set(chain(child)) <= set(raw.ancestor_stats) | {p.pid for p in raw.procs}


def tree_facts(text: str) -> tuple[int, str, int, int] | None:
    """What a process tree takes from a stat text (not the state: it changes)."""
    st = parse_stat(text)
    return None if st is None else (st.pid, st.comm, st.ppid, st.start_time)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_collector_stat_of_a_real_child(child: int, tmp_path: Path, flavour: str) -> None:
    shell, env = device_shell(flavour, tmp_path)
    r = subprocess.run(
        [*shell, "-c", collector_script(), "dmabuf-top"], env=env, capture_output=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    raw = parse_stream(r.stdout, "2026-01-01T00:00:00Z")
    pt = next(p for p in raw.procs if p.pid == child)
    assert pt.comm == HOSTILE_COMM
    # the tree's facts of the real text, hostile comm (newline and all) included;
    # what changes every refresh (times, faults, sizes) is zeroed on the device
    real = read_text(f"/proc/{child}/stat")
    assert pt.stat is not None and tree_facts(pt.stat) == tree_facts(real)
    fields = pt.stat.rsplit(")", 1)[1].split()
    assert fields[2:19] == ["0"] * 17 and len(fields) == 20, pt.stat
    # every ancestor, read once, each the local backend's text of the same moment
    local = read_ancestor_stats([pt])
    got = {pid: raw.ancestor_stats.get(pid) for pid in local}
    assert sorted(got) == sorted(chain(child))
    assert {pid: tree_facts(t or "") for pid, t in got.items()} == {
        pid: tree_facts(t) for pid, t in local.items()
    }


def test_assemble_ancestors_are_apart_from_the_holders() -> None:
    """Holders get ppid/start_time; their ancestors that hold nothing go to
    Snapshot.ancestors, so process counts and Rss/Pss are unchanged."""
    before = assemble(scene())
    raw = scene()
    stat = "{pid} ({comm}) S {ppid} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0\n"
    a, b = raw.procs  # pids 100 (compositor) and 200 (camera)
    a.stat = stat.format(pid=100, comm="compositor", ppid=50, start=900)
    b.stat = stat.format(pid=200, comm="camera", ppid=100, start=950)
    raw.ancestor_stats = {
        50: stat.format(pid=50, comm="session) S 7", ppid=1, start=300),
        1: stat.format(pid=1, comm="init", ppid=0, start=1),
        77: stat.format(pid=77, comm="unrelated", ppid=1, start=5),
    }
    raw.procs.append(ProcText(pid=300, stat=stat.format(pid=300, comm="x", ppid=1, start=9)))
    snap = assemble(raw)
    assert [(p.pid, p.ppid, p.start_time) for p in snap.processes.values()] == [
        (100, 50, 900), (200, 100, 950),
    ]  # fmt: skip
    assert [(p.pid, p.comm, p.ppid, p.start_time) for p in snap.ancestors.values()] == [
        (1, "init", 0, 1), (50, "session) S 7", 1, 300),
    ]  # fmt: skip
    assert snap.processes.keys() == before.processes.keys()
    assert snap.buffers == before.buffers
    # a stat text of another pid (a reused path, junk) is not this process's
    b.stat = stat.format(pid=201, comm="camera", ppid=100, start=950)
    assert assemble(raw).processes[200].start_time is None
