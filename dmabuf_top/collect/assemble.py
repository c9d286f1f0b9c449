"""Turn a backend's :class:`RawScan` into the one :class:`Snapshot` model."""

from __future__ import annotations

from dmabuf_top.collect.app_axis import assign_apps, charges
from dmabuf_top.collect.identity import (
    dmabuf_device,
    impostor_warning,
    is_kernel_dmabuf_fd,
    unverified_warning,
)
from dmabuf_top.collect.parsers.bpf_scan import (
    TaskFacts,
    parse_bpf_buffers,
    parse_bpf_files,
    parse_bpf_handles,
    parse_bpf_tasks,
    parse_bpf_vmas,
)
from dmabuf_top.collect.parsers.bufinfo import Bufinfo, BufinfoEntry, parse_bufinfo
from dmabuf_top.collect.parsers.cgroup import parse_heap_accounting
from dmabuf_top.collect.parsers.fdinfo import parse_fd_link, parse_fdinfo
from dmabuf_top.collect.parsers.kernelwide import (
    KernelBuffer,
    parse_bpf_iter,
    parse_heaps,
    parse_meminfo_dmabuf,
    parse_proc_meminfo,
    parse_sysfs_stats,
    parse_total_pools_kb,
)
from dmabuf_top.collect.parsers.maps import parse_maps_line
from dmabuf_top.collect.parsers.procstat import ProcStat, parse_stat
from dmabuf_top.collect.rawscan import ProcText, RawScan
from dmabuf_top.model import (
    Buffer,
    GemHandle,
    Holder,
    KernelInfo,
    MapRange,
    Process,
    Snapshot,
    Source,
    UnverifiedMap,
)

NO_KERNEL_SOURCE_WARNING = (
    "kernel-wide sources unreadable (debugfs dma_buf/bufinfo, sysfs dmabuf stats, "
    "BPF iterator): buffers held only by the kernel are not shown"
)


def unreadable_warning(n: int, as_root: bool = False) -> str:
    what = f"{n} process{'' if n == 1 else 'es'} unreadable"
    if as_root:  # root yet refused: ptrace access checks (LSM, capabilities)
        return f"{what} even as root (ptrace access denied: SELinux, Yama or no CAP_SYS_PTRACE)"
    return f"{what}: run as root"


def _add_source(buf: Buffer, source: str) -> None:
    if source not in buf.sources:
        buf.sources.append(source)


def _merge_kernel_buffers(
    buffers: dict[int, Buffer], items: list[KernelBuffer], source: str
) -> None:
    for kb in items:
        buf = buffers.get(kb.inode)
        if buf is None:
            buf = buffers[kb.inode] = Buffer(inode=kb.inode, size=kb.size)
        if not buf.size:
            buf.size = kb.size
        if buf.exporter is None:
            buf.exporter = kb.exporter
        if buf.name is None and kb.name:
            buf.name = kb.name
        if buf.count is None and kb.count is not None:
            buf.count = kb.count
        _add_source(buf, source)


def _disagrees(buf: Buffer | None, e: BufinfoEntry, kernel_wide: dict[int, KernelBuffer]) -> bool:
    """Whether a bufinfo record's size or exporter is not what fdinfo, sysfs or
    BPF say of the same inode (a forged or stale record)."""
    facts = [kernel_wide[e.inode]] if e.inode in kernel_wide else []
    if buf is not None and "fdinfo" in buf.sources:
        facts.append(KernelBuffer(buf.inode, buf.size, buf.exporter))
    return any(
        (f.size and f.size != e.size) or (f.exporter and f.exporter != e.exporter)
        for f in facts
    )


def _merge_bufinfo(
    buffers: dict[int, Buffer],
    kernel: KernelInfo,
    info: Bufinfo,
    before_text: str | None,
    text: str | None,
    kernel_wide: dict[int, KernelBuffer],
    warnings: list[str],
) -> None:
    """Merge debugfs bufinfo. A buffer created or freed while /proc was walked
    shows in bufinfo with no holder; with a read from before the walk, an unheld
    buffer must be in both. A record that disagrees with another source on the
    same inode is left out (one warning)."""
    kernel.sources.append("bufinfo")
    kernel.bufinfo_objects = info.total_objects
    kernel.bufinfo_bytes = info.total_bytes
    warnings.extend(info.warnings)
    before = None
    if before_text is not None and before_text != text:
        before = {e.inode for e in parse_bufinfo(before_text).entries}
    transient = 0
    refused = 0
    for e in info.entries:
        if e.inode is None:
            continue
        buf = buffers.get(e.inode)
        if _disagrees(buf, e, kernel_wide):
            refused += 1
            continue
        if buf is None and before is not None and e.inode not in before:
            transient += e.size
            continue
        if buf is None:
            buf = buffers[e.inode] = Buffer(inode=e.inode, size=e.size)
        buf.size = e.size
        buf.exporter = buf.exporter or e.exporter
        if e.count is not None:
            buf.count = e.count
        if e.name is not None and "fdinfo" not in buf.sources:
            buf.name = e.name
        buf.flags, buf.mode = e.flags, e.mode
        buf.fences = list(e.fences)
        buf.attachments = list(e.attachments)
        _add_source(buf, "bufinfo")
    if refused:
        warnings.append(
            f"debugfs bufinfo: {refused} record{'s' if refused != 1 else ''} whose size or "
            "exporter is not what fdinfo, sysfs or BPF say of the same inode: left out"
        )
    if info.total_bytes is not None:
        kernel.total_bytes = info.total_bytes - transient
    else:
        kernel.total_bytes = sum(e.size for e in info.entries) - transient


def _stat(pid: int, text: str | None) -> ProcStat | None:
    st = parse_stat(text) if text is not None else None
    return st if st is not None and st.pid == pid else None


def _task_stat(task: TaskFacts | None) -> ProcStat | None:
    """The task iterator's record as the stat facts it stands in for."""
    return None if task is None else ProcStat(task.pid, task.comm, "", task.ppid, task.start_time)


def _process(pid: int, proc: ProcText | None, task: TaskFacts | None) -> Process:
    """A holder's facts: what /proc said of it, and what the task iterator said
    where /proc did not (not read, gone)."""
    if proc is None and task is None:
        return Process(pid=pid)
    pst = _stat(pid, proc.stat) if proc is not None else None
    st = pst or _task_stat(task)
    comm, cmdline, uid = (proc.comm, proc.cmdline, proc.uid) if proc else (None, None, None)
    if comm is None and pst is not None:
        comm = pst.comm  # the local walk reads stat only: its comm is /proc/PID/comm
    if task is not None:
        comm = task.comm if comm is None else comm
        cmdline = task.cmdline if cmdline is None else cmdline
        uid = task.uid if uid is None else uid
    return Process(
        pid=pid, comm=comm or "", cmdline=cmdline or "", uid=uid,
        ppid=st.ppid if st else None, start_time=st.start_time if st else None,
    )


def ancestors_of(
    processes: dict[int, Process], raw: RawScan, tasks: dict[int, TaskFacts]
) -> dict[int, Process]:
    """The holders' ancestors that hold nothing (parent, its parent... as far as a
    stat text or the task iterator says), as processes without buffers, by pid."""
    texts = dict(raw.ancestor_stats)
    texts.update((p.pid, p.stat) for p in raw.procs if p.stat is not None)
    out: dict[int, Process] = {}
    for proc in processes.values():
        pid = proc.ppid
        while pid and pid not in processes and pid not in out:
            st = _stat(pid, texts.get(pid)) or _task_stat(tasks.get(pid))
            if st is None:
                break
            out[pid] = Process(pid=pid, comm=st.comm, ppid=st.ppid, start_time=st.start_time)
            pid = st.ppid
    return dict(sorted(out.items()))


def assemble(raw: RawScan) -> Snapshot:
    """Parse every piece of text in ``raw`` and merge it into a Snapshot."""
    buffers: dict[int, Buffer] = {}
    holders: dict[tuple[int, int], Holder] = {}
    processes: dict[int, Process] = {}
    map_only_estimates: set[int] = set()
    kernel = KernelInfo()
    warnings = list(raw.warnings)

    # kernel-wide sources first: their inode lists help tell dma-buf mappings apart
    bufinfo = parse_bufinfo(raw.bufinfo) if raw.bufinfo is not None else None
    sysfs = parse_sysfs_stats(raw.sysfs) if raw.sysfs is not None else None
    if raw.bpf is not None:
        bpf: list[KernelBuffer] | None = parse_bpf_iter(raw.bpf)
    elif raw.bpf_buffers is not None:
        bpf = parse_bpf_buffers(raw.bpf_buffers)
    else:
        bpf = None
    kernel_inodes = {e.inode for e in bufinfo.entries if e.inode is not None} if bufinfo else set()
    for items in (sysfs, bpf):
        kernel_inodes.update(kb.inode for kb in items or ())
    maps = {
        proc.pid: [e for e in map(parse_maps_line, proc.maps) if e is not None]
        for proc in raw.procs
    }
    dev = dmabuf_device(raw.dmabuf_dev, (e for es in maps.values() for e in es), kernel_inodes)
    impostor_maps = 0
    unverified: list[UnverifiedMap] = []

    def holder(buf: Buffer, pid: int) -> Holder:
        h = holders.get((buf.inode, pid))
        if h is None:
            h = holders[(buf.inode, pid)] = Holder(pid=pid)
            buf.holders.append(h)
        return h

    held: set[int] = set()
    for proc in raw.procs:
        for fd, text in proc.fdinfo.items():
            info = parse_fdinfo(text)
            if not is_kernel_dmabuf_fd(info, fd, proc):
                continue  # a regular file named like one
            inode = info.inode if info.inode is not None else proc.fd_inodes.get(fd)
            if inode is None:
                continue
            buf = buffers.get(inode)
            if buf is None:
                buf = buffers[inode] = Buffer(inode=inode)
            if info.size is not None:
                buf.size = info.size
            if info.count is not None:
                buf.count = info.count
            if info.exporter:
                buf.exporter = info.exporter
            name = info.name
            if name is None and fd in proc.links:
                name = parse_fd_link(proc.links[fd])[1]
            if name is not None:
                buf.name = name
            _add_source(buf, "fdinfo")
            holder(buf, proc.pid).fds.append(fd)
            held.add(proc.pid)
        for entry in maps[proc.pid]:
            if dev is None:
                unverified.append(UnverifiedMap(
                    proc.pid, entry.inode, entry.name, entry.start, entry.end, entry.perms,
                    f"{entry.dev[0]:02x}:{entry.dev[1]:02x}",
                ))
                continue
            if entry.dev != dev:
                impostor_maps += 1
                continue
            buf = buffers.get(entry.inode)
            if buf is None:
                buf = buffers[entry.inode] = Buffer(inode=entry.inode, name=entry.name)
            _add_source(buf, "maps")
            holder(buf, proc.pid).maps.append(
                MapRange(entry.start, entry.end, entry.perms, entry.offset)
            )
            held.add(proc.pid)
    # the BPF task iterators: the kernel picked the dma-buf files (no look-alikes)
    if raw.bpf_files is not None:
        for tf in parse_bpf_files(raw.bpf_files):
            buf = buffers.get(tf.inode)
            if buf is None:
                buf = buffers[tf.inode] = Buffer(inode=tf.inode)
            _add_source(buf, "task_file")
            holder(buf, tf.pid).fds.append(tf.fd)
            held.add(tf.pid)
        for th in parse_bpf_handles(raw.bpf_files):
            buf = buffers.get(th.inode)
            if buf is None:
                buf = buffers[th.inode] = Buffer(inode=th.inode)
            holder(buf, th.pid).handles.append(GemHandle(th.fd, th.handle, th.device, th.driver))
            held.add(th.pid)
    if raw.bpf_vmas is not None:
        for tv in parse_bpf_vmas(raw.bpf_vmas, raw.page_size):
            e = tv.entry
            buf = buffers.get(e.inode)
            if buf is None:
                buf = buffers[e.inode] = Buffer(inode=e.inode)
            _add_source(buf, "task_vma")
            holder(buf, tv.pid).maps.append(MapRange(e.start, e.end, e.perms, e.offset))
            held.add(tv.pid)
    texts = {proc.pid: proc for proc in raw.procs}
    tasks = parse_bpf_tasks(raw.bpf_tasks, raw.clock_ticks) if raw.bpf_tasks is not None else {}
    for pid in held:
        processes[pid] = _process(pid, texts.get(pid), tasks.get(pid))
    assign_apps(processes, raw)

    if bufinfo is not None:
        kernel_wide = {kb.inode: kb for items in (sysfs, bpf) for kb in items or ()}
        _merge_bufinfo(buffers, kernel, bufinfo, raw.bufinfo_before, raw.bufinfo,
                       kernel_wide, warnings)
    if sysfs is not None:
        kernel.sources.append("sysfs")
        _merge_kernel_buffers(buffers, sysfs, "sysfs")
        if kernel.total_bytes is None:
            kernel.total_bytes = sum(kb.size for kb in sysfs)
    if bpf is not None:
        kernel.sources.append("bpf")
        _merge_kernel_buffers(buffers, bpf, "bpf")
        kernel.total_bytes = sum(kb.size for kb in bpf)
    kernel.sources.extend(
        name for name, text in (
            ("task_file", raw.bpf_files), ("task_vma", raw.bpf_vmas), ("task", raw.bpf_tasks)
        )
        if text is not None
    )
    if raw.heaps is not None:
        kernel.heaps = parse_heaps(raw.heaps)
    if raw.total_pools_kb is not None:
        kernel.total_pools_kb = parse_total_pools_kb(raw.total_pools_kb)
    if raw.meminfo is not None:
        kernel.meminfo_kb = parse_meminfo_dmabuf(raw.meminfo)
    if raw.proc_meminfo is not None:
        meminfo = parse_proc_meminfo(raw.proc_meminfo)
        kernel.mem_total = meminfo.get("MemTotal")
        kernel.gpu_active = meminfo.get("GPUActive")
        kernel.gpu_reclaim = meminfo.get("GPUReclaim")
    if raw.kind == "local":
        kernel.heap_accounting = parse_heap_accounting(raw.heap_accounting)
    if impostor_maps:
        warnings.append(impostor_warning(impostor_maps))
    if unverified:
        warnings.append(unverified_warning(len(unverified)))

    heaps = set(kernel.heaps)
    for buf in buffers.values():
        if not buf.size and buf.holders:
            lengths = [m.length for h in buf.holders for m in h.maps]
            if lengths:
                buf.size = max(lengths)
                map_only_estimates.add(buf.inode)
        buf.heap = buf.exporter in heaps if buf.exporter else False
        buf.holders.sort(key=lambda h: h.pid)
        for h in buf.holders:
            h.fds.sort()
            h.maps.sort(key=lambda m: m.start)
            h.handles.sort(key=lambda g: (g.fd, g.handle))
    if map_only_estimates:
        warnings.append(
            f"{len(map_only_estimates)} mapped-only buffers have no kernel-wide record: "
            "size estimated from the mapping length"
        )
    if raw.unreadable:
        warnings.append(unreadable_warning(len(raw.unreadable), raw.scan_uid == 0))
    if not kernel.sources:
        warnings.append(NO_KERNEL_SOURCE_WARNING)

    source = Source(
        kind=raw.kind,
        host=raw.host,
        kernel=raw.kernel,
        serial=raw.source_extra.get("serial"),
        model=raw.source_extra.get("model"),
        android=raw.source_extra.get("android"),
        build_type=raw.source_extra.get("build_type"),
        privilege=raw.privilege or ("limited" if raw.unreadable else "root"),
    )
    return Snapshot(
        taken_at=raw.taken_at,
        source=source,
        boot_id=raw.boot_id,
        buffers=dict(sorted(buffers.items())),
        processes=dict(sorted(processes.items())),
        kernel=kernel,
        warnings=warnings,
        unreadable_pids=sorted(raw.unreadable),
        unverified_maps=unverified,
        ancestors=ancestors_of(processes, raw, tasks),
        collector_cpu_seconds=raw.collector_cpu_seconds,
        charges=charges(raw),
    )
