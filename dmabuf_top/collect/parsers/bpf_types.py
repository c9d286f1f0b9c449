"""The records dmabuf-top's BPF iterators give (read by bpf_records.py): a process's
dma-buf fds, GEM handles, mappings and facts, flags and maps permissions."""

from __future__ import annotations

from typing import NamedTuple

from dmabuf_top.collect.parsers.maps import MapsEntry

# vm_flags bits, as /proc/PID/maps turns them into "rwxs"
_VM_READ, _VM_WRITE, _VM_EXEC, _VM_MAYSHARE = 0x1, 0x2, 0x4, 0x80
# dmabuf_tasks' FLAGS: its comm (kernel thread) or cmdline is to be read from /proc
TASK_KERNEL_THREAD, TASK_CMDLINE_ELSEWHERE = 1, 2
NS_PER_SECOND = 1_000_000_000
#: drm_minor types (enum drm_minor_type) -> the /dev/dri node's prefix
MINOR_NODES = {0: "card", 2: "renderD", 32: "accel"}


class TaskFile(NamedTuple):
    """An open dma-buf fd of a process."""

    pid: int
    fd: int
    inode: int


class TaskHandle(NamedTuple):
    """A GEM handle of a process's open DRM file that names a dma-buf."""

    pid: int
    #: the DRM file's fd
    fd: int
    handle: int
    inode: int
    #: the DRM node: card0, renderD128, accel0
    device: str
    driver: str | None


class TaskVma(NamedTuple):
    """A mapping of a dma-buf in a process (``entry`` as a maps line would give it)."""

    pid: int
    entry: MapsEntry


class TaskFacts(NamedTuple):
    """What /proc/PID/{stat,comm,cmdline} and the owner of /proc/PID say of a
    process, as the task iterator read them from its thread-group leader."""

    pid: int
    ppid: int
    #: effective uid (the owner of /proc/PID)
    uid: int
    #: clock ticks since boot, as /proc/PID/stat's field 22
    start_time: int
    comm: str
    cmdline: str
    #: comm or cmdline must come from /proc instead (``TASK_*`` flags)
    flags: int

    @property
    def complete(self) -> bool:
        return not self.flags


def perms_of(vm_flags: int) -> str:
    """The ``rwxs`` column of /proc/PID/maps for these vm_flags."""
    return (
        ("r" if vm_flags & _VM_READ else "-")
        + ("w" if vm_flags & _VM_WRITE else "-")
        + ("x" if vm_flags & _VM_EXEC else "-")
        + ("s" if vm_flags & _VM_MAYSHARE else "p")
    )


def ns_per_tick(ticks_per_second: int) -> int:
    """Nanoseconds per clock tick (the task iterator's start times -> /proc's)."""
    if ticks_per_second <= 0 or NS_PER_SECOND % ticks_per_second:
        raise ValueError(f"clock ticks per second: {ticks_per_second}")
    return NS_PER_SECOND // ticks_per_second


def device_node(minor_type: int, index: int) -> str:
    """The /dev/dri node's name of a drm_minor (type, index): card0, renderD128."""
    return f"{MINOR_NODES.get(minor_type, 'drm')}{index}"
