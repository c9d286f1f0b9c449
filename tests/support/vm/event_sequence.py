"""A scripted dma-buf life for the event tests, run as root in the test VM:

    python event_sequence.py [--kind heap|udmabuf|vgem]

1. A exports a buffer (a system-heap or udmabuf buffer where the kernel has them: its
   import into vgem attaches vgem; else a vgem buffer, whose import into vgem is a
   self-import and attaches nothing);
2. A sends it to B (SCM_RIGHTS);  3. B imports it into vgem;
4. A closes its fd;  5. B closes its GEM handle (a detach, when it attached) and its fd:
   the last reference, the release.
Prints one JSON object: the pids, the inode, the exporter, size, both fds and the
device (null when none attached): what ``dmabuf-top events`` must have seen.
(The storm of export/release pairs is storm.c.)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vgem import (  # noqa: E402
    SYSTEM_HEAP,
    UDMABUF_DEV,
    Card,
    heap_alloc,
    inode_of,
    recv_fds,
    send_fds,
    udmabuf,
)

SIZE = 64 * 1024


def default_kind() -> str:
    if os.path.exists(SYSTEM_HEAP):
        return "heap"
    return "udmabuf" if os.path.exists(UDMABUF_DEV) else "vgem"


def importer(sock: socket.socket) -> None:
    """B: import the buffer it is sent into vgem, wait, then let it go."""
    card = Card()
    (fd,) = recv_fds(sock, 1)
    handle = card.import_fd(fd)
    sock.sendall(json.dumps({"fd": fd, "handle": handle}).encode())
    sock.recv(1)  # A closed its fd
    card.gem_close(handle)
    os.close(fd)
    card.close()
    sock.sendall(b"r")


def sequence(kind: str) -> dict:
    a_sock, b_sock = socket.socketpair()
    b = os.fork()
    if b == 0:
        a_sock.close()
        try:
            importer(b_sock)
        finally:
            os._exit(0)
    b_sock.close()
    if kind == "heap":
        fd, exporter = heap_alloc(SIZE), "system"
    elif kind == "udmabuf":
        fd, exporter = udmabuf(SIZE), "udmabuf"
    else:
        card = Card()
        fd, exporter = card.dmabuf(SIZE), "drm"
        card.close()
    ino = inode_of(fd)
    send_fds(a_sock, [fd])
    got = json.loads(a_sock.recv(4096))
    os.close(fd)
    a_sock.sendall(b"c")
    a_sock.recv(1)  # B released it
    os.waitpid(b, 0)
    return {
        "a": os.getpid(), "b": b, "inode": ino, "exporter": exporter, "size": SIZE,
        "a_fd": fd, "b_fd": got["fd"], "kind": kind,
        "device": None if kind == "vgem" else "vgem",
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--kind", choices=("heap", "udmabuf", "vgem"), default=default_kind())
    args = p.parse_args()
    print(json.dumps(sequence(args.kind)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
