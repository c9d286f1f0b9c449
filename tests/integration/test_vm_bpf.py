"""The BPF scan on real kernels: on 6.18 and 7.3 with debugfs unmounted, ``--source bpf`` gives
the snapshot the /proc walk gives with debugfs (and the scenario's own record), and with
debugfs mounted the walk's very snapshot in every field but GEM handles; the walk without
debugfs still says what it misses; where BPF cannot run or its records are malformed,
``auto`` and ``bpf`` fall back to the walk and say why, in one warning.

The installed ``dmabuf-top`` runs in the guest, which loads the committed
``dmabuf_top/collect/bpf/dmabuf_top.bpf.o`` through the host's libbpf.so.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml

from dmabuf_top.collect.assemble import NO_KERNEL_SOURCE_WARNING
from tests.integration.test_vm_snapshot import dmabuf_top, open_path_for_others
from tests.support.scan_compare import fd_and_map_holders, scan_fields
from tests.support.vm.kernels import BPF_SERIES

DEBUGFS = "/sys/kernel/debug"
BPF_SOURCES = ["bpf", "task_file", "task_vma", "task"]

#: in the guest: one scene scanned by BPF (twice: a fresh and an incremental refresh)
#: and by the walk, as snapshot documents, then with the fd records' first byte broken
#: (malformed), twice
BPF_AND_WALK = r"""
import json
from dmabuf_top.collect.bpf_loader import FILES, BpfIterators
from dmabuf_top.collect.local import LocalBackend
from dmabuf_top.io.codec import snapshot_to_dict

class Broken(BpfIterators):
    def read(self, program):
        data = super().read(program)
        return b"\0" + data[1:] if program == FILES else data

b = LocalBackend(source="bpf")
out = {"bpf": [snapshot_to_dict(b.collect()) for _ in range(2)],
       "walk": snapshot_to_dict(LocalBackend(source="proc").collect())}
b.close()
b._bpf = Broken()
out["malformed"] = [snapshot_to_dict(b.collect()) for _ in range(2)]
print(json.dumps(out))
"""


def snapshot(vm, *args: str, user: int | None = None) -> dict:
    cmd = [dmabuf_top(vm), "snapshot", *args]
    if user is not None:
        cmd = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups", *cmd]
    r = vm.run(cmd, timeout=300, cwd="/tmp")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    return yaml.safe_load(r.stdout)


@contextmanager
def debugfs_unmounted(vm) -> Iterator[None]:
    vm.run(["umount", DEBUGFS], timeout=60, check=True)
    try:
        yield
    finally:
        vm.run(["mount", "-t", "debugfs", "none", DEBUGFS], timeout=60, check=True)


@pytest.mark.kernels(*BPF_SERIES)
def test_bpf_without_debugfs_is_the_walk_with_debugfs(vm, scenario):
    rec = scenario.record
    walk = snapshot(vm, "--source", "proc")
    with debugfs_unmounted(vm):
        bpf = snapshot(vm, "--source", "bpf")
        blind = snapshot(vm, "--source", "proc")
    assert walk["kernel"]["sources"] == ["bufinfo"]
    assert bpf["kernel"]["sources"] == BPF_SOURCES and bpf["warnings"] == []
    # the same, but for GEM handles (tests/integration/test_vm_gem.py checks them)
    assert scan_fields(fd_and_map_holders(bpf)) == scan_fields(walk)

    # and both are the truth: every buffer (kernel-only and map-only ones included)
    bufs = {b["inode"]: b for b in bpf["buffers"]}
    assert set(bufs) == {int(i) for i in rec["buffers"]}
    for ino, want in rec["buffers"].items():
        got = bufs[int(ino)]
        assert (got["size"], got["name"], got["exporter"], got["count"]) == (
            want["size"], want["name"], want["exporter"], want["count"]
        ), ino
        assert got["heap"] == (want["exporter"] == "system"), ino
        holders = {
            h["pid"]: (h["fds"], [[m["start"], m["end"], m["perms"]] for m in h["maps"]])
            for h in got["holders"] if h["fds"] or h["maps"]
        }
        assert holders == {
            int(p): (sorted(h["fds"]), sorted(h["maps"])) for p, h in want["holders"].items()
        }, ino
    nobody = [b for b in rec["buffers"].values() if b["kernel_only"] and not b["handles"]]
    assert bpf["totals"]["kernel_only_bytes"] == sum(b["size"] for b in nobody) > 0
    assert (bpf["totals"]["buffers"], bpf["totals"]["bytes"]) == (
        rec["totals"]["buffers"], rec["totals"]["bytes"]
    )

    # the walk without debugfs: holes, and warnings that say so
    assert blind["kernel"]["sources"] == []
    assert NO_KERNEL_SOURCE_WARNING in blind["warnings"]
    assert any("size estimated from the mapping" in w for w in blind["warnings"])
    assert len(blind["buffers"]) < len(bpf["buffers"])


@pytest.mark.kernels(*BPF_SERIES)
def test_with_debugfs_bpf_gives_the_walks_snapshot_and_malformed_records_the_walk(vm, scenario):
    r = vm.run([vm.python, "-c", BPF_AND_WALK], timeout=600)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    docs = json.loads(r.stdout)
    (bpf, again), walk = docs["bpf"], docs["walk"]
    assert {**again, "taken_at": 0, "scan_seconds": 0} == {**bpf, "taken_at": 0, "scan_seconds": 0}
    assert bpf["kernel"]["sources"] == ["bufinfo", *BPF_SOURCES] and bpf["warnings"] == []
    assert len(bpf["buffers"]) == scenario.record["totals"]["buffers"]
    # every figure the walk gives (bufinfo's fences, flags and attachments included),
    # but GEM handles, which only BPF sees, the sources each read and the walk's
    # warnings (what it cannot see, the look-alike file it rejected)
    without = fd_and_map_holders(bpf)
    for doc in (without, walk):
        for key in ("taken_at", "scan_seconds", "warnings"):
            doc.pop(key, None)
        del doc["kernel"]["sources"]
        for b in doc["buffers"]:
            del b["sources"]
    assert without == walk
    for doc in docs["malformed"]:  # walked, saying why in one line, on every refresh
        why = [w for w in doc["warnings"] if w.startswith("BPF scan failed:")]
        assert why == [
            "BPF scan failed: dmabuf_files records: record 0 (byte 0): not a record head; "
            "walked /proc instead"
        ], doc["warnings"]
        assert doc["kernel"]["sources"] == ["bufinfo"] and doc["processes"]


@pytest.mark.kernels(*BPF_SERIES)
def test_once_names_the_bpf_source(vm, scenario):
    with debugfs_unmounted(vm):
        r = vm.run([dmabuf_top(vm), "--once", "--source", "bpf", "--bytes"], timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"total: {scenario.record['totals']['bytes']} (bpf+task_file+task_vma+task)" in r.stdout
    assert "warning:" not in r.stdout


@pytest.mark.kernels(*BPF_SERIES)
def test_bpf_without_privilege_falls_back_with_one_warning(vm, scenario):
    open_path_for_others(vm, vm.python, __file__)
    doc = snapshot(vm, "--source", "bpf", user=65534)
    why = [w for w in doc["warnings"] if w.startswith("BPF scan not used:")]
    assert why == [
        "BPF scan not used: loading the BPF programs failed: not permitted (needs root, or "
        "CAP_BPF and CAP_PERFMON); walked /proc instead"
    ]
    assert doc["kernel"]["sources"] == [] and doc["source"]["privilege"] == "limited"


@pytest.mark.kernels("5.10", "6.1")
def test_auto_on_a_kernel_without_the_dmabuf_iterator_walks_and_says_why(vm, scenario):
    doc = snapshot(vm)  # --source auto
    assert doc["kernel"]["sources"] == ["bufinfo"]
    why = [w for w in doc["warnings"] if w.startswith("BPF scan not used:")]
    assert len(why) == 1 and why[0].endswith("; walked /proc instead"), doc["warnings"]
    assert "iter/dmabuf" in why[0] or "BTF" in why[0]
    assert len(doc["buffers"]) == scenario.record["totals"]["buffers"]
