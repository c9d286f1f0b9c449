"""Holders of real dma-bufs in app-like cgroups, for the app axis test (runs in the
guest, stdlib + vgem.py): cgroup v2 is mounted at /sys/fs/cgroup if it is not, two
systemd-like app scopes and a docker-like container scope are made under it (the
dmem and memory controllers enabled down to them where the kernel has them), and
each holder moves itself into its cgroup before it makes its buffers (vgem ones,
and a system-heap one where the kernel has heaps; one buffer shared by two apps).
``--extra N`` adds N holders in ten more app scopes (for benchmarks). Writes ``--out``
(JSON: pid -> cgroup path, comm, and the inode -> size of what it holds) once every
holder is ready; SIGTERM stops them and removes the cgroups."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgem  # noqa: E402

ROOT = "/sys/fs/cgroup"
USER_APPS = "/user.slice/user-1000.slice/user@1000.service/app.slice"
CONTAINER = "/system.slice/docker-" + "3f9a0c" * 10 + "5e2d.scope"
#: (cgroup path, comm, vgem buffer sizes) of each holder; the first two share a scope
HOLDERS = [
    (f"{USER_APPS}/app-gnome-org.gnome.Foo-1234.scope", "foo-main", [256 << 10, 64 << 10]),
    (f"{USER_APPS}/app-gnome-org.gnome.Foo-1234.scope", "foo-helper", [128 << 10]),
    (f"{USER_APPS}/app-gnome-org.gnome.Bar-77.scope", "bar", [512 << 10]),
    (CONTAINER, "containerd-app", [96 << 10]),
]
#: ``--forger``: the one holder, in a cgroup a user could make in their delegated subtree,
#: whose name holds a carriage return and a v2 line naming another cgroup (the kernel
#: refuses "\n" in a name, not "\r" nor U+2028, where str.splitlines() also breaks;
#: /proc/PID/cgroup prints the name as it is)
FORGED_LINE = "0::/system.slice/forged.scope"
FORGER = (f"{USER_APPS}/app-x-1.scope/x\r{FORGED_LINE}", "forger", [64 << 10])


def ensure_cgroup2() -> None:
    if not os.path.exists(f"{ROOT}/cgroup.controllers"):
        subprocess.run(["mount", "-t", "cgroup2", "none", ROOT], check=True)


def make_cgroup(path: str) -> None:
    """``path`` and its parents, each enabling dmem and memory for its children
    where the kernel has them (an error there only means it has not)."""
    here = ROOT
    for part in path.strip("/").split("/"):
        for ctl in ("+dmem", "+memory"):
            try:
                with open(f"{here}/cgroup.subtree_control", "w") as f:
                    f.write(ctl)
            except OSError:
                pass
        here = f"{here}/{part}"
        os.makedirs(here, exist_ok=True)


def remove_cgroup(path: str) -> None:
    """``path`` and its parents, up to the first that is not empty."""
    parts = path.strip("/").split("/")
    while parts:
        try:
            os.rmdir(f"{ROOT}/{'/'.join(parts)}")
        except OSError:
            return
        parts.pop()


def remove_cgroups() -> None:
    for path in sorted({p for p, _, _ in HOLDERS}, key=len, reverse=True):
        remove_cgroup(path)


def holder(
    path: str, comm: str, sizes: list[int], shared: int | None, ready: socket.socket
) -> None:
    with open(f"{ROOT}{path}/cgroup.procs", "w") as f:
        f.write(str(os.getpid()))
    vgem.die_with_parent(signal.SIGTERM)
    vgem.set_comm(comm)
    card = vgem.Card()
    fds = [card.dmabuf(size, f"{comm}-{i}") for i, size in enumerate(sizes)]
    if os.path.exists(vgem.SYSTEM_HEAP):
        fds.append(vgem.heap_alloc(32 << 10))
    if shared is not None:
        fds.append(shared)
    held = {vgem.inode_of(fd): vgem.size_of(fd) for fd in fds}
    ready.sendall(json.dumps({"pid": os.getpid(), "cgroup": path, "comm": comm,
                              "held": held}).encode() + b"\n")
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    while True:
        signal.pause()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--extra", type=int, default=0,
                    help="this many more holders (one 16 KiB buffer each) in ten app scopes")
    ap.add_argument("--forger", action="store_true", help="only the forger holder")
    args = ap.parse_args()
    if args.forger:
        HOLDERS[:] = [FORGER]
    HOLDERS.extend(
        (f"{USER_APPS}/app-gnome-org.example.App{i % 10}-{i % 10}.scope", f"extra-{i}", [16 << 10])
        for i in range(args.extra)
    )
    ensure_cgroup2()
    for path in {p for p, _, _ in HOLDERS}:
        make_cgroup(path)
    card = vgem.Card()
    shared = card.dmabuf(192 << 10, "shared-foo-bar")  # held by Foo's main and by Bar
    pids, records = [], []
    for i, (path, comm, sizes) in enumerate(HOLDERS):
        a, b = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            a.close()
            if i not in (0, 2):
                os.close(shared)
            holder(path, comm, sizes, shared if i in (0, 2) else None, b)
            os._exit(0)
        b.close()
        pids.append(pid)
        records.append(json.loads(a.makefile().readline()))
        a.close()
    os.close(shared)
    card.close()

    def stop(*_: object) -> None:
        vgem.stop_children(pids)
        remove_cgroups()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"holders": records}, f)
    os.rename(tmp, args.out)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
