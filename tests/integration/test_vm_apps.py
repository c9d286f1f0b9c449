"""The app axis on real kernels: holders of real vgem (and system-heap) dma-bufs in
two systemd-like app scopes and a docker-like container scope (cgroup v2
directories made in the VM by tests/support/vm/apps_scene.py) are grouped into the
right apps by the installed ``dmabuf-top`` (``snapshot`` and ``--once --view apps``),
each app's Rss/Pss is the sum of its processes' (and of what they really hold), and
the cgroups' dmem charge is shown where the kernel has ``dmem.current``, else
"unavailable" (tests/unit/analysis/test_apps.py: the text says so)."""

from __future__ import annotations

import json

import pytest

from dmabuf_top.collect.parsers.cgroup import parse_dmem
from tests.integration.test_vm_bpf import snapshot
from tests.integration.test_vm_snapshot import dmabuf_top
from tests.support.paths import TESTS
from tests.support.vm.guest import assert_no_dmabufs_left, start_scenario
from tests.support.vm.kernels import BPF_SERIES

pytestmark = pytest.mark.kernels(*BPF_SERIES)

APPS_SCENE = TESTS / "support" / "vm" / "apps_scene.py"
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
