"""Per app sums (analysis/apps.py) and an app's change in ``diff``: an app's Rss,
Pss and handle bytes are its processes' sums; dmem is the kernel's charge of its
cgroups or None (unavailable), never 0 for a file that has none; the memcg heap
charge is unavailable with the kernel's reason (what 7.3 was seen to do:
tests/data/vm-7.3-memcg/, recorded by tests/support/vm/memcg_probe.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from dmabuf_top.analysis.accounting import process_stats
from dmabuf_top.analysis.apps import UNKNOWN_APP, app_stats, unavailable
from dmabuf_top.analysis.diff import diff_snapshots
from dmabuf_top.collect.parsers.cgroup import parse_heap_accounting
from dmabuf_top.model import CgroupCharge, Snapshot
from dmabuf_top.report.diff_report import diff_to_dict, render_text
from dmabuf_top.report.once import render_table
from dmabuf_top.report.once_data import render_csv, table_doc
from tests.support.paths import DATA
from tests.support.synth import COMMS, MIB, buf, snap

MEMCG = DATA / "vm-7.3-memcg"

FOO = "/user.slice/app.slice/app-gnome-org.gnome.Foo-1.scope"
BAR = "/user.slice/app.slice/app-gnome-org.gnome.Bar-2.scope"


def with_apps(s: Snapshot) -> Snapshot:
    for pid, (app, cg) in {100: ("org.gnome.Foo", FOO), 200: ("org.gnome.Foo", FOO),
                           300: ("org.gnome.Bar", BAR)}.items():
        if pid in s.processes:
            s.processes[pid].app, s.processes[pid].cgroup = app, cg
    return s


def scene(extra: bool = False) -> Snapshot:
    bufs = [
        buf(10, 8 * MIB, holders={100: [5], 300: [7]}),  # shared by Foo and Bar
        buf(11, 2 * MIB, holders={200: [3]}),
        buf(12, MIB, holders={400: [4]}),  # a process with no app: "?"
    ]
    if extra:
        bufs.append(buf(13, 4 * MIB, holders={200: [9]}))
    return with_apps(snap(bufs, COMMS, t=4 if extra else 0))


def test_app_sums_are_the_sums_of_their_processes() -> None:
    s = scene()
    s.charges = {FOO: CgroupCharge(FOO, {"drm/card0/vram0": 3 * MIB, "drm/card0/gtt": None},
                                   {"drm/card0/vram0": None})}
    procs = {p.pid: p for p in process_stats(s)}
    apps = {a.app: a for a in app_stats(s)}
    assert set(apps) == {"org.gnome.Foo", "org.gnome.Bar", UNKNOWN_APP}
    for a in apps.values():
        assert a.rss == sum(procs[p].rss for p in a.pids)
        assert a.pss == sum(procs[p].pss for p in a.pids)
    assert apps["org.gnome.Foo"].pids == [100, 200] and apps["org.gnome.Foo"].buffers == 2
    assert apps["org.gnome.Foo"].rss == 10 * MIB and apps["org.gnome.Foo"].pss == 6 * MIB
    assert apps["org.gnome.Foo"].cgroups == [FOO]
    assert apps["org.gnome.Foo"].dmem_bytes == 3 * MIB
    assert apps["org.gnome.Bar"].dmem_bytes is None  # no charge read: unavailable, not 0
    assert apps[UNKNOWN_APP].pids == [400]
    # --once: the kernel's charge, or "unavailable" (never 0) where it has none
    rows = {ln.split()[0]: ln.split() for ln in
            render_table(s, "apps", raw_bytes=True).splitlines()[3:] if ln.strip()}
    assert rows["org.gnome.Foo"][-2:] == [str(3 * MIB), "unavailable"]  # DMEM, MEMCG
    assert rows["org.gnome.Bar"][-2:] == ["unavailable", "unavailable"]


def test_diff_lists_an_apps_change() -> None:
    a, b = scene(), scene(extra=True)
    d = diff_snapshots(a, b)
    assert [(g.key, g.buffers_a, g.buffers_b, g.bytes_a, g.bytes_b) for g in d.apps] == [
        ("org.gnome.Foo", 2, 3, 10 * MIB, 14 * MIB)]
    text = render_text(d, raw_bytes=True)
    assert "apps:" in text and "RSS +/-" in text and "org.gnome.Foo" in text
    doc = json.loads(json.dumps(diff_to_dict(d)))
    assert doc["apps"] == [{"app": "org.gnome.Foo", "buffers": {"a": 2, "b": 3, "delta": 1},
                            "rss": {"a": 10 * MIB, "b": 14 * MIB, "delta": 4 * MIB}}]


def stat(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in text.splitlines())}


@pytest.mark.parametrize("state", ["on", "off"])
def test_the_recorded_73_kernel_charges_heap_pages_to_no_key_of_their_own(state: str) -> None:
    """What the design rests on, in the kernel's own words (7.3, a fresh cgroup, 5 MiB
    and 64 KiB of system-heap buffers): with ``dma_heap.mem_accounting`` on,
    memory.current grows by exactly their size, memory.stat's ``kernel`` holds them
    (freeing takes exactly that off) beside the cgroup's other kernel memory, and no
    other key moves by their size; off, neither grows by them."""
    doc = json.loads((MEMCG / f"heap-accounting-{state}.json").read_text())
    assert parse_heap_accounting(doc["mem_accounting"]) == state
    size = sum(doc["sizes"])
    held, freed = (stat(doc[k]["memory.stat"]) for k in ("held", "freed"))
    current = {k: int(doc[k]["memory.current"]) for k in ("before", "held", "freed")}
    assert not any("dmabuf" in k or "heap" in k for k in held)
    assert [k for k in held if k != "kernel" and held[k] - freed[k] == size] == []
    if state == "on":
        assert current["held"] - current["before"] == size
        assert held["kernel"] - freed["kernel"] == size
        assert held["kernel"] > size  # with other kernel memory: not the heap charge alone
        assert current["freed"] - current["before"] < size  # given back when freed
    else:
        assert current["held"] == current["before"] and held["kernel"] < size


@pytest.mark.parametrize(("state", "kind", "why"), [
    ("on", "local", "heap pages counted in memory.stat kernel, not separately"),
    ("off", "local", "dma_heap.mem_accounting off"),
    ("absent", "local", "no dma_heap.mem_accounting before Linux 7.0"),
    (None, "adb", "not read over adb"),
    (None, "local", "not recorded"),
])
def test_memcg_heap_charge_is_unavailable_with_the_kernels_reason(
    state: str | None, kind: str, why: str
) -> None:
    s = scene()
    s.kernel.heap_accounting, s.source.kind = state, kind
    apps = app_stats(s)
    assert all(a.memcg_heap is None for a in apps)  # never 0
    assert unavailable(s, apps)["memcg_heap"] == why
    text = render_table(s, "apps")
    assert f"MEMCG unavailable: {why}" in text.splitlines()
    doc = table_doc(s, "apps")
    assert doc["unavailable"]["memcg_heap"] == why
    assert all(r["memcg_heap"] is None for r in doc["rows"])
    rows = list(csv.DictReader(io.StringIO(render_csv(s, "apps"))))
    assert rows and all(r["memcg_heap"] == "" for r in rows)  # empty, not 0


def test_dmem_says_why_it_is_unavailable() -> None:
    s = scene()
    s.kernel.heap_accounting = "absent"  # a local scan of 6.18: cgroups read, no dmem files
    s.charges = {FOO: CgroupCharge(FOO), BAR: CgroupCharge(BAR)}
    why = unavailable(s, app_stats(s))["dmem"]
    assert why == "no dmem controller (CONFIG_CGROUP_DMEM, Linux 6.14+)"
    s.charges[FOO] = CgroupCharge(FOO, {}, {})  # the controller, but no device region
    assert unavailable(s, app_stats(s))["dmem"] == "no device region charged"
    s.charges[FOO] = CgroupCharge(FOO, {"drm/card0/vram0": MIB}, {})
    s.charges[BAR] = CgroupCharge(BAR, {"drm/card0/vram0": 0}, {})
    assert "dmem" in unavailable(s, app_stats(s))  # the "?" app has no cgroup read
    s.source.kind = "adb"
    assert unavailable(s, app_stats(s))["dmem"] == "not read over adb"
