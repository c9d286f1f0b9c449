"""The raw text a backend fetches, before any parsing.

Backends (local /proc, adb collector stream) only fill a :class:`RawScan`;
:func:`dmabuf_top.collect.assemble.assemble` turns it into a Snapshot with the shared
parsers. Nothing here is interpreted.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ProcText:
    """What was read of one process that holds (or might hold) dma-bufs."""

    pid: int
    #: fd number -> readlink text, dma-buf fds only
    links: dict[int, str] = field(default_factory=dict)
    #: fd number -> fdinfo text, dma-buf fds only
    fdinfo: dict[int, str] = field(default_factory=dict)
    #: maps lines mentioning /dmabuf
    maps: list[str] = field(default_factory=list)
    #: fd number -> inode, for kernels whose fdinfo has no ``ino:`` line
    fd_inodes: dict[int, int] = field(default_factory=dict)
    #: fds that statfs says are on the dma-buf filesystem (magic 0x444d4142):
    #: dma-bufs even when their fdinfo says nothing (unreadable)
    magic_fds: set[int] = field(default_factory=set)
    #: ``/proc/PID/comm`` as the adb collector reads it; None locally, where the
    #: name is the one in ``stat`` (the kernel prints the same in both)
    comm: str | None = None
    #: raw cmdline (NUL separated) decoded with surrogateescape/replace
    cmdline: str | None = None
    uid: int | None = None
    #: ``/proc/PID/stat`` text (parent, start time: see parsers/procstat.py)
    stat: str | None = None


@dataclass
class RawScan:
    taken_at: str
    kind: str = "local"
    host: str = ""
    kernel: str = ""
    boot_id: str = ""
    procs: list[ProcText] = field(default_factory=list)
    #: pid -> ``/proc/PID/stat`` text of the ancestors of ``procs`` (parents,
    #: theirs, ... up to pid 1), for a process tree; assemble() keeps those of holders
    ancestor_stats: dict[int, str] = field(default_factory=dict)
    #: pids whose fd dir or maps could not be read (permission)
    unreadable: list[int] = field(default_factory=list)
    #: (major, minor) of the dma-buf filesystem, from stat of a verified dma-buf
    #: fd: a maps line is a dma-buf mapping only on this device
    dmabuf_dev: tuple[int, int] | None = None
    bufinfo: str | None = None
    #: bufinfo read before walking /proc (optional): an unheld buffer missing from
    #: it was created during the walk and is left out of this scan
    bufinfo_before: str | None = None
    #: (inode dir, exporter_name, size) from /sys/kernel/dmabuf/buffers
    sysfs: list[tuple[str, str, str]] | None = None
    #: Android's pinned dma-buf iterator (4 lines per buffer)
    bpf: str | None = None
    #: dmabuf-top's own BPF iterators (collect/bpf/dmabuf_top.bpf.c): buffers, and
    #: when the task iterators loaded, the dma-buf fds and mappings of every process
    #: (then ``procs`` holds only the holders' stat, cmdline and uid): packed records
    bpf_buffers: bytes | None = None
    bpf_files: bytes | None = None
    bpf_vmas: bytes | None = None
    #: every process (pid, parent, owner, start, comm, cmdline) when the task
    #: iterator loaded: then ``procs`` holds only those it could not say all of
    #: (kernel threads, long or rewritten cmdlines), read from /proc
    bpf_tasks: bytes | None = None
    #: bytes per page, to turn the vma iterator's page offsets into byte offsets
    page_size: int = 4096
    #: clock ticks per second (sysconf _SC_CLK_TCK), to turn the task iterator's
    #: start times into /proc/PID/stat's
    clock_ticks: int = 100
    heaps: str | None = None
    total_pools_kb: str | None = None
    meminfo: str | None = None
    #: /proc/meminfo (its MemTotal: the machine's RAM)
    proc_meminfo: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: extra source fields (adb serial, model, ...)
    source_extra: dict[str, str] = field(default_factory=dict)
    privilege: str | None = None
    #: the uid the scan ran as, when known (0: root)
    scan_uid: int | None = None
    #: CPU seconds the scan itself took where it ran (the adb collector on the device)
    collector_cpu_seconds: float | None = None
    #: pid -> ``/proc/PID/cgroup`` text of the holders (local scans)
    cgroups: dict[int, str] = field(default_factory=dict)
    #: cgroup path -> file name (``dmem.current``, ``dmem.max``) -> text, for the
    #: holders' cgroups: only the files the kernel has
    cgroup_files: dict[str, dict[str, str]] = field(default_factory=dict)
    #: ``/sys/module/dma_heap/parameters/mem_accounting`` (local scans: None when the
    #: kernel has none; not read over adb)
    heap_accounting: str | None = None
    #: ``cmd package list packages -U`` (adb: fetched once per connection)
    packages: str | None = None
