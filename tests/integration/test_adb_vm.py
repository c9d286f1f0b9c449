"""End to end on a real kernel: a REAL adb server on the host, tests/support/adbpeer.py
inside the 6.1 VM (guest port 5555, forwarded), real dma-bufs from
tests/support/vm/scenario.py. ``dmabuf-top snapshot --adb SERIAL`` on the host must
equal ``dmabuf-top snapshot`` run locally in the VM: same buffers, holders,
sizes, names, totals, warnings (only the time and the source differ).

Also: refreshes that send only what changed against full ones while real dma-bufs
come and go, a shell that is not root but has su (the AOSP ``su 0`` form), a shell
that is not root and has no working su (against the local backend run as the
same uid in the VM), and the collector under mksh + toybox and busybox.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from dmabuf_top.collect.adb import open_adb_backend
from dmabuf_top.collect.adb_stream import collector_script, gunzip, parse_stream
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.io.codec import dump_snapshot, snapshot_to_dict
from tests.support.adb_harness import (
    ADBPEER,
    REPO,
    SHELL_UID,
    SU_C,
    UNPRIVILEGED_HOLDER,
    AdbServer,
    FullRefreshBackend,
    comparable,
    require,
)
from tests.support.paths import VM_DIR as SUPPORT_VM
from tests.support.serve_harness import wait_for
from tests.support.vm.guest import BUFINFO, kernel_bufinfo, start_scenario

GUEST_PORT = 5555
VM_DIR = str(SUPPORT_VM)


def dmabuf_top(vm) -> str:
    return str(Path(vm.python).parent / "dmabuf-top")


class VmPeer:
    """adbpeer.py in the guest, listening on GUEST_PORT, connected to `server`."""

    def __init__(self, vm, server: AdbServer, *args: str) -> None:
        self.vm, self.server = vm, server
        self.serial = f"127.0.0.1:{vm.ports[GUEST_PORT]}"
        cmd = [vm.python, str(ADBPEER), "--listen", f"0.0.0.0:{GUEST_PORT}", *args]
        self.proc = vm.spawn(cmd, cwd="/")
        deadline = time.monotonic() + 60
        while "listening" not in self.proc.output()[0]:
            assert self.proc.poll() is None, self.proc.output()
            assert time.monotonic() < deadline, "the peer did not start in the VM"
            time.sleep(0.2)
        server.connect(self.serial, timeout=60)

    def stop(self) -> None:
        self.proc.kill(signal.SIGKILL)
        self.proc.wait(30)
        self.server.disconnect(self.serial)

    def __enter__(self) -> VmPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_ready(holder) -> str:
    """Wait for a guest holder's ``READY`` line; what follows it on that line."""
    deadline = time.monotonic() + 120
    while "READY" not in holder.output()[0]:
        assert holder.poll() is None, holder.output()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return holder.output()[0].split("READY", 1)[1].split("\n", 1)[0]


def adb_snapshot(server: AdbServer, serial: str) -> dict:
    r = server.dmabuf_top("snapshot", "--adb", serial, timeout=300)
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)


def local_snapshot(vm, uid: int | None = None) -> dict:
    """`dmabuf-top snapshot` in the guest; with uid, the local backend run by
    a process that dropped to that uid (after its imports)."""
    if uid is None:
        r = vm.run([dmabuf_top(vm), "snapshot", "--source", "proc"], timeout=300, cwd=str(REPO))
    else:
        code = (
            "import os, sys\n"
            "from dmabuf_top.collect.local import LocalBackend\n"
            "from dmabuf_top.io.codec import dump_snapshot\n"
            f"os.setgroups([]); os.setgid({uid}); os.setuid({uid})\n"
            "sys.stdout.write(dump_snapshot(LocalBackend(source='proc').collect()))\n"
        )
        r = vm.run([vm.python, "-c", code], timeout=300, cwd=str(REPO))
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)


@pytest.mark.kernels
def test_adb_snapshot_equals_local_snapshot(vm, server: AdbServer, scenario) -> None:
    with VmPeer(vm, server) as peer:
        remote = adb_snapshot(server, peer.serial)
        local = local_snapshot(vm)
    src = remote["source"]
    assert (src["kind"], src["serial"], src["kernel"]) == ("adb", peer.serial, vm.kernel_release)
    assert src["privilege"] == "root"
    assert comparable(remote) == comparable(local)
    # and it is the scenario, not two empty scans
    rec = scenario.record
    assert {b["inode"] for b in remote["buffers"]} == {int(i) for i in rec["buffers"]}
    assert remote["totals"]["bytes"] == rec["totals"]["bytes"] > 0
    assert remote["totals"]["kernel_only_bytes"] > 0
    assert remote["kernel"]["sources"] == ["bufinfo"]
    assert remote["boot_id"] == vm.boot_id
    # the scenario's regular file named /dmabuf:impostor/N (a live buffer's inode) is no holder
    (imp,) = rec["impostors"]
    assert imp["pid"] not in {h["pid"] for b in remote["buffers"] for h in b["holders"]}
    assert any(w.startswith("1 mapping of files named like dma-bufs")
               for w in remote["warnings"])

def test_delta_refreshes_equal_full_ones_while_buffers_come_and_go(vm, server: AdbServer) -> None:
    """The scenario's leakers allocate (and free, and pass to another process) dma-bufs
    all the time; they are stopped (SIGSTOP) while a delta refresh and a full one
    look, so both see the same moment. A worker killed: a dead process."""
    with start_scenario(vm, "--procs", "4", "--bufs-per-proc", "3", "--leak", "0.1") as sc, \
            VmPeer(vm, server) as peer:  # fmt: skip
        leakers = " ".join(str(p) for p in sc.record["leak"]["pids"].values())
        workers = [int(p) for p, i in sc.record["processes"].items() if i["role"] == "worker"]
        delta = open_adb_backend(serial=peer.serial, port=server.port)
        full = FullRefreshBackend(delta.client, peer.serial)
        full.setup()
        try:
            delta.collect()  # without a session
            delta.collect()
            assert delta.last_mode == "full missing"
            seen, counts = set(), set()
            for step in range(4):
                # the leakers at work until, stopped, the guest has a number of buffers
                # not seen yet
                wait_for(lambda: stopped_at_a_new_count(vm, leakers, counts), 300,
                         "the leakers at a new buffer count")
                if step == 2:
                    vm.sh(f"kill -KILL {workers[0]}")  # its fds and mappings go with it
                    wait_for(lambda: process_states(vm, str(workers[0]))[0] in "-Z", 120,
                             "the killed worker's exit")
                got = comparable(snapshot_to_dict(delta.collect()))
                assert delta.last_mode == "delta", step
                assert got == comparable(snapshot_to_dict(full.collect())), step
                seen.add(len(got["buffers"]))
                vm.sh(f"kill -CONT {leakers}")
            assert len(seen) >= 3  # the buffers did change between refreshes
            # unchanged (the leakers stopped): no section sent again
            stop(vm, leakers)
            delta.collect()
            delta.collect()
            text = gunzip(delta.last_data)
            assert b" !\n" not in text and b" +\n" not in text and len(delta.last_data) < 2000
            # the device lost its state: a full resync, the same snapshot
            want = comparable(snapshot_to_dict(full.collect()))
            vm.sh(f"rm -rf /tmp/dmabuf-top-s.{delta.delta.id}")
            assert comparable(snapshot_to_dict(delta.collect())) == want
            assert delta.last_mode == "full missing"
        finally:
            vm.sh(f"kill -CONT {leakers}")
            delta.close()
        assert vm.sh(f"ls -d /tmp/dmabuf-top-s.{delta.delta.id} 2>/dev/null || true") == ""


def process_states(vm, pids: str) -> list[str]:
    """The state letter of each guest process of ``pids`` (space-separated; its stat's
    third field), "-" for one gone."""
    script = (f"for p in {pids}; do s=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -c1); "
              'echo "${s:--}"; done')
    return vm.sh(script).split()


def stop(vm, pids: str) -> None:
    """SIGSTOP the guest's processes ``pids`` (space-separated) and wait until each is
    stopped (state T)."""
    vm.sh(f"kill -STOP {pids}")
    wait_for(lambda: set(process_states(vm, pids)) == {"T"}, 120, "the processes stopped")


def stopped_at_a_new_count(vm, pids: str, counts: set[int]) -> bool:
    """Stop ``pids``: true (and the count kept in ``counts``) if the guest then has a
    number of dma-bufs not in ``counts``, else they go on (SIGCONT)."""
    stop(vm, pids)
    _, (objects, _) = kernel_bufinfo(vm.read_file(BUFINFO).decode())
    if objects in counts:
        vm.sh(f"kill -CONT {pids}")
        return False
    counts.add(objects)
    return True


def test_su_zero_form_gives_root(vm, server: AdbServer, scenario) -> None:
    # shell uid 2000 with an AOSP userdebug-style su (rejects -c; su 0 CMD...)
    sudir = "/run/dt-su"
    vm.write_file(f"{sudir}/su.c", SU_C)
    vm.sh(f"cc -O -DAOSP -o {sudir}/su {sudir}/su.c && chmod 4755 {sudir}/su && chmod 755 {sudir}")
    with VmPeer(vm, server, "--uid", str(SHELL_UID), "--path-prefix", sudir) as peer:
        remote = adb_snapshot(server, peer.serial)
        local = local_snapshot(vm)
    assert remote["source"]["privilege"] == "root"
    assert comparable(remote) == comparable(local)
    assert len(remote["buffers"]) == len(scenario.record["buffers"])


def test_not_root_without_su(vm, server: AdbServer) -> None:
    # uid 2000 holds dma-bufs (one named to look like collector markers);
    # Debian's su wants a password, so the shell stays uid 2000
    hostile = "x\n@@0 f\n\n@@1 end\n"
    code = UNPRIVILEGED_HOLDER.replace('"shell buf"', repr(hostile))
    holder = vm.spawn([vm.python, "-c", code, VM_DIR, str(SHELL_UID)], cwd="/")
    try:
        wait_ready(holder)
        with VmPeer(vm, server, "--uid", str(SHELL_UID)) as peer:
            remote = adb_snapshot(server, peer.serial)
            local = local_snapshot(vm, uid=SHELL_UID)
    finally:
        holder.kill(signal.SIGTERM)
        holder.wait(60)
    assert remote["source"]["privilege"] == local["source"]["privilege"] == "limited"
    not_root = [w for w in remote["warnings"] if w.startswith("not root on the device")]
    assert not_root == [
        f"not root on the device (uid {SHELL_UID}, su refused): "
        "only the shell's own processes are shown; try --root"
    ]
    remote["warnings"].remove(not_root[0])
    assert comparable(remote) == comparable(local)
    names = sorted((b["name"] or "", b["size"]) for b in remote["buffers"])
    assert names == [("", 128 * 1024), ("shell map", 32 * 1024), (hostile, 64 * 1024)]
    assert [p["comm"] for p in remote["processes"]] == ["shellapp"]
    assert remote["kernel"]["sources"] == []  # debugfs is root's
    assert remote["unreadable_pids"]  # root's processes


@pytest.mark.parametrize("flavour", ["mksh+toybox", "busybox"])
def test_collector_under_other_shells(vm, scenario, flavour: str) -> None:
    """The same scan under Android's shell and tools, and under busybox."""
    bindir = f"/run/dt-{flavour}"
    if flavour == "busybox":
        bb = require("busybox")
        vm.sh(f"mkdir -p {bindir} && {bb} --install -s {bindir}")
        shell = [f"{bindir}/sh"]
    else:
        mksh, toybox = require("mksh"), require("toybox")
        applets = subprocess.run([toybox], capture_output=True, text=True).stdout.split()
        link = "import os,sys\nfor a in sys.argv[3:]: os.symlink(sys.argv[1], sys.argv[2]+'/'+a)"
        vm.sh(f"mkdir -p {bindir}")
        vm.run([vm.python, "-c", link, toybox, bindir, *applets], timeout=120, check=True)
        shell = [mksh]
    r = vm.run(
        [*shell, "-c", collector_script(), "dmabuf-top"],
        env={"PATH": bindir},
        timeout=300,
        text=False,
    )
    assert r.returncode == 0, r.stderr
    snap = assemble(parse_stream(r.stdout, "2026-01-01T00:00:00Z"))
    local = local_snapshot(vm)
    assert comparable(yaml.safe_load(dump_snapshot(snap))) == comparable(local)
    assert len(snap.buffers) == len(scenario.record["buffers"])


#: Android's cmd, the part dmabuf-top asks of it: the package list with uids, from
#: a file the test writes (anything else: cmd's own error)
ANDROID_CMD = """#!/bin/sh
if [ "$*" = "package list packages -U" ]; then exec cat "$(dirname "$0")/packages.txt"; fi
echo "cmd: Can't find service: $1" >&2
exit 255
"""
PACKAGES = (
    "package:com.google.android.youtube uid:10145\n"
    "package:com.example.shared.b uid:10200\n"
    "package:com.example.shared.a uid:10200\n"
    "package:android uid:1000\n"
    "package:com.android.settings uid:1000\n"
)
#: uid of each holder -> the app (and USER) the device's snapshot must give it
APP_UIDS = {
    10145: "com.google.android.youtube",
    10200: "com.example.shared.a,com.example.shared.b",  # a shared uid: its packages
    10999: "u0_a999",  # an app uid no package claims
    99005: "isolated",
    1013: "media",
}
# Root makes one vgem dma-buf per uid and hands each to a child that becomes that uid.
UID_HOLDERS = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import vgem
card = vgem.Card()
uids = [int(u) for u in sys.argv[2:]]
fds = [card.dmabuf(64 * 1024 * (i + 1)) for i in range(len(uids))]
card.close()
pids = []
for i, uid in enumerate(uids):
    pid = os.fork()
    if pid == 0:
        for j, fd in enumerate(fds):
            if j != i:
                os.close(fd)
        vgem.die_with_parent(signal.SIGTERM)
        os.setgroups([]); os.setgid(uid); os.setuid(uid)
        signal.pause()
        os._exit(0)
    pids.append(pid)
for fd in fds:
    os.close(fd)
print("READY", " ".join(map(str, pids)), flush=True)
signal.signal(signal.SIGTERM, lambda *a: (vgem.stop_children(pids), os._exit(0)))
while True:
    signal.pause()
"""


def test_uids_map_to_packages_through_cmd_package(vm, server: AdbServer) -> None:
    tools = "/tmp/android-tools"
    vm.write_file(f"{tools}/cmd", ANDROID_CMD)
    vm.write_file(f"{tools}/packages.txt", PACKAGES)
    vm.run(["chmod", "755", tools, f"{tools}/cmd"], timeout=60, check=True)
    holder = vm.spawn([vm.python, "-c", UID_HOLDERS, VM_DIR, *map(str, APP_UIDS)], cwd="/")
    try:
        pids = [int(p) for p in wait_ready(holder).split()]
        with VmPeer(vm, server, "--path-prefix", tools) as peer:
            remote = adb_snapshot(server, peer.serial)
            r = server.dmabuf_top("--once", "--adb", peer.serial, "--view", "apps",
                                  "--format", "json", timeout=300)
    finally:
        holder.kill(signal.SIGTERM)
        holder.wait(60)
    assert r.returncode == 0, r.stderr
    procs = {p["pid"]: p for p in remote["processes"]}
    assert set(procs) == set(pids)
    for pid, (uid, app) in zip(pids, APP_UIDS.items(), strict=True):
        assert (procs[pid]["uid"], procs[pid]["app"], procs[pid]["user"]) == (uid, app, app)
    rows = {row["app"]: row for row in json.loads(r.stdout)["rows"]}
    assert set(rows) == set(APP_UIDS.values())
    assert all(rows[procs[pid]["app"]]["rss"] == procs[pid]["rss"] for pid in pids)
