"""The app axis on real kernels: holders of real vgem (and system-heap) dma-bufs in
two systemd-like app scopes and a docker-like container scope (cgroup v2
directories made in the VM by tests/support/vm/apps_scene.py) are grouped into the
right apps by the installed ``dmabuf-top`` (``snapshot`` and ``--once --view apps``),
each app's Rss/Pss is the sum of its processes' (and of what they really hold), and
the cgroups' dmem charge is shown where the kernel has ``dmem.current``, else
"unavailable" (tests/unit/analysis/test_apps.py: the text says so); the memcg heap
charge is "unavailable" with the kernel's reason, and on 7.3 (booted with
``dma_heap.mem_accounting=1``) the kernel is seen charging heap pages to the memcg as
kernel memory with no key of their own. On 6.1, where no cgroup hierarchy is
mounted, every holder is in the root cgroup: ``(root cgroup)``, never ``?``."""

from __future__ import annotations

import json

import pytest

from dmabuf_top.analysis.apps import MEMCG_WHY, NO_DMEM
from dmabuf_top.collect.parsers.cgroup import ROOT_APP, parse_dmem
from tests.integration.test_vm_bpf import snapshot
from tests.integration.test_vm_snapshot import dmabuf_top
from tests.support.paths import TESTS
from tests.support.vm.guest import assert_no_dmabufs_left, start_scenario
from tests.support.vm.kernels import BPF_SERIES

pytestmark = pytest.mark.kernels(*BPF_SERIES)

APPS_SCENE = TESTS / "support" / "vm" / "apps_scene.py"
FORGED_LINE = "0::/system.slice/forged.scope"  # apps_scene.py's
MEMCG_PROBE = TESTS / "support" / "vm" / "memcg_probe.py"
HEAP_ACCOUNTING = "/sys/module/dma_heap/parameters/mem_accounting"
#: the app each holder of apps_scene.py belongs to
APP_OF = {
    "foo-main": "org.gnome.Foo",
    "foo-helper": "org.gnome.Foo",
    "bar": "org.gnome.Bar",
    "containerd-app": "docker:3f9a0c3f9a0c",
}


def once(vm, *args: str) -> str:
    r = vm.run([dmabuf_top(vm), "--once", *args], timeout=300, cwd="/tmp")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    return r.stdout


def test_holders_are_grouped_by_app_and_apps_sum_their_processes(vm):
    with start_scenario(vm, script=APPS_SCENE, out="/tmp/apps.json") as sc:
        doc = snapshot(vm)  # the default scan (the BPF iterators where they load)
        table = json.loads(once(vm, "--view", "apps", "--format", "json"))
        text = once(vm, "--view", "apps")
        dmem = {
            rec["cgroup"]: vm.run(["cat", f"/sys/fs/cgroup{rec['cgroup']}/dmem.current"],
                                  timeout=60)
            for rec in sc.record["holders"]
        }
    assert_no_dmabufs_left(vm, "the app scene")
    holders = sc.record["holders"]
    procs = {p["pid"]: p for p in doc["processes"]}
    assert set(procs) == {h["pid"] for h in holders}
    owners: dict[int, int] = {}  # inode -> holder count (for Pss)
    for h in holders:
        for ino in h["held"]:
            owners[int(ino)] = owners.get(int(ino), 0) + 1
    want: dict[str, dict] = {}
    for h in holders:
        p = procs[h["pid"]]
        assert (p["comm"], p["cgroup"], p["app"]) == (h["comm"], h["cgroup"], APP_OF[h["comm"]])
        assert p["user"] == "root"
        assert p["rss"] == sum(h["held"].values())
        w = want.setdefault(APP_OF[h["comm"]], {"pids": [], "rss": 0, "pss": 0.0})
        w["pids"].append(h["pid"])
        w["rss"] += p["rss"]
        w["pss"] += sum(size / owners[int(ino)] for ino, size in h["held"].items())

    rows = {r["app"]: r for r in table["rows"]}
    assert set(rows) == set(want) == set(APP_OF.values())
    for app, w in want.items():
        row = rows[app]
        assert row["pids"] == sorted(w["pids"]) and row["procs"] == len(w["pids"])
        members = [procs[pid] for pid in row["pids"]]
        # an app's sums are its processes' sums, and what they really hold
        assert row["rss"] == sum(m["rss"] for m in members) == w["rss"]
        assert row["pss"] == sum(m["pss"] for m in members)
        assert abs(row["pss"] - w["pss"]) <= len(members)  # each process's Pss is floored
        assert row["cgroups"] == sorted({m["cgroup"] for m in members})

    # the cgroup's own charge: the kernel's dmem.current, or "unavailable", never 0
    charges = {c["cgroup"]: c for c in doc.get("charges", [])}
    for path, r in dmem.items():
        if r.returncode == 0:
            assert charges[path]["dmem_current"] == parse_dmem(r.stdout)
        else:
            assert charges[path]["dmem_current"] is None
    if all(r.returncode != 0 or not parse_dmem(r.stdout) for r in dmem.values()):
        assert all(r["dmem"] is None for r in table["rows"])
    if all(r.returncode != 0 for r in dmem.values()):  # Debian's kernels: no dmem at all
        assert table["unavailable"]["dmem"] == NO_DMEM

    # the memcg heap charge: the parameter as the kernel has it, and why no figure
    param = vm.run(["cat", HEAP_ACCOUNTING], timeout=60)
    state = "absent" if param.returncode else {"Y": "on", "N": "off"}[param.stdout.strip()]
    assert state == {"6.18": "absent", "7.3": "on"}[vm.series]  # 7.3 boots with it on
    assert doc["kernel"]["heap_accounting"] == state
    assert all(r["memcg_heap"] is None for r in table["rows"])  # unavailable, never 0
    assert table["unavailable"]["memcg_heap"] == MEMCG_WHY[state]
    assert f"MEMCG unavailable: {MEMCG_WHY[state]}" in text.splitlines()


def test_a_cgroup_named_like_a_line_of_another_forges_no_cgroup(vm):
    """A cgroup name may hold a carriage return (a user may name cgroups so in their
    delegated subtree; the kernel refuses only "\\n"): the kernel prints
    ``0::/.../x\\r0::/system.slice/forged.scope`` as it is; the holder's cgroup is its
    real one, never the forged line's (str.splitlines() broke the line there)."""
    with start_scenario(vm, "--forger", script=APPS_SCENE, out="/tmp/forger.json") as sc:
        (h,) = sc.record["holders"]
        seen = vm.run(["cat", f"/proc/{h['pid']}/cgroup"], timeout=60).stdout
        doc = snapshot(vm)
    assert_no_dmabufs_left(vm, "the forger scene")
    assert seen.endswith(f"/x\r{FORGED_LINE}\n")  # the kernel printed the name as it is
    (p,) = [p for p in doc["processes"] if p["pid"] == h["pid"]]
    assert p["cgroup"] == h["cgroup"] and p["cgroup"].endswith("/x\r" + FORGED_LINE)


@pytest.mark.kernels("7.3")
def test_heap_pages_are_charged_to_the_memcg_as_kernel_memory_with_no_key_of_their_own(vm):
    """Why the Apps view's MEMCG says "counted in memory.stat kernel": a process in a
    fresh cgroup allocates 5 MiB + 64 KiB from the system heap; memory.current grows by
    that (and the few pages the process itself touches meanwhile); memory.stat's
    ``kernel`` holds it (freeing takes that off) beside the cgroup's other kernel
    memory, and no other key moves by it."""
    r = vm.run([vm.python, str(MEMCG_PROBE)], timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["mem_accounting"].strip() == "Y"
    size = sum(doc["sizes"])

    def stat(when: str) -> dict[str, int]:
        return {k: int(v) for k, v in (ln.split() for ln in doc[when]["memory.stat"].splitlines())}

    current = {w: int(doc[w]["memory.current"]) for w in ("before", "held", "freed")}
    assert size <= current["held"] - current["before"] <= size + (512 << 10)
    assert current["freed"] - current["before"] < size
    held, freed = stat("held"), stat("freed")
    assert size <= held["kernel"] - freed["kernel"] <= size + 64 * 1024
    assert held["kernel"] > size  # with other kernel memory: not the heap charge alone
    assert [k for k in held if k != "kernel" and held[k] - freed[k] == size] == []
    assert doc["held"]["memory.events"] == doc["before"]["memory.events"]  # no limit hit


@pytest.mark.kernels("6.1")
def test_without_a_mounted_cgroup_hierarchy_holders_are_in_the_root_cgroup(vm, scenario):
    """The 6.1 VM mounts no cgroup filesystem: the kernel then lists no hierarchy in
    /proc/PID/cgroup (empty; ``0::/`` once cgroup2 is mounted), so every holder is in
    the root cgroup, and the Apps view says so instead of ``?``."""
    doc = snapshot(vm)
    pids = sorted(p["pid"] for p in doc["processes"])
    texts = {vm.run(["cat", f"/proc/{pid}/cgroup"], timeout=60).stdout for pid in pids}
    assert texts <= {"", "0::/\n"}, texts
    assert {(p["cgroup"], p["app"]) for p in doc["processes"]} == {("/", ROOT_APP)}
    table = json.loads(once(vm, "--view", "apps", "--format", "json"))
    assert [(r["app"], r["pids"]) for r in table["rows"]] == [(ROOT_APP, pids)]
    assert table["rows"][0]["rss"] == sum(p["rss"] for p in doc["processes"])
