"""The real `dmabuf-top` on a real kernel: Debian 6.1 with vgem in the test VM.

tests/support/vm/scenario.py builds named (spaces, 31 bytes, markup + ESC, tab), unnamed,
fork-shared, SCM_RIGHTS-shared, dup'ed, mapped-then-closed and kernel-only buffers
and records its own ground truth. The installed `dmabuf-top snapshot` runs in the
guest; every buffer, holder, size, name, exporter and total must match both that
record and the kernel's bufinfo (parsed here independently of dmabuf_top).
Not skippable in CI: the `vm` fixture fails there when the VM cannot boot.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from dmabuf_top.collect.local import GEM_HANDLES_UNSEEN
from tests.support.paths import REPO
from tests.support.vm.guest import BUFINFO, kernel_bufinfo
from tests.support.vm.kernels import BPF_SERIES

#: every test here runs on each kernel of the matrix (5.10, 6.1, 6.18, 7.3)
pytestmark = pytest.mark.kernels


def dmabuf_top(vm) -> str:
    return str(Path(vm.python).parent / "dmabuf-top")


def expected_accounting(rec: dict) -> tuple[dict[int, tuple[int, float]], int]:
    """Rss/Pss per pid from the scenario record, as dmabuf_dump defines them."""
    per: dict[int, list[float]] = {}
    userspace = 0
    for b in rec["buffers"].values():
        pids = [int(p) for p in b["holders"]]
        if pids:
            userspace += b["size"]
        for pid in pids:
            acc = per.setdefault(pid, [0, 0.0])
            acc[0] += b["size"]
            acc[1] += b["size"] / len(pids)
    return {pid: (int(a[0]), a[1]) for pid, a in per.items()}, userspace


def test_snapshot_matches_scenario_and_bufinfo(vm, scenario):
    rec = scenario.record
    imp = impostor_is_real(vm, rec)
    gpu = gpu_meminfo(vm)
    cmd = [dmabuf_top(vm), "snapshot", "--source", "proc", "-o", "/tmp/snap.yaml"]
    r = vm.run(cmd, timeout=300)
    assert r.returncode == 0, r.stderr
    kernel_rows, kernel_total = kernel_bufinfo(vm.read_file(BUFINFO).decode())
    doc = yaml.safe_load(vm.read_file("/tmp/snap.yaml").decode())

    assert doc["schema"] == "dmabuf-top/1"
    assert doc["source"]["kernel"] == rec["kernel"] == vm.kernel_release
    assert doc["boot_id"] == rec["boot_id"]
    assert doc["kernel"]["sources"] == ["bufinfo"]
    assert doc["source"]["privilege"] == "root"
    assert_gpu_memory(doc["kernel"], gpu)

    bufs = {b["inode"]: b for b in doc["buffers"]}
    want = {int(k): v for k, v in rec["buffers"].items()}
    assert set(bufs) == set(want) == set(kernel_rows)
    for ino, w in want.items():
        got, k = bufs[ino], kernel_rows[ino]
        assert (got["size"], got["name"], got["exporter"], got["count"]) == (
            w["size"],
            w["name"],
            w["exporter"],
            w["count"],
        ), ino
        assert (k["size"], k["name"], k["exporter"], k["count"]) == (
            got["size"],
            got["name"],
            got["exporter"],
            got["count"],
        ), ino
        # devices attached and fences, as the kernel lists them (6.18: heap and udmabuf
        # buffers imported into vgem; every kernel: a vgem buffer with a signalled fence)
        assert (got["attachments"], got["fences"]) == (k["attachments"], k["fences"]), ino
        assert (len(got["attachments"]), len(got["fences"])) == (
            w["attachments"], w["fences"]
        ), ino
        assert all(f.endswith("signalled") and "unsignalled" not in f for f in got["fences"])
        assert got["heap"] == (w["exporter"] == "system"), ino
        holders = {
            h["pid"]: (h["fds"], [[m["start"], m["end"], m["perms"]] for m in h["maps"]])
            for h in got["holders"]
        }
        assert holders == {
            int(pid): (sorted(h["fds"]), sorted(h["maps"])) for pid, h in w["holders"].items()
        }, ino
        for h in got["holders"]:
            assert h["comm"] == rec["processes"][str(h["pid"])]["comm"]
        assert (got["holders"] == []) == w["kernel_only"]

    names = {b["name"] for b in doc["buffers"]}
    assert "scanout 0" in names
    assert "[bold]evil\x1b[31m[/bold]" in names
    assert any(n and len(n.encode()) == 31 for n in names)

    rss_pss, userspace = expected_accounting(rec)
    procs = {p["pid"]: p for p in doc["processes"]}
    assert set(procs) == set(rss_pss)
    for pid, (rss, pss) in rss_pss.items():
        assert procs[pid]["rss"] == rss
        assert procs[pid]["pss"] == int(pss + 1e-6)
        assert procs[pid]["comm"] == rec["processes"][str(pid)]["comm"]
    # /proc/PID/stat: every holder's start time, and its parents up to pid 1 (the
    # ancestors that hold nothing listed apart: the processes are the holders only)
    parent = {p["pid"]: p["ppid"] for p in doc["processes"] + doc.get("ancestors", [])}
    assert all(p["start_time"] > 0 for p in doc["processes"])
    assert not set(procs) & {a["pid"] for a in doc.get("ancestors", [])}
    for pid in procs:
        chain = [pid]
        while chain[-1] != 1:
            assert chain[-1] in parent and len(chain) < 64, chain
            chain.append(parent[chain[-1]])

    t = doc["totals"]
    assert (t["buffers"], t["bytes"]) == (rec["totals"]["buffers"], rec["totals"]["bytes"])
    assert (t["buffers"], t["bytes"]) == kernel_total
    assert t["userspace_bytes"] == userspace
    kernel_only = sum(w["size"] for w in want.values() if w["kernel_only"])
    assert t["kernel_only_bytes"] == kernel_only > 0
    assert t["userspace_rss"] == sum(r for r, _ in rss_pss.values())
    # what to say: the walk sees no GEM handles, and the scenario's look-alike file
    # (impostor_is_real) is seen and rejected: its process holds nothing, and the
    # buffer whose inode it has keeps its own holders (checked above)
    assert doc["warnings"] == [GEM_HANDLES_UNSEEN, IMPOSTOR_WARNING]
    assert imp["pid"] not in {h["pid"] for b in doc["buffers"] for h in b["holders"]}
    assert imp["pid"] not in procs and bufs[imp["inode"]]["name"] == "scanout 0"
    assert "unverified_maps" not in doc


#: what a snapshot says of the scenario's impostor (its fd is never a candidate either)
IMPOSTOR_WARNING = (
    "1 mapping of files named like dma-bufs (/dmabuf...) not on the dma-buf filesystem: ignored"
)


def impostor_is_real(vm, rec: dict) -> dict:
    """The scenario's impostor as the kernel shows it: a regular file named
    /dmabuf:impostor/N, opened and mapped, with the inode of the live buffer
    "scanout 0" (which is held by fd and mapped too)."""
    (imp,) = rec["impostors"]
    target = next(int(i) for i, b in rec["buffers"].items() if b["name"] == "scanout 0")
    assert imp["inode"] == target
    link = vm.run(["readlink", f"/proc/{imp['pid']}/fd/{imp['fd']}"], timeout=60).stdout.strip()
    assert link == imp["path"] and link.startswith("/dmabuf:")
    maps = vm.read_file(f"/proc/{imp['pid']}/maps").decode()
    (line,) = [ln for ln in maps.splitlines() if ln.endswith(imp["path"])]
    assert line.split()[4] == str(target) and line.split()[3] == imp["dev"]
    # told apart by the device: the real buffer's fd is on the dma-buf filesystem
    pid, h = next((p, h) for p, h in rec["buffers"][str(target)]["holders"].items() if h["fds"])
    code = ("import os, sys; d = os.stat(sys.argv[1]).st_dev; "
            "print(f'{os.major(d):02x}:{os.minor(d):02x}')")
    r = vm.run([vm.python, "-c", code, f"/proc/{pid}/fd/{h['fds'][0]}"], timeout=60)
    assert r.returncode == 0 and r.stdout.strip() != imp["dev"], (r.stdout, imp["dev"])
    return imp


@pytest.mark.kernels(*BPF_SERIES)
def test_a_file_named_like_a_dmabuf_is_not_a_holder(vm, scenario):
    """The BPF scan (the /proc walk: test_snapshot_matches_scenario_and_bufinfo, on
    every kernel, on the same scene) never sees the look-alike: the kernel's iterators
    pick dma-buf files."""
    rec = scenario.record
    imp = impostor_is_real(vm, rec)
    r = vm.run([dmabuf_top(vm), "snapshot", "--source", "bpf"], timeout=300)
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(r.stdout)
    assert doc["warnings"] == []
    assert doc["kernel"]["sources"][-3:] == ["task_file", "task_vma", "task"]
    holders = {h["pid"] for b in doc["buffers"] for h in b["holders"]}
    assert imp["pid"] not in holders
    assert imp["pid"] not in {p["pid"] for p in doc["processes"]}
    target = next(b for b in doc["buffers"] if b["inode"] == imp["inode"])
    assert target["name"] == "scanout 0"
    want = rec["buffers"][str(imp["inode"])]["holders"]
    assert sorted(h["pid"] for h in target["holders"]) == sorted(int(p) for p in want)
    assert "unverified_maps" not in doc


@pytest.mark.kernels("6.1")
def test_once_tables_in_vm(vm, scenario):
    """--once draws the scan as tables, untrusted names escaped, on one kernel: what it
    draws from (names, totals, comm) is checked against the kernel on every kernel by
    test_snapshot_matches_scenario_and_bufinfo, --once over the BPF scan by
    test_vm_bpf.py::test_once_names_the_bpf_source; drawing a snapshot does not depend
    on the kernel (tests/unit/report)."""
    r = vm.run(
        [dmabuf_top(vm), "--once", "--source", "proc", "--view", "buffers", "--bytes"], timeout=300
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "\x1b" not in out
    assert "[bold]evil\\e[31m[/bold]" in out and "tab\\tname" in out
    assert f"buffers: {scenario.record['totals']['buffers']}" in out
    assert f"total: {scenario.record['totals']['bytes']} (bufinfo)" in out
    assert not [ln for ln in out.splitlines() if ln.startswith("gpu memory")]  # 6.1 has none
    r = vm.run([dmabuf_top(vm), "--once", "--view", "processes"], timeout=300)
    assert r.returncode == 0 and "compositor" in r.stdout and "[red]hog" in r.stdout


def open_path_for_others(vm, *paths: str) -> None:
    """chmod o+rx every ancestor (in the guest's overlay only) so another uid can
    run the host's python and read the repo."""
    dirs = set()
    for p in paths:
        for parent in Path(p).resolve().parents:
            dirs.add(str(parent))
    r = vm.run(["chmod", "o+rx", *sorted(dirs)], timeout=60)
    assert r.returncode == 0, r.stderr


def test_unprivileged_user_sees_warning(vm, scenario):
    open_path_for_others(vm, vm.python, __file__)
    cmd = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
           dmabuf_top(vm), "snapshot"]  # fmt: skip
    r = vm.run(cmd, timeout=300, cwd="/tmp")
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(r.stdout)
    assert doc["source"]["privilege"] == "limited"
    unreadable = re.compile(r"\d+ process(es)? unreadable: run as root")
    assert any(unreadable.fullmatch(w) for w in doc["warnings"])
    assert doc["kernel"]["sources"] == []
    assert doc["buffers"] == []  # nobody's buffers are readable to uid 65534


def gpu_meminfo(vm) -> dict[str, int]:
    """GPUActive/GPUReclaim of the guest's /proc/meminfo, in kB (7.0+; of the matrix,
    7.3 only: the kernel's own word, checked here); {} where the kernel has none."""
    meminfo = vm.read_file("/proc/meminfo").decode()
    kb = {k: int(v) for k, v in
          re.findall(r"^(GPUActive|GPUReclaim):\s+(\d+) kB$", meminfo, re.M)}
    assert bool(kb) == (vm.series == "7.3"), kb
    return kb


def assert_gpu_memory(kernel: dict, kb: dict[str, int]) -> None:
    """A snapshot's ``kernel`` carries the GPU memory meminfo gave (None without)."""
    assert {key: kernel.get(key) for key in ("gpu_active", "gpu_reclaim")} == {
        "gpu_active": kb["GPUActive"] * 1024 if kb else None,
        "gpu_reclaim": kb["GPUReclaim"] * 1024 if kb else None,
    }


@pytest.mark.kernels("7.3")
def test_gpu_memory_as_the_kernel_says(vm):
    """7.0+ (of the matrix: 7.3) lists GPUActive/GPUReclaim in /proc/meminfo: the snapshot
    carries them and --once shows them. Where the kernel has none (every other kernel)
    the snapshot says so (test_snapshot_matches_scenario_and_bufinfo) and --once shows
    nothing (test_once_tables_in_vm): drawing it does not depend on the kernel."""
    kb = gpu_meminfo(vm)
    r = vm.run([dmabuf_top(vm), "snapshot", "--source", "proc"], timeout=300)
    assert r.returncode == 0, r.stderr
    assert_gpu_memory(yaml.safe_load(r.stdout)["kernel"], kb)
    r = vm.run([dmabuf_top(vm), "--once", "--source", "proc", "--bytes"], timeout=300)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("gpu memory")]
    assert line == [f"gpu memory (meminfo): active {kb['GPUActive'] * 1024}  "
                    f"reclaim {kb['GPUReclaim'] * 1024}"]


#: in the guest: refreshes of one backend (its incremental Assembler) against a fresh
#: assemble() of the same fetch, while a buffer is made, mapped, its fd closed, unmapped
REFRESHES = r"""
import ctypes, json, os, sys
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.collect.local import LocalBackend
from dmabuf_top.io.codec import dump_snapshot
from tests.support.vm.vgem import Card, inode_of, map_shared

backend = LocalBackend(source=sys.argv[1], walker=sys.argv[2])
card, out, state = Card(), [], {}

def refresh(step):
    raw = backend.fetch()
    inc, fresh = backend.assembler(raw), assemble(raw)
    buf = inc.buffers.get(state.get("inode"))
    holder = buf.holder(os.getpid()) if buf is not None else None
    out.append({"step": step, "equal": inc == fresh and dump_snapshot(inc) == dump_snapshot(fresh),
                "buffers": len(inc.buffers), "ours": None if holder is None else
                [len(holder.fds), len(holder.maps)]})

refresh("before")
refresh("unchanged")
fd = card.dmabuf(65536, "inc26")
state["inode"] = inode_of(fd)
start, end = map_shared(fd, 65536)
refresh("made and mapped")
os.close(fd)
refresh("fd closed")
assert ctypes.CDLL(None).munmap(ctypes.c_void_p(start), ctypes.c_size_t(end - start)) == 0
refresh("unmapped")
print(json.dumps(out))
"""


@pytest.mark.kernels("6.18")
@pytest.mark.parametrize("source, walker", [("proc", "native"), ("proc", "python"),
                                            ("bpf", "native")])
def test_incremental_refreshes_equal_fresh_assembly(vm, scenario, source, walker):
    """The live walk (native and Python's; and the BPF scan) refreshed with changes
    between: each refresh of the backend's Assembler equals a fresh assemble() of the
    same fetch."""
    r = vm.run([vm.python, "-c", REFRESHES, source, walker], timeout=300, cwd=str(REPO))
    assert r.returncode == 0, r.stderr
    steps = json.loads(r.stdout)
    assert all(s["equal"] for s in steps), steps
    assert [s["ours"] for s in steps] == [None, None, [1, 1], [0, 1], None]
    n = steps[0]["buffers"]
    assert n >= scenario.record["totals"]["buffers"]
    assert [s["buffers"] for s in steps] == [n, n, n + 1, n + 1, n]


#: in the guest: a walk that gives again the fdinfo it read last time (fdinfo_reuse: the
#: Python walk's) against a fresh backend's (native) walk, while the fd is remapped,
#: dup2'ed onto another buffer of the same name, held by a new process with the same
#: pid, and debugfs unmounted
REUSE = r"""
import json, os, subprocess, sys
from dmabuf_top.collect.local import LocalBackend
from tests.support.vm.vgem import Card, inode_of, map_shared

backend, card, out, last = LocalBackend(source="proc", walker="python"), Card(), [], {}
a, b = card.dmabuf(65536, "walk11"), card.dmabuf(131072, "walk11")
held = os.dup(a)

def refresh(step, pid=os.getpid()):
    raw = backend.fetch()
    snap, fresh = backend.assembler(raw), LocalBackend(source="proc").collect()
    pt = next((p for p in raw.procs if p.pid == pid), None)
    text = pt.fdinfo.get(held) if pt is not None else None
    reused, last[pid] = text is not None and text is last.get(pid), text
    buf = next(x for x in snap.buffers.values()
               for h in x.holders if h.pid == pid and held in h.fds)
    out.append({"step": step, "reused": reused, "inode": buf.inode, "count": buf.count,
                "equal": snap.buffers == fresh.buffers and snap.processes == fresh.processes})

def child():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.read(r, 1)  # until the parent closes its end
        os._exit(0)
    os.close(r)
    return pid, w

refresh("first")
refresh("unchanged")
map_shared(a, 65536)
refresh("mapped")
os.dup2(b, held)
refresh("dup2")
refresh("unchanged again")
pid, w = child()
refresh("child", pid)
refresh("child unchanged", pid)
os.close(w)
os.waitpid(pid, 0)
with open("/proc/sys/kernel/ns_last_pid", "w") as f:
    f.write(str(pid - 1))
pid2, w2 = child()
refresh("same pid, new process", pid2)
subprocess.run(["umount", "/sys/kernel/debug"], check=True)
try:
    refresh("no bufinfo")
    refresh("no bufinfo again")
finally:
    subprocess.run(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"], check=True)
os.close(w2)
print(json.dumps({"steps": out, "a": inode_of(a), "b": inode_of(b), "same pid": pid2 == pid}))
"""


@pytest.mark.kernels("6.1")
def test_the_walk_reuses_fdinfo_only_where_it_is_the_same(vm):
    """The walk gives again last walk's fdinfo of an fd only when stat proves it the same
    buffer, in the same process, with bufinfo giving the count: every refresh equals a
    fresh backend's, the fd dup2'ed onto another buffer of the same name and a new process
    with the same pid are read again, and so is everything without debugfs."""
    r = vm.run([vm.python, "-c", REUSE], timeout=300, cwd=str(REPO))
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    steps = {s["step"]: s for s in res["steps"]}
    assert all(s["equal"] for s in res["steps"]), res
    assert [s["reused"] for s in res["steps"]] == [
        False, True, True, False, True, False, True, False, False, False
    ], res
    assert res["same pid"], "the new process did not get the old pid"
    assert [steps[k]["inode"] for k in ("unchanged", "mapped", "dup2")] == [
        res["a"], res["a"], res["b"]]
    assert steps["mapped"]["count"] == steps["unchanged"]["count"] + 1  # bufinfo's count
