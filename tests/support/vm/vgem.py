"""Minimal vgem/DRM + dma-buf ioctls in pure Python (fcntl.ioctl + struct + ctypes).

Used by scenario.py and demo_scene.py inside the test VM (root, vgem loaded), with the
process plumbing both share (comm, cmdline, parent death, stopping their children).
"""

from __future__ import annotations

import array
import ctypes
import fcntl
import mmap
import os
import signal
import socket
import struct
from pathlib import Path

DRM_IOCTL_VERSION = 0xC0406400
DRM_IOCTL_GEM_CLOSE = 0x40086409
DRM_IOCTL_PRIME_HANDLE_TO_FD = 0xC00C642D
DRM_IOCTL_PRIME_FD_TO_HANDLE = 0xC00C642E
DRM_IOCTL_MODE_CREATE_DUMB = 0xC02064B2
DMA_BUF_SET_NAME = 0x40086201
#: vgem fences: DRM_IOWR(0x41, {u32 handle, flags, out_fence, pad}),
#: DRM_IOW(0x42, {u32 fence, flags})
DRM_IOCTL_VGEM_FENCE_ATTACH = 0xC0106441
DRM_IOCTL_VGEM_FENCE_SIGNAL = 0x40086442
VGEM_FENCE_WRITE = 0x1
#: _IOWR('H', 0, struct dma_heap_allocation_data {u64 len; u32 fd; u32 fd_flags; u64 heap_flags})
DMA_HEAP_IOCTL_ALLOC = 0xC0184800
#: _IOW('u', 0x42, struct udmabuf_create {u32 memfd; u32 flags; u64 offset; u64 size})
UDMABUF_CREATE = 0x40187542
F_ADD_SEALS, F_SEAL_SHRINK, MFD_ALLOW_SEALING = 1033, 0x2, 0x2
SYSTEM_HEAP = "/dev/dma_heap/system"
UDMABUF_DEV = "/dev/udmabuf"
DRM_CLOEXEC_RDWR = os.O_CLOEXEC | os.O_RDWR  # 0x80002
DMA_BUF_NAME_MAX = 31  # DMA_BUF_NAME_LEN (32) minus the NUL
PAGE = mmap.PAGESIZE

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = (
    ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long
)  # fmt: skip
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong)  # fmt: skip
PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1
PR_SET_MM, PR_SET_MM_ARG_START, PR_SET_MM_ARG_END = 35, 8, 9
#: the argv areas set_cmdline made (the kernel reads /proc/PID/cmdline from them)
_argv_areas: list[ctypes.Array] = []


def driver_name(card_fd: int) -> str:
    """DRM_IOCTL_VERSION: the driver name of an open DRM device."""
    name = ctypes.create_string_buffer(64)
    # struct drm_version: 3 x int, pad, then (size_t len, char *ptr) x 3 (name, date, desc)
    arg = bytearray(struct.pack("iii4xQQQQQQ", 0, 0, 0, 64, ctypes.addressof(name), 0, 0, 0, 0))
    fcntl.ioctl(card_fd, DRM_IOCTL_VERSION, arg)
    return name.value.decode()


def find_card(driver: str = "vgem") -> str:
    """Path of the /dev/dri/cardN node driven by `driver`."""
    for card in sorted(Path("/sys/class/drm").glob("card[0-9]*")):
        if "-" in card.name:  # connectors: card0-HDMI-A-1
            continue
        drv = card / "device" / "driver"
        if drv.exists() and os.path.basename(os.readlink(drv)) == driver:
            return f"/dev/dri/{card.name}"
    for dev in sorted(Path("/dev/dri").glob("card*")):
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
        try:
            if driver_name(fd) == driver:
                return str(dev)
        finally:
            os.close(fd)
    raise FileNotFoundError(f"no DRM card with driver {driver!r} (is the module loaded?)")


class Card:
    """An open vgem card that makes dma-bufs."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or find_card()
        self.fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)

    def create_handle(self, size: int) -> int:
        """A dumb GEM buffer of at least `size` bytes (rounded up to pages)."""
        width = 1024  # bpp 8: pitch 1024 bytes
        height = -(-max(size, PAGE) // width)
        arg = bytearray(struct.pack("IIIIIIQ", height, width, 8, 0, 0, 0, 0))
        fcntl.ioctl(self.fd, DRM_IOCTL_MODE_CREATE_DUMB, arg)
        return struct.unpack("IIIIIIQ", arg)[4]

    def export(self, handle: int) -> int:
        arg = bytearray(struct.pack("IIi", handle, DRM_CLOEXEC_RDWR, -1))
        fcntl.ioctl(self.fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, arg)
        return struct.unpack("IIi", arg)[2]

    def import_fd(self, dmabuf_fd: int) -> int:
        arg = bytearray(struct.pack("IIi", 0, 0, dmabuf_fd))
        fcntl.ioctl(self.fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, arg)
        return struct.unpack("IIi", arg)[0]

    def gem_close(self, handle: int) -> None:
        fcntl.ioctl(self.fd, DRM_IOCTL_GEM_CLOSE, struct.pack("II", handle, 0))

    def dmabuf(
        self, size: int, name: bytes | str | None = None, fenced: bool = False
    ) -> int:
        """A new dma-buf fd (its GEM handle closed: count = fds + mappings). ``fenced``:
        with a write fence on it, signalled at once (vgem's fence ioctls), so bufinfo
        lists it as signalled whenever it is read."""
        handle = self.create_handle(size)
        try:
            fd = self.export(handle)
            if fenced:
                self.fence_signal(self.fence_attach(handle, VGEM_FENCE_WRITE))
        finally:
            self.gem_close(handle)
        if name is not None:
            set_name(fd, name)
        return fd

    def fence_attach(self, handle: int, flags: int = VGEM_FENCE_WRITE) -> int:
        arg = bytearray(struct.pack("IIII", handle, flags, 0, 0))
        fcntl.ioctl(self.fd, DRM_IOCTL_VGEM_FENCE_ATTACH, arg)
        return struct.unpack("IIII", arg)[2]

    def fence_signal(self, fence: int) -> None:
        fcntl.ioctl(self.fd, DRM_IOCTL_VGEM_FENCE_SIGNAL, struct.pack("II", fence, 0))

    def close(self) -> None:
        os.close(self.fd)


def set_name(fd: int, name: bytes | str) -> None:
    raw = name.encode() if isinstance(name, str) else name
    if len(raw) > DMA_BUF_NAME_MAX or b"\0" in raw:
        raise ValueError(f"bad dma-buf name {raw!r}")
    buf = ctypes.create_string_buffer(raw)
    # the argument is the string's address itself (fcntl.ioctl only takes a C int)
    if _libc.ioctl(fd, ctypes.c_ulong(DMA_BUF_SET_NAME), buf) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"DMA_BUF_SET_NAME: {os.strerror(err)}")


def heap_alloc(size: int, heap: str = SYSTEM_HEAP) -> int:
    """A dma-buf from a DMA-BUF heap (exporter: the heap's name)."""
    hfd = os.open(heap, os.O_RDONLY | os.O_CLOEXEC)
    try:
        arg = bytearray(struct.pack("QIIQ", size, 0, DRM_CLOEXEC_RDWR, 0))
        fcntl.ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, arg)
        return struct.unpack("QIIQ", arg)[1]
    finally:
        os.close(hfd)


def udmabuf(size: int) -> int:
    """A dma-buf over a sealed memfd (exporter ``udmabuf``)."""
    size = -(-size // PAGE) * PAGE
    mfd = os.memfd_create("dmabuf-top-udmabuf", MFD_ALLOW_SEALING)
    dev = os.open(UDMABUF_DEV, os.O_RDWR | os.O_CLOEXEC)
    try:
        os.ftruncate(mfd, size)
        fcntl.fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK)
        arg = ctypes.create_string_buffer(struct.pack("IIQQ", mfd, 0x1, 0, size))  # CLOEXEC
        fd = _libc.ioctl(dev, ctypes.c_ulong(UDMABUF_CREATE), arg)  # returns the new fd
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"UDMABUF_CREATE: {os.strerror(err)}")
        return fd
    finally:
        os.close(dev)
        os.close(mfd)


def size_of(fd: int) -> int:
    return os.lseek(fd, 0, os.SEEK_END)


def inode_of(fd: int) -> int:
    return os.fstat(fd).st_ino


def map_shared(fd: int, length: int) -> tuple[int, int]:
    """mmap(PROT_READ|PROT_WRITE, MAP_SHARED) a dma-buf; returns (start, end); never unmapped."""
    length = -(-length // PAGE) * PAGE
    addr = _libc.mmap(None, length, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        err = ctypes.get_errno()
        raise OSError(err, f"mmap dma-buf: {os.strerror(err)}")
    return addr, addr + length


def mapped_as_dmabuf(start: int, ino: int) -> bool:
    """Whether /proc/self/maps shows the mapping at ``start`` as dma-buf ``ino``."""
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split(None, 5)
            if int(fields[0].split("-")[0], 16) == start:
                return fields[4] == str(ino) and fields[-1].startswith("/dmabuf")
    return False


def mount_tmpfs(path: str) -> None:
    """mount -t tmpfs tmpfs PATH (root): a fresh tmpfs numbers its files from 2."""
    if _libc.mount(b"tmpfs", path.encode(), b"tmpfs", 0, b"size=4m") != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount tmpfs on {path}: {os.strerror(err)}")


def umount(path: str) -> None:
    """umount PATH (lazily) and remove the directory; quiet when not mounted."""
    _libc.umount2(path.encode(), 2)  # MNT_DETACH
    try:
        os.rmdir(path)
    except OSError:
        pass


def set_comm(name: bytes | str) -> None:
    raw = name.encode() if isinstance(name, str) else name
    buf = ctypes.create_string_buffer(raw[:15])
    _libc.prctl(PR_SET_NAME, ctypes.addressof(buf), 0, 0, 0)


def set_cmdline(argv: list[str]) -> None:
    """Make /proc/self/cmdline read ``argv`` (NUL-separated, as exec leaves it): point
    the kernel's argv range at a new buffer (PR_SET_MM: root, CAP_SYS_RESOURCE)."""
    raw = b"\0".join(a.encode() for a in argv) + b"\0"
    area = ctypes.create_string_buffer(raw, len(raw))
    start = ctypes.addressof(area)
    end = start + len(raw)
    # the kernel keeps arg_start <= arg_end after each call: a range above the old one
    # moves its end first, one below it its start first (the wrong order fails, unchanged)
    for order in ((PR_SET_MM_ARG_END, end), (PR_SET_MM_ARG_START, start)), (
        (PR_SET_MM_ARG_START, start), (PR_SET_MM_ARG_END, end)
    ):
        if all(_libc.prctl(PR_SET_MM, ctypes.c_void_p(opt), addr, 0, 0) == 0
               for opt, addr in order):
            _argv_areas.append(area)
            return
    err = ctypes.get_errno()
    raise OSError(err, f"PR_SET_MM_ARG_START/END: {os.strerror(err)}")


def die_with_parent(sig: int) -> None:
    _libc.prctl(PR_SET_PDEATHSIG, ctypes.c_void_p(sig), 0, 0, 0)


def stop_children(pids: list[int]) -> None:
    """SIGTERM each of ``pids`` (children of this process), then reap them all."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def send_fds(sock: socket.socket, fds: list[int]) -> None:
    """Send ``fds`` over a Unix socket (SCM_RIGHTS), with one byte of data."""
    sock.sendmsg([b"f"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])


def recv_fds(sock: socket.socket, n: int) -> list[int]:
    """Receive ``n`` fds sent by :func:`send_fds` (they carry no O_CLOEXEC)."""
    fds = array.array("i")
    while len(fds) < n:
        _msg, anc, _f, _a = sock.recvmsg(16, socket.CMSG_SPACE(n * fds.itemsize))
        if not anc:
            raise RuntimeError("the peer closed the socket before sending its fds")
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return list(fds)
