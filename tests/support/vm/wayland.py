"""The Wayland pattern of GEM handles, for scenario.py (run in the test VM as root).

A client (``wl-client``) allocates two vgem buffers, exports each, sends the fds to the
server (``wl-server``) over a Unix socket and closes its own: it keeps the GEM handles
only. It also sends the second to an importer (``wl-importer``), which imports it into
its own vgem file and closes the fd: that buffer is held by handles in two processes.
The importer also imports a system-heap buffer (a vgem one where the kernel has no
heaps) and closes the fd: held by its handle only. The server keeps the fds.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import vgem

MiB = 1024 * 1024
#: dma-buf file references of a vgem buffer per DRM file that exported or imported it,
#: and the exporting GEM object's own (the facts measured on 6.18 and 7.3)
PER_DRM_FILE, EXPORTING_OBJECT = 1, 1


def client(h: Any, to_server: socket.socket, to_importer: socket.socket) -> None:
    card = vgem.Card()
    fds = []
    for name, size in (("window-0", 4 * MiB), ("window-1", 2 * MiB)):
        handle = card.create_handle(size)
        fd = card.export(handle)
        vgem.set_name(fd, name)
        ino = h.note(fd, name)
        h.handle(card, ino, handle)
        h.buffers[ino]["count_extra"] = PER_DRM_FILE + EXPORTING_OBJECT
        fds.append(fd)
    vgem.send_fds(to_server, fds)
    vgem.send_fds(to_importer, fds[1:])
    for fd in fds:  # the server keeps them: here the handles only
        os.close(fd)
    h.card = card


def importer(h: Any, from_client: socket.socket) -> None:
    card = vgem.Card()
    (shared,) = vgem.recv_fds(from_client, 1)
    ino = h.note(shared)
    h.handle(card, ino, card.import_fd(shared))
    h.buffers[ino]["count_extra"] = PER_DRM_FILE  # a second DRM file (a self-import)
    os.close(shared)
    if os.path.exists(vgem.SYSTEM_HEAP):
        fd = vgem.heap_alloc(1 * MiB)
        vgem.set_name(fd, "imported-heap")
        ino = h.note(fd, "imported-heap", exporter="system", attachments=1, imports=1)
    else:
        fd = card.dmabuf(1 * MiB, "imported-vgem")
        ino = h.note(fd, "imported-vgem")
        h.buffers[ino]["count_extra"] = PER_DRM_FILE + EXPORTING_OBJECT
    h.handle(card, ino, card.import_fd(fd))
    os.close(fd)
    h.card = card


def server(h: Any, from_client: socket.socket) -> None:
    for fd in vgem.recv_fds(from_client, 2):  # no O_CLOEXEC on fds received over SCM_RIGHTS
        h.hold(fd)
