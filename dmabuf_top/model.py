"""The one data model every backend fills and every view renders.

A :class:`Snapshot` is what one scan saw: every dma-buf (keyed by inode), who
holds it (per pid: fd numbers and mapped ranges), the processes involved, and
what the kernel-wide sources said. ``processes`` are the holders only; their
ancestors that hold nothing (for a process tree) are in ``ancestors``, apart, so
process counts and per-process Rss/Pss never see them.  Accounting (Rss/Pss, totals, exporters)
is derived from it in :mod:`dmabuf_top.analysis.accounting`; nothing here is computed
twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MapRange:
    """One mapping of a dma-buf in a process's address space."""

    start: int
    end: int
    perms: str = "rw-s"
    offset: int = 0

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class GemHandle:
    """A GEM handle that names a buffer: handle number ``handle`` of the DRM file
    open as ``fd`` on ``device`` (``card0``, ``renderD128``), driven by ``driver``."""

    fd: int
    handle: int
    device: str = ""
    driver: str | None = None

    def label(self) -> str:
        """``GEM handle 3 on card0 (vgem)``; raw text: escape it before showing it."""
        drv = f" ({self.driver})" if self.driver else ""
        return f"GEM handle {self.handle} on {self.device or '?'}{drv}"


@dataclass
class Holder:
    """What one process holds of one buffer: fd numbers, mappings and GEM handles
    (of its open DRM files, seen by the BPF scan only)."""

    pid: int
    fds: list[int] = field(default_factory=list)
    maps: list[MapRange] = field(default_factory=list)
    handles: list[GemHandle] = field(default_factory=list)

    @property
    def by_handle_only(self) -> bool:
        """It holds the buffer by GEM handle only: no fd, no mapping (not one of
        dmabuf_dump's holders)."""
        return bool(self.handles) and not self.fds and not self.maps


@dataclass
class Buffer:
    """One dma-buf, identified by its inode (within one boot)."""

    inode: int
    size: int = 0
    exporter: str | None = None
    name: str | None = None
    #: file reference count (fdinfo ``count`` / bufinfo ``count``); None if unknown
    count: int | None = None
    #: attached devices, as bufinfo lists them (e.g. ``0000:03:00.0``)
    attachments: list[str] = field(default_factory=list)
    #: fence lines from bufinfo, stripped of leading whitespace
    fences: list[str] = field(default_factory=list)
    #: holders, sorted by pid
    holders: list[Holder] = field(default_factory=list)
    #: which sources saw this buffer: fdinfo, maps, bufinfo, sysfs, bpf
    sources: list[str] = field(default_factory=list)
    #: bufinfo flags/mode when known
    flags: int | None = None
    mode: int | None = None
    #: exporter is a /dev/dma_heap heap
    heap: bool = False

    @property
    def pids(self) -> list[int]:
        return [h.pid for h in self.holders]

    def holder(self, pid: int) -> Holder | None:
        for h in self.holders:
            if h.pid == pid:
                return h
        return None


@dataclass
class Process:
    """A process: a holder in ``Snapshot.processes``, or an ancestor of one (no
    buffers, cmdline or uid) in ``Snapshot.ancestors``."""

    pid: int
    comm: str = ""
    cmdline: str = ""
    uid: int | None = None
    #: parent pid (``/proc/PID/stat`` field 4); None when unknown
    ppid: int | None = None
    #: start time in clock ticks since boot (``/proc/PID/stat`` field 22); with the
    #: pid it names one process of a boot (a reused pid has another); None when unknown
    start_time: int | None = None
    #: the owner's name where the scan ran (the password database; on Android the
    #: uid's package or ``u0_a123``); "" when unknown
    user: str = ""
    #: the app it belongs to (collect/app_axis.py): a systemd unit folded
    #: (``org.gnome.Nautilus``), a container (``docker:0123456789ab``), an Android
    #: package, else its cgroup path; "" when unknown
    app: str = ""
    #: its cgroup path (v2, or the hierarchy that says most); "" when unknown
    cgroup: str = ""


def same_start(a: int | None, b: int | None) -> bool:
    """Whether two sightings of one pid (in one boot) can be the same process: not
    when both start times are known and differ (the pid died and was reused)."""
    return a is None or b is None or a == b


@dataclass
class Source:
    """Where a snapshot came from."""

    kind: str = "local"  # local | adb | file
    host: str = ""
    kernel: str = ""
    #: adb: serial, model, android release, build type
    serial: str | None = None
    model: str | None = None
    android: str | None = None
    build_type: str | None = None
    #: "root" or "limited"
    privilege: str = "root"

    def label(self) -> str:
        """One line naming where it came from (unknown parts left out); raw text:
        escape it (``textsafe.printable``) before showing it."""
        if self.kind == "adb":
            parts = [self.model or "device", self.serial or ""]
            if self.android:
                parts.append(f"Android {self.android}")
            if self.build_type:
                parts.append(self.build_type)
            if self.kernel:
                parts.append(f"kernel {self.kernel}")
            return " ".join(p for p in parts if p)
        return f"{self.host or '?'} kernel {self.kernel or '?'}"


@dataclass
class KernelInfo:
    """What kernel-wide sources said (all optional)."""

    #: names of kernel-wide sources that were readable: bufinfo, sysfs, bpf
    sources: list[str] = field(default_factory=list)
    #: total bytes according to a kernel-wide source, None if none was readable
    total_bytes: int | None = None
    #: bufinfo footer ``Total N objects, M bytes``
    bufinfo_objects: int | None = None
    bufinfo_bytes: int | None = None
    #: names in /dev/dma_heap
    heaps: list[str] = field(default_factory=list)
    #: /sys/kernel/dma_heap/total_pools_kb
    total_pools_kb: int | None = None
    #: dumpsys meminfo DMA-BUF lines (kB), adb without root
    meminfo_kb: dict[str, int] = field(default_factory=dict)
    #: RAM of the machine scanned (``MemTotal`` of /proc/meminfo), bytes
    mem_total: int | None = None
    #: GPU memory in use and reclaimable (TTM pool), bytes: /proc/meminfo's
    #: ``GPUActive`` and ``GPUReclaim`` (7.0+); None when the kernel has none
    gpu_active: int | None = None
    gpu_reclaim: int | None = None
    #: ``dma_heap.mem_accounting`` (7.0+: the system heap's pages are charged to the
    #: allocating cgroup's memcg, as kernel memory): "on", "off", or "absent" (a kernel
    #: without the parameter); None: not read (adb, files from before it)
    heap_accounting: str | None = None


#: the values of ``KernelInfo.heap_accounting``
HEAP_ACCOUNTING = ("on", "off", "absent")


@dataclass
class CgroupCharge:
    """What the kernel charges one holder's cgroup for device memory: the dmem
    controller's use and limit per region (``dmem.current``, ``dmem.max``: 6.14+,
    ``max`` as None). None: the kernel has no such file there (unavailable, not 0)."""

    cgroup: str
    dmem_current: dict[str, int | None] | None = None
    dmem_max: dict[str, int | None] | None = None


@dataclass
class UnverifiedMap:
    """A mapping whose path looks like a dma-buf's (``/dmabuf...``) but that no
    source could confirm is one (the dma-buf filesystem's device number was not
    learned): kept apart, never merged into a buffer or counted."""

    pid: int
    inode: int
    name: str | None
    start: int
    end: int
    perms: str
    #: the mapped file's device, ``major:minor`` as maps shows it
    dev: str


@dataclass
class Snapshot:
    taken_at: str  # ISO-8601 UTC, e.g. 2026-11-21T10:00:00Z
    source: Source = field(default_factory=Source)
    boot_id: str = ""
    buffers: dict[int, Buffer] = field(default_factory=dict)
    processes: dict[int, Process] = field(default_factory=dict)
    kernel: KernelInfo = field(default_factory=KernelInfo)
    warnings: list[str] = field(default_factory=list)
    #: pids whose fd/maps could not be read (permission denied)
    unreadable_pids: list[int] = field(default_factory=list)
    #: seconds the scan took (not part of identity)
    scan_seconds: float | None = None
    #: CPU seconds the adb collector took on the device for this scan (not saved)
    collector_cpu_seconds: float | None = None
    #: mappings that look like dma-bufs but could not be confirmed
    unverified_maps: list[UnverifiedMap] = field(default_factory=list)
    #: pid -> the ancestors of the holders that hold nothing themselves (parents,
    #: theirs, ... up to pid 1), for a process tree: kept apart from ``processes``
    #: so that process counts and Rss/Pss stay those of the holders only
    ancestors: dict[int, Process] = field(default_factory=dict)
    #: cgroup path -> its charge, for the holders' cgroups (local scans only)
    charges: dict[str, CgroupCharge] = field(default_factory=dict)

    def sorted_buffers(self) -> list[Buffer]:
        return [self.buffers[k] for k in sorted(self.buffers)]


@dataclass(frozen=True, slots=True)
class DmabufEvent:
    """One dma-buf event seen as it happened (collect/bpf_events.py): kept in
    recordings apart from the samples; a buffer's life is derived from a list of
    them in :mod:`dmabuf_top.analysis.lifecycle`."""

    #: wall-clock seconds since the epoch
    time: float
    #: export, fd, get, attach, detach, mmap, release
    kind: str
    pid: int
    comm: str
    inode: int
    exporter: str
    size: int
    #: the fd made (``fd``) or imported (``get``); None for other events
    fd: int | None = None
    #: the attaching device (``attach``, ``detach``); None for other events
    device: str | None = None
    tid: int = 0
