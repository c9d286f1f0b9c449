"""Per app sums (analysis/apps.py) and an app's change in ``diff``: an app's Rss,
Pss and handle bytes are its processes' sums; dmem is the kernel's charge of its
cgroups or None (unavailable), never 0 for a file that has none."""

from __future__ import annotations

import json

from dmabuf_top.analysis.accounting import process_stats
from dmabuf_top.analysis.apps import UNKNOWN_APP, app_stats
from dmabuf_top.analysis.diff import diff_snapshots
from dmabuf_top.model import CgroupCharge, Snapshot
from dmabuf_top.report.diff_report import diff_to_dict, render_text
from dmabuf_top.report.once import render_table
from tests.support.synth import COMMS, MIB, buf, snap

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
    rows = {ln.split()[0]: ln for ln in render_table(s, "apps", raw_bytes=True).splitlines()[3:]
            if ln.strip()}
    assert rows["org.gnome.Foo"].endswith(f" {3 * MIB}")
    assert rows["org.gnome.Bar"].endswith(" unavailable")


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
