"""Build a known dma-buf landscape in the test VM and write its ground truth as JSON.

Run as root inside the guest (vgem loaded)::

    python tests/support/vm/scenario.py --out /tmp/scenario.json [--procs 200 --bufs-per-proc 20]
                                [--plain-fds 1000 --plain-procs 10] [--leak SECONDS]

Processes (comm names): compositor (this process), renderer, camera, decoder, "[red]hog",
wl-client, wl-importer and wl-server (GEM handles: wayland.py), worker-NNN (--procs),
plainfds-NN (--plain-fds), leak-* (--leak).  Once everything is
set up the record is written atomically to --out and "READY <path>" printed; then the
scenario waits for SIGTERM/SIGINT, stops its children and exits.

Ground truth record::

    {"boot_id", "kernel", "scenario_pid",
     "processes": {pid: {"comm": str, "role": str}},
     "buffers": {ino: {"inode", "size", "name" (str|null), "exporter": "drm",
                       "holders": {pid: {"fds": [int], "maps": [[start, end, "rw-s"]]}},
                       "handles": {pid: [[drm_fd, handle, "card0"]]},
                       "kernel_only": bool, "count": int}},
     "totals": {"buffers", "bytes"}}

`holders` are the holders by fd or mapping; `handles` the GEM handles that name the
buffer (of DRM files open in those processes). `kernel_only`: no fd or mapping holds
it (what the /proc walk sees); held by nobody at all: `kernel_only` and no `handles`.
`count` is the dma-buf file count the kernel reports: one per fd, one per mapping; a
buffer imported into a GEM handle with every fd closed counts 2 (the DRM prime cache
and the GEM object's export reference).  Names are decoded as UTF-8.
The compositor's "kernel-only" buffer is held by a handle of a DRM file that no
process has open (sent over a Unix socket and never received): nobody holds it.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import resource
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgem  # noqa: E402
import wayland  # noqa: E402

KiB, MiB = 1024, 1024 * 1024
NAME_SPACES = "scanout 0"
NAME_31 = "camera-preview-ring-buffer-0031"
NAME_MARKUP = "[bold]evil\x1b[31m[/bold]"
NAME_TAB = "tab\tname"
NAME_NEWLINE = "line1\nline2"
HOSTILE_COMM = "[red]hog"
NAME_FENCED = "fenced"
#: a DMA-BUF heap / udmabuf buffer imported into vgem: vgem's device is attached, and
#: the import holds three file references on 6.18 (measured in the VM: a fresh heap
#: buffer's count goes 1 -> 4 on PRIME_FD_TO_HANDLE, back to 1 on GEM_CLOSE)
IMPORT_COUNT = 3
#: a tmpfs mounted here holds the impostor: a regular file at /dmabuf:impostor/N whose
#: fd link and maps line look like a dma-buf's and whose inode equals a real buffer's
IMPOSTOR_DIR = "/dmabuf:impostor"
KERNEL_ONLY_COUNT = 2
#: sockets open for the life of the scenario (one holds a DRM file in flight)
_KEPT: list[socket.socket] = []
assert len(NAME_31.encode()) == 31


class Holder:
    """What one process holds, built as it goes; sent to the parent as JSON."""

    def __init__(self, role: str, comm: str) -> None:
        self.role, self.comm = role, comm
        self.buffers: dict[int, dict] = {}
        self.fds: dict[int, list[int]] = {}
        self.maps: dict[int, list[list]] = {}
        self.kernel_only: list[int] = []
        #: inode -> [drm fd, handle, device] of the GEM handles that name it
        self.handles: dict[int, list[list]] = {}
        #: a DRM card kept open (imports into it stay attached)
        self.card: vgem.Card | None = None
        self.impostor: dict | None = None

    def note(self, fd: int, name: str | None = None, exporter: str = "drm", **extra: int) -> int:
        """Record a buffer; ``extra``: attachments / fences it has (counts)."""
        ino = vgem.inode_of(fd)
        info = self.buffers.setdefault(
            ino, {"size": vgem.size_of(fd), "name": None, "exporter": exporter,
                  "attachments": 0, "fences": 0, "imports": 0},
        )  # fmt: skip
        if name is not None:
            info["name"] = name
        for key, n in extra.items():
            info[key] += n
        return ino

    def handle(self, card: vgem.Card, ino: int, handle: int) -> None:
        """A GEM handle of ``card`` (kept open) that names buffer ``ino``."""
        self.handles.setdefault(ino, []).append([card.fd, handle, os.path.basename(card.path)])

    def hold(self, fd: int, name: str | None = None) -> int:
        ino = self.note(fd, name)
        self.fds.setdefault(ino, []).append(fd)
        return ino

    def drop(self, fd: int) -> None:
        ino = vgem.inode_of(fd)
        self.fds[ino].remove(fd)
        os.close(fd)

    def map(self, fd: int, name: str | None = None) -> int:
        """Map the buffer; the mapping is a holder only where the kernel shows it as
        the dma-buf (/proc/self/maps): on 5.10 vgem swaps in its own file (``/drm mm
        object``), so there the mapping neither holds nor counts."""
        ino = self.note(fd, name)
        start, end = vgem.map_shared(fd, self.buffers[ino]["size"])
        if vgem.mapped_as_dmabuf(start, ino):
            self.maps.setdefault(ino, []).append([start, end, "rw-s"])
        return ino

    def report(self) -> dict:
        return {
            "pid": os.getpid(),
            "role": self.role,
            "comm": self.comm,
            "buffers": {str(k): v for k, v in self.buffers.items()},
            "fds": {str(k): v for k, v in self.fds.items() if v},
            "maps": {str(k): v for k, v in self.maps.items() if v},
            "kernel_only": self.kernel_only,
            "handles": {str(k): v for k, v in self.handles.items()},
            "impostor": self.impostor,
        }


def new(card: vgem.Card, h: Holder, size: int, name: str | None = None) -> int:
    fd = card.dmabuf(size, name)
    h.hold(fd, name)
    return fd


# -- the processes -------------------------------------------------------------
def renderer(h: Holder, shared_fd: int) -> None:
    h.hold(shared_fd)  # inherited through fork: held by compositor and renderer


def camera(h: Holder, sock: socket.socket) -> None:
    card = vgem.Card()
    new(card, h, 2 * MiB, NAME_31)
    for size in (64 * KiB, 128 * KiB, 256 * KiB):
        new(card, h, size)
    mfd = card.dmabuf(1 * MiB, "preview-map")
    h.map(mfd, "preview-map")  # map-only holder: the fd is closed right away
    os.close(mfd)
    x = new(card, h, 3 * MiB, "to-decoder-kept")  # sent, and kept here too
    y = card.dmabuf(512 * KiB)  # sent, then closed here: only the decoder holds it
    h.note(y)
    sock.sendmsg([b"xy"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [x, y]))])
    os.close(y)
    card.close()


def decoder(h: Holder, sock: socket.socket) -> None:
    card = vgem.Card()
    new(card, h, 4 * MiB, NAME_MARKUP)
    d = new(card, h, 2 * MiB)
    h.hold(os.dup(d))  # one buffer behind two fd numbers
    fds = array.array("i")
    while len(fds) < 2:
        _, anc, _, _ = sock.recvmsg(16, socket.CMSG_SPACE(2 * fds.itemsize))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    for fd in fds:  # no O_CLOEXEC on fds received over SCM_RIGHTS
        h.hold(fd)
    card.close()


def hog(h: Holder, tab_name: bool, newline_name: bool) -> None:
    card = vgem.Card()
    for _ in range(3):
        new(card, h, 4 * MiB)
    fenced = card.dmabuf(256 * KiB, NAME_FENCED, fenced=True)  # a signalled write fence
    h.note(fenced, NAME_FENCED, fences=1)
    h.hold(fenced)
    if tab_name:
        new(card, h, 64 * KiB, NAME_TAB)
    if newline_name:
        fd = new(card, h, 64 * KiB, NAME_NEWLINE)
        h.map(fd)
    card.close()


def heaps(h: Holder, sock: socket.socket) -> None:
    """6.18: a system-heap buffer (named, shared with heap-peer over SCM_RIGHTS, imported
    into vgem: an attachment) and a udmabuf (named, mapped, imported into vgem)."""
    card = vgem.Card()
    hb = vgem.heap_alloc(2 * MiB)
    vgem.set_name(hb, "heap-frame")
    ino = h.note(hb, "heap-frame", exporter="system", attachments=1, imports=1)
    h.hold(hb)
    h.handle(card, ino, card.import_fd(hb))  # the handle stays open: vgem stays attached
    ub = vgem.udmabuf(1 * MiB)
    vgem.set_name(ub, "udmabuf-ring")
    ino = h.note(ub, "udmabuf-ring", exporter="udmabuf", attachments=1, imports=1)
    h.hold(ub)
    h.handle(card, ino, card.import_fd(ub))
    h.map(ub)
    sock.sendmsg([b"h"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [hb]))])
    h.card = card  # keep the imports alive


def heap_peer(h: Holder, sock: socket.socket) -> None:
    fds = array.array("i")
    while not fds:
        _msg, anc, _f, _a = sock.recvmsg(16, socket.CMSG_LEN(4 * fds.itemsize))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    h.note(fds[0], exporter="system")
    h.hold(fds[0])


def worker(h: Holder, index: int, nbufs: int) -> None:
    card = vgem.Card()
    for i in range(nbufs):
        size = (4 << (i % 7)) * KiB  # 4 KiB .. 256 KiB
        fd = new(card, h, size, f"w{index}-b{i}" if i % 2 == 0 else None)
        if i % 10 == 3:
            h.map(fd)
    card.close()


def plain(h: Holder, nfds: int) -> None:
    raise_nofile(nfds + 64)
    for _ in range(nfds):
        os.open("/dev/null", os.O_RDONLY)


def leaker(h: Holder, period: float, mode: str, sock: socket.socket | None) -> None:
    """--leak: allocate forever (grow), allocate+free (churn) or share a growing set."""
    card = vgem.Card()
    n = 0
    while True:  # the parent does not wait for our report beyond the first
        n += 1
        if mode == "grow":
            card.dmabuf(1 * MiB, f"leak-{n}")  # fd kept forever
        elif mode == "churn":
            os.close(card.dmabuf(1 * MiB, f"churn-{n}"))
        elif mode == "share" and sock is not None:
            fd = card.dmabuf(256 * KiB, f"shared-{n}")
            sock.sendmsg([b"s"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
        time.sleep(period)


def leak_peer(sock: socket.socket) -> None:
    """Keeps every buffer the "share" leaker sends (the growing shared set)."""
    while True:
        _, anc, _, _ = sock.recvmsg(4, socket.CMSG_SPACE(4))
        if not anc:
            return


# -- plumbing ------------------------------------------------------------------
def raise_nofile(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(hard, n)))


def impostor(h: Holder, target_pipe: int) -> None:
    """Open and map a regular file named like a dma-buf with the inode of a live
    buffer (read from ``target_pipe``: forked before that buffer exists, this process
    inherits no fd or mapping of it): a tmpfs numbers its files 2, 3, ... so make
    files until one has it."""
    target = int(os.read(target_pipe, 64).decode())
    os.makedirs(IMPOSTOR_DIR, exist_ok=True)
    vgem.mount_tmpfs(IMPOSTOR_DIR)
    for n in range(200_000):
        path = f"{IMPOSTOR_DIR}/{n}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(fd).st_ino == target:
            break
        os.close(fd)
    else:
        raise RuntimeError(f"no tmpfs file got inode {target}")
    os.ftruncate(fd, vgem.PAGE)
    start, end = vgem.map_shared(fd, vgem.PAGE)
    st = os.fstat(fd)
    h.impostor = {"path": path, "inode": st.st_ino, "fd": fd, "maps": [[start, end, "rw-s"]],
                  "dev": f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"}


def close_all_but(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep and fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass


class Children:
    def __init__(self) -> None:
        self.pending: list[tuple[int, int]] = []  # (pid, report read fd)
        self.pids: list[int] = []

    def fork(self, role: str, comm: str, body: Callable[..., None], *args, keep=()) -> int:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                vgem.die_with_parent(signal.SIGKILL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                close_all_but({w, *keep})
                vgem.set_comm(comm)
                h = Holder(role, comm)
                body(h, *args)
                os.write(w, json.dumps(h.report()).encode())
                os.close(w)
                while True:
                    signal.pause()
            except BaseException:
                os.write(w, json.dumps({"error": traceback.format_exc()}).encode())
                code = 1
            os._exit(code)
        os.close(w)
        self.pending.append((pid, r))
        self.pids.append(pid)
        return pid

    def collect(self) -> list[dict]:
        out = []
        for pid, r in self.pending:
            chunks = []
            while chunk := os.read(r, 1 << 16):
                chunks.append(chunk)
            os.close(r)
            if not chunks:
                raise RuntimeError(f"child {pid} died before reporting")
            rep = json.loads(b"".join(chunks))
            if "error" in rep:
                raise RuntimeError(f"child {pid} failed:\n{rep['error']}")
            out.append(rep)
        self.pending.clear()
        return out

    def stop(self) -> None:
        vgem.stop_children(self.pids)


def compositor(h: Holder, card: vgem.Card) -> None:
    fd = new(card, h, 8 * MiB, NAME_SPACES)
    h.map(fd)  # mapped and held by fd
    new(card, h, 8 * MiB, "scanout 1")
    for size in (64 * KiB, 64 * KiB, 1 * MiB):
        new(card, h, size)
    # kernel-only: import into a GEM handle of a DRM file of its own, close every fd,
    # then send that DRM file over a socket nobody reads and close it: no process has
    # it open, so no process holds the buffer by any means (the socket keeps it alive)
    kcard = vgem.Card()
    kfd = kcard.dmabuf(6 * MiB, "kernel-only")
    h.note(kfd, "kernel-only")
    ino = vgem.inode_of(kfd)
    kcard.import_fd(kfd)
    os.close(kfd)
    h.kernel_only.append(ino)
    limbo = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    _KEPT.extend(limbo)  # for the life of the scenario
    vgem.send_fds(limbo[0], [kcard.fd])
    kcard.close()


def merge(reports: list[dict]) -> dict:
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot_id = f.read().strip()
    procs, bufs = {}, {}
    for rep in reports:
        pid = str(rep["pid"])
        procs[pid] = {"comm": rep["comm"], "role": rep["role"]}
        for ino, info in rep["buffers"].items():
            b = bufs.setdefault(
                ino,
                {"inode": int(ino), "size": info["size"], "name": None,
                 "exporter": info["exporter"], "holders": {}, "handles": {}, "kernel_only": False,
                 "count": 0, "attachments": 0, "fences": 0},
            )  # fmt: skip
            b["name"] = b["name"] or info["name"]
            b["attachments"] += info["attachments"]
            b["fences"] += info["fences"]
            b["count"] += IMPORT_COUNT * info["imports"] + info.get("count_extra", 0)
        for key in ("fds", "maps"):
            for ino, items in rep[key].items():
                holder = bufs[ino]["holders"].setdefault(pid, {"fds": [], "maps": []})
                holder[key].extend(items)
                bufs[ino]["count"] += len(items)
        for ino in rep["kernel_only"]:
            b = bufs[str(ino)]
            b["kernel_only"] = True
            b["count"] += KERNEL_ONLY_COUNT
        for ino, handles in rep["handles"].items():
            bufs[ino]["handles"][pid] = sorted(handles)
    impostors = [dict(r["impostor"], pid=r["pid"]) for r in reports if r.get("impostor")]
    # a buffer nobody holds and the kernel does not keep is gone (5.10 frees a vgem
    # buffer whose fds are closed even while it is mapped)
    bufs = {k: b for k, b in bufs.items() if b["holders"] or b["kernel_only"] or b["handles"]}
    for b in bufs.values():
        b["kernel_only"] = not b["holders"]
        for holder in b["holders"].values():
            holder["fds"].sort()
            holder["maps"].sort()
    return {
        "boot_id": boot_id,
        "kernel": os.uname().release,
        "scenario_pid": os.getpid(),
        "processes": procs,
        "buffers": dict(sorted(bufs.items(), key=lambda kv: int(kv[0]))),
        "impostors": impostors,
        "totals": {"buffers": len(bufs), "bytes": sum(b["size"] for b in bufs.values())},
    }


def build(args: argparse.Namespace, kids: Children) -> dict:
    vgem.set_comm("compositor")
    me = Holder("compositor", "compositor")
    card = vgem.Card()
    shared = card.dmabuf(1 * MiB)
    kids.fork("renderer", "renderer", renderer, shared, keep={shared})
    me.hold(shared)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    kids.fork("camera", "camera", camera, a, keep={a.fileno()})
    kids.fork("decoder", "decoder", decoder, b, keep={b.fileno()})
    a.close()
    b.close()
    kids.fork("hog", HOSTILE_COMM, hog, not args.no_tab_name, args.newline_name)
    if os.path.exists(vgem.SYSTEM_HEAP) and os.path.exists(vgem.UDMABUF_DEV):
        c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        kids.fork("heaps", "heaps", heaps, c, keep={c.fileno()})
        kids.fork("heap-peer", "heap-peer", heap_peer, d, keep={d.fileno()})
        c.close()
        d.close()
    for i in range(args.procs):
        kids.fork("worker", f"worker-{i:03d}", worker, i, args.bufs_per_proc)
    for i in range(args.plain_procs if args.plain_fds else 0):
        kids.fork("plain", f"plainfds-{i:02d}", plain, args.plain_fds)
    client_server, server_client = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    client_importer, importer_client = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    kids.fork("wl-client", "wl-client", wayland.client, client_server, client_importer,
              keep={client_server.fileno(), client_importer.fileno()})
    kids.fork("wl-importer", "wl-importer", wayland.importer, importer_client,
              keep={importer_client.fileno()})
    kids.fork("wl-server", "wl-server", wayland.server, server_client,
              keep={server_client.fileno()})
    for s in (client_server, server_client, client_importer, importer_client):
        s.close()
    reports = kids.collect()
    if not args.no_impostor:  # will mimic "scanout 0", held by fd and mapped
        target_r, target_w = os.pipe()
        kids.fork("impostor", "impostor", impostor, target_r, keep={target_r})
        os.close(target_r)
    compositor(me, card)  # after every fork: children inherit no mapping
    if not args.no_impostor:
        target = next(ino for ino, b in me.buffers.items() if b["name"] == NAME_SPACES)
        os.write(target_w, str(target).encode())
        os.close(target_w)
        reports += kids.collect()
    record = merge([me.report(), *reports])
    if args.leak:
        record["leak"] = start_leakers(args.leak, kids)
    return record


def start_leakers(period: float, kids: Children) -> dict:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pids = {
        "grow": kids.fork("leak", "leak-grow", leaker, period, "grow", None),
        "churn": kids.fork("leak", "leak-churn", leaker, period, "churn", None),
        "share": kids.fork("leak", "leak-share", leaker, period, "share", a, keep={a.fileno()}),
        "peer": kids.fork("leak", "leak-peer", lambda h, s: leak_peer(s), b, keep={b.fileno()}),
    }
    a.close()
    b.close()
    for _, r in kids.pending:  # leakers never report: their holdings change all the time
        os.close(r)
    kids.pending.clear()
    return {"period": period, "pids": {k: v for k, v in pids.items()}}


def write_atomic(path: str, record: dict) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="where to write the JSON ground truth")
    p.add_argument("--procs", type=int, default=0, help="extra worker processes")
    p.add_argument("--bufs-per-proc", type=int, default=20)
    p.add_argument("--plain-fds", type=int, default=0, help="ordinary fds per plain process")
    p.add_argument("--plain-procs", type=int, default=10)
    p.add_argument("--leak", type=float, default=0, help="start leakers with this period (s)")
    p.add_argument("--no-tab-name", action="store_true", help="no buffer named with a tab")
    p.add_argument("--newline-name", action="store_true", help="add a buffer named a\\nb")
    p.add_argument("--no-impostor", action="store_true",
                   help="no regular file named like a dma-buf (/dmabuf:impostor/N)")
    return p.parse_args(argv)


class Stop(BaseException):
    """SIGTERM/SIGINT received."""


def _stop(signum: int, frame: object) -> None:
    raise Stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_nofile(4096)
    kids = Children()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        record = build(args, kids)
        write_atomic(args.out, record)
        print(f"READY {args.out}", flush=True)
        while True:
            signal.pause()
    except Stop:
        return 0
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kids.stop()
        vgem.umount(IMPOSTOR_DIR)


if __name__ == "__main__":
    sys.exit(main())
