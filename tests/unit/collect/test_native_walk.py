"""The native walk (the shipped collector's ``local`` option, read by native_walk.py): on a
/proc-shaped tree of real 6.1 text (tests/data/vm-6.1: the links, fdinfo, maps, stat and
cmdline of the scenario's processes, and the run with a name holding a newline) it reads
exactly what the Python walk reads; records that are not whole or well formed are
refused whole; the binary runs only when it is a regular file of root (or of this user)
that nobody else may write; LocalBackend falls back to the Python walk and says so once.
The real /proc of real kernels: tests/integration/test_vm_native_walk.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dmabuf_top.collect.local import LocalBackend
from dmabuf_top.collect.native_walk import (
    NativeWalker,
    NativeWalkUnusable,
    open_checked,
    parse_walk,
    shipped_binary,
)
from tests.support.paths import DATA
from tests.unit.collect.test_local import make_proc
from tests.unit.collect.test_native_collector import qemu_aarch64

VM61 = DATA / "vm-6.1"


def _recorded(root: Path, run: Path, pids: dict[str, Path]) -> None:
    """The dma-buf fds and maps of one recorded run, in the process directories ``pids``."""
    links = json.loads((run / "fd-links.json").read_text())
    for path, link in links.items():
        _, _, pid, _, fd = path.split("/")
        p = pids.get(pid)
        if p is None:
            continue
        os.symlink(link, p / "fd" / fd)
        (p / "fdinfo" / fd).write_bytes((run / "fdinfo" / f"{pid}-{fd}.txt").read_bytes())
    for maps in (run / "maps").glob("*.txt"):
        if maps.stem in pids:
            (pids[maps.stem] / "maps").write_bytes(maps.read_bytes())


def real_tree(root: Path) -> Path:
    """A /proc-shaped tree of the recorded 6.1 scenario (its processes' own stat, cmdline
    and comm, the newline run's fds and maps for the pids it shares), with the
    neighbours a walk meets: a process of ordinary fds, a look-alike ``/dmabuf:`` file, a
    name and link with undecodable bytes, a kernel thread, a pid gone but for its
    directory, and files that are not pids."""
    pids: dict[str, Path] = {}
    for src in sorted((VM61 / "proc").iterdir()):
        p = root / src.name
        for sub in ("fd", "fdinfo"):
            (p / sub).mkdir(parents=True)
        for name in ("stat", "cmdline", "comm"):
            (p / name).write_bytes((src / name).read_bytes())
        (p / "maps").write_bytes(b"")
        (p / "cgroup").write_text(f"0::/scene/{src.name}.scope\n")
        pids[src.name] = p
    _recorded(root, VM61, pids)
    info = (VM61 / "fdinfo" / "146-5.txt").read_bytes()
    make_proc(root, 1, {0: "/dev/null", 1: "socket:[77]", 2: "/dmabuf:look-alike"},
              {2: "pos:\t0\nflags:\t02\nmnt_id:\t25\nino:\t9\n"}, "", "init")
    odd = make_proc(root, 900, {}, {}, "", "odd")
    os.symlink(b"/dmabuf:\xff\xfe bytes", os.fsencode(odd / "fd" / "3"))
    (odd / "fdinfo" / "3").write_bytes(info.replace(b"scanout 0", b"caf\xc3\xa9 \xff"))
    make_proc(root, 2, {}, {}, "", "kthreadd")
    (root / "4242").mkdir()
    (root / "self").mkdir()
    (root / "meminfo").write_text("MemTotal:  2048 kB\n")
    return root


def test_the_native_walk_reads_what_the_python_walk_reads(tmp_path):
    tree = real_tree(tmp_path)
    python = LocalBackend(proc=str(tree), walker="python").fetch()
    native = NativeWalker().walk(str(tree))
    assert len(python.procs) == 7 and python.unreadable == []
    assert native.procs == python.procs  # every field, in the same order
    assert native.unreadable == python.unreadable
    assert native.cgroups == python.cgroups
    odd = next(p for p in native.procs if p.pid == 900)
    assert odd.links == {3: os.fsdecode(b"/dmabuf:\xff\xfe bytes")}
    assert "name:\tcaf\u00e9 \\xff" in odd.fdinfo[3]


def test_a_name_with_a_newline_reads_the_same(tmp_path):
    run = VM61 / "newline"
    names = {path.split("/")[2] for path in json.loads((run / "fd-links.json").read_text())}
    names |= {maps.stem for maps in (run / "maps").glob("*.txt")}
    pids = {n: make_proc(tmp_path, int(n), {}, {}, "", "x") for n in sorted(names)}
    _recorded(tmp_path, run, pids)
    python = LocalBackend(proc=str(tmp_path), walker="python").fetch()
    native = NativeWalker().walk(str(tmp_path))
    assert native.procs == python.procs
    assert any("line1\nline2" in t for p in native.procs for t in p.fdinfo.values())


def test_the_arm64_build_walks_alike(tmp_path):
    """The arm64 binary (qemu-user) reads the same records of the same tree."""
    tree = real_tree(tmp_path)
    out = subprocess.run([qemu_aarch64(), shipped_binary("aarch64"), "local", str(tree)],
                         check=True, stdout=subprocess.PIPE, timeout=120).stdout
    python = LocalBackend(proc=str(tree), walker="python").fetch()
    assert parse_walk(out).procs == python.procs and len(python.procs) == 7


def walk_bytes(tree: Path) -> bytes:
    return subprocess.run([shipped_binary(), "local", str(tree)], check=True,
                          stdout=subprocess.PIPE).stdout


@pytest.mark.parametrize("mutate, says", [
    (lambda d: d[:-2], "not whole"),
    (lambda d: d[: d.rindex(b"\np ") + 60] + b"e\n", "past their end|malformed|do not match"),
    (lambda d: d.replace(b"\np ", b"\nq ", 1), "malformed"),
    (lambda d: d.replace(b"\np ", b"\np x", 1), "malformed"),
    (lambda d: d.replace(b"\np ", b"\np -5", 1), "malformed"),
    (lambda d: d.replace(b"\x00", b"", 1), "do not match its fds"),
    (lambda d: d[:-2] + b"p 7 0 0 900 -1 -1 0 -1 0\ne\n", "past their end"),
    (lambda d: b"DMABUF-TOP-COLLECTOR-ERROR cannot list the proc directory\n",
     "failed: cannot list the proc directory"),
    (lambda d: b"DMABUF-TOP-WALK 2\n" + d.split(b"\n", 1)[1], "not whole"),
])
def test_records_not_whole_or_malformed_are_refused_whole(tmp_path, mutate, says):
    data = walk_bytes(real_tree(tmp_path))
    assert len(parse_walk(data).procs) == 7
    with pytest.raises(NativeWalkUnusable, match=says) as e:
        parse_walk(mutate(data))
    assert "\n" not in str(e.value)


def test_only_a_regular_file_nobody_else_may_write_is_run(tmp_path):
    good = tmp_path / "good"
    good.write_bytes(b"x")
    good.chmod(0o755)
    os.close(open_checked(str(good), os.geteuid()))
    (tmp_path / "link").symlink_to(good)
    with pytest.raises(NativeWalkUnusable, match="cannot open"):
        open_checked(str(tmp_path / "link"), os.geteuid())
    with pytest.raises(NativeWalkUnusable, match="not a regular file"):
        open_checked(str(tmp_path), os.geteuid())
    for mode in (0o775, 0o757):
        good.chmod(mode)
        with pytest.raises(NativeWalkUnusable, match="writable by other users"):
            open_checked(str(good), os.geteuid())
    good.chmod(0o755)
    other = os.geteuid() + 1000
    with pytest.raises(NativeWalkUnusable, match="neither root nor this user"):
        open_checked(str(good), other) if os.geteuid() else _owned_by(good, other)


def _owned_by(path: Path, uid: int) -> None:
    os.chown(path, uid, -1)
    open_checked(str(path), 0)


def test_no_binary_for_another_machine():
    with pytest.raises(NativeWalkUnusable, match=r"no native collector for this machine \(riscv"):
        shipped_binary("riscv64")
    assert shipped_binary("x86_64").endswith("collector-x86_64")
    assert shipped_binary("aarch64").endswith("collector-arm64-v8a")


def _script(tmp_path: Path, body: str) -> NativeWalker:
    s = tmp_path / "walker"
    s.write_text("#!/bin/sh\necho ran >> " + str(tmp_path / "runs") + "\n" + body)
    s.chmod(0o755)
    return NativeWalker(path=str(s))


@pytest.mark.parametrize("body, says", [
    ("echo nonsense\n", "output is not whole"),
    ('"$WALK" local "$2"; exit 3\n', "exited with status 3"),
])
def test_a_walker_that_fails_gives_the_python_walk_and_one_line(tmp_path, monkeypatch, body, says):
    tree = real_tree(tmp_path / "proc")
    monkeypatch.setenv("WALK", shipped_binary())
    backend = LocalBackend(proc=str(tree), walker=_script(tmp_path, body))
    python = LocalBackend(proc=str(tree), walker="python").fetch()
    for _ in range(2):
        raw = backend.fetch()
        assert backend.walked_by == "python" and raw.procs == python.procs
        note = [w for w in raw.warnings if w.startswith("native walk not used")]
        assert len(note) == 1 and says in note[0] and note[0].endswith("walked /proc in Python")
    assert (tmp_path / "runs").read_text() == "ran\n"  # tried once, not at every refresh


def test_the_local_backend_walks_natively_by_default(tmp_path):
    tree = real_tree(tmp_path)
    backend = LocalBackend(proc=str(tree), walker=NativeWalker())
    raw = backend.fetch()
    assert backend.walked_by == "native" and backend.walk_note is None
    assert raw.procs == LocalBackend(proc=str(tree), walker="python").fetch().procs
    live = LocalBackend(source="proc")
    live.fetch()
    assert live.walked_by == "native" and live.walk_note is None
    with pytest.raises(ValueError, match="unknown walker"):
        LocalBackend(walker="perl")
