"""Turn a backend's :class:`RawScan` into the one :class:`Snapshot` model: :func:`assemble`
once, or an :class:`Assembler` refresh after refresh (what did not change is reused)."""

from __future__ import annotations

from typing import Any

from dmabuf_top.collect.app_axis import assign_apps, charges
from dmabuf_top.collect.buffer_build import Built, Inputs, Record, build_buffer
from dmabuf_top.collect.identity import (
    dmabuf_device,
    impostor_warning,
    unverified_warning,
)
from dmabuf_top.collect.memo import Memo
from dmabuf_top.collect.parsers.bpf_records import (
    parse_buffers,
    parse_files,
    parse_handles,
    parse_tasks,
    parse_vmas,
)
from dmabuf_top.collect.parsers.bpf_types import TaskFacts
from dmabuf_top.collect.parsers.bufinfo import Bufinfo, parse_bufinfo, record_entry
from dmabuf_top.collect.parsers.cgroup import parse_heap_accounting
from dmabuf_top.collect.parsers.kernelwide import (
    KernelBuffer,
    parse_bpf_iter,
    parse_heaps,
    parse_meminfo_dmabuf,
    parse_proc_meminfo,
    parse_sysfs_stats,
    parse_total_pools_kb,
)
from dmabuf_top.collect.parsers.packages import parse_package_list
from dmabuf_top.collect.parsers.procstat import ProcStat, parse_stat
from dmabuf_top.collect.proc_records import ProcRecords
from dmabuf_top.collect.process_facts import ancestors_of, holder_process
from dmabuf_top.collect.rawscan import RawScan
from dmabuf_top.model import Buffer, KernelInfo, Process, Snapshot, Source, UnverifiedMap

NO_KERNEL_SOURCE_WARNING = (
    "kernel-wide sources unreadable (debugfs dma_buf/bufinfo, sysfs dmabuf stats, "
    "BPF iterator): buffers held only by the kernel are not shown"
)


def unreadable_warning(n: int, as_root: bool = False) -> str:
    what = f"{n} process{'' if n == 1 else 'es'} unreadable"
    if as_root:  # root yet refused: ptrace access checks (LSM, capabilities)
        return f"{what} even as root (ptrace access denied: SELinux, Yama or no CAP_SYS_PTRACE)"
    return f"{what}: run as root"


def _indexed(items: list[Any]) -> dict[int, list[Any]]:
    """Records by inode, in their order (a forged file may list one twice)."""
    out: dict[int, list[Any]] = {}
    for item in items:
        if item.inode is not None:
            out.setdefault(item.inode, []).append(item)
    return out


def _kernel_list(items: list[KernelBuffer]) -> tuple[int, dict[int, list[Any]]]:
    return sum(kb.size for kb in items), _indexed(items)


def _bpf_records(texts: tuple[bytes | None, bytes | None, int]) -> list[tuple[int, Record]]:
    """(inode, record) of what the BPF fd and vma iterators listed, in their order."""
    files, vmas, page_size = texts
    out: list[tuple[int, Record]] = []
    if files is not None:
        out.extend((tf.inode, ("t", tf.pid, tf.fd)) for tf in parse_files(files))
        out.extend((th.inode, ("g", th.pid, th)) for th in parse_handles(files))
    if vmas is not None:
        out.extend((tv.entry.inode, ("v", tv.pid, tv.entry))
                   for tv in parse_vmas(vmas, page_size))
    return out


def _same(now: tuple[Any, ...], last: tuple[Any, ...]) -> bool:
    """Whether two refreshes' inputs are the same: each parsed object the very same
    (a memo's, kept while its text stays), each plain value equal."""
    dev, before, procs, *parsed = now
    ldev, lbefore, lprocs, *lparsed = last
    return (
        dev == ldev and before == lbefore and len(procs) == len(lprocs)
        and all(a is b for a, b in zip(parsed, lparsed, strict=True))
        and all(p == q and f is g and m is n
                for (p, f, m), (q, g, n) in zip(procs, lprocs, strict=True))
    )


_NOTHING: tuple[int, dict[int, list[Any]]] = (0, {})
_NO_HEAPS: frozenset[str] = frozenset()
_NO_RECORDS: list[tuple[int, Record]] = []  # (never changed: only read, as _same() does)


class Assembler:
    """assemble(), one refresh after another: what an unchanged text gave last time is
    not parsed again (a process's fdinfo and maps texts, stat, bufinfo, the BPF
    texts...), and a buffer or holder whose every input is unchanged is the object
    built then. Everything kept is what
    the last refresh used (nothing else survives a refresh), and the Snapshot is the
    one a fresh ``assemble()`` gives. One Assembler per source; not thread-safe."""

    def __init__(self) -> None:
        self._stat: Memo[str, ProcStat | None] = Memo(parse_stat)
        self._records = Memo(record_entry)
        self._bufinfo = Memo(self._parse_bufinfo)
        self._sysfs = Memo(lambda rows: _kernel_list(parse_sysfs_stats(rows)))
        self._bpf_iter = Memo(lambda text: _kernel_list(parse_bpf_iter(text)))
        self._bpf_buffers = Memo(lambda text: _kernel_list(parse_buffers(text)))
        self._bpf_records = Memo(_bpf_records)
        self._tasks = Memo(lambda key: parse_tasks(*key))
        self._packages = Memo(parse_package_list)
        self._heaps = Memo(lambda text: frozenset(parse_heaps(text)))
        self._memos = [v for v in vars(self).values() if isinstance(v, Memo)]
        #: each process's fd records and maps entries, from its texts
        self._proc_records = ProcRecords()
        #: inode -> (its inputs, what they built)
        self._built: dict[int, tuple[Inputs, Built]] = {}
        #: pid -> (what its Process is made of, the Process)
        self._people: dict[int, tuple[tuple[Any, ...], Process]] = {}
        #: (what the buffers were made of, and what :meth:`_hold` made of it)
        self._holdings: tuple[Any, ...] | None = None

    def _parse_bufinfo(self, text: str) -> tuple[Bufinfo, dict[int, list[Any]]]:
        info = parse_bufinfo(text, self._records)  # an unchanged record: its entry
        return info, _indexed(info.entries)

    def bufinfo_index(self, text: str) -> dict[int, list[Any]]:
        """bufinfo's records by inode: parsed once for the walk's check and this assembly."""
        return self._bufinfo(text)[1]

    def __call__(self, raw: RawScan) -> Snapshot:
        try:
            return self._assemble(raw)
        finally:
            for memo in self._memos:
                memo.turn()

    def _assemble(self, raw: RawScan) -> Snapshot:
        self._proc_records.turn()
        kernel = KernelInfo()
        warnings = list(raw.warnings)
        bufinfo, by_inode = self._bufinfo(raw.bufinfo) if raw.bufinfo is not None else (None, {})
        sysfs_bytes, sysfs_at = self._sysfs(tuple(raw.sysfs)) if raw.sysfs is not None else _NOTHING
        if raw.bpf is not None:
            bpf_bytes, bpf_at = self._bpf_iter(raw.bpf)
        elif raw.bpf_buffers is not None:
            bpf_bytes, bpf_at = self._bpf_buffers(raw.bpf_buffers)
        else:
            bpf_bytes, bpf_at = _NOTHING
        have_bpf = raw.bpf is not None or raw.bpf_buffers is not None
        per_proc = [(proc, *self._proc_records(proc)) for proc in raw.procs]
        bpf_recs = _NO_RECORDS if raw.bpf_files is None and raw.bpf_vmas is None else (
            self._bpf_records((raw.bpf_files, raw.bpf_vmas, raw.page_size)))
        if bufinfo is not None:
            kernel.sources.append("bufinfo")
            kernel.bufinfo_objects = bufinfo.total_objects
            kernel.bufinfo_bytes = bufinfo.total_bytes
            warnings.extend(bufinfo.warnings)
        before: set[int] | None = None
        if bufinfo is not None and raw.bufinfo_before not in (None, raw.bufinfo):
            before = set(self._bufinfo(raw.bufinfo_before)[1])
        heaps = self._heaps(raw.heaps) if raw.heaps is not None else _NO_HEAPS
        if raw.heaps is not None:
            kernel.heaps = sorted(heaps)  # as parse_heaps gives them
        # what the buffers are made of: parsed objects (the same objects while their
        # texts are the same) and plain values; all unchanged, the last result stands
        made_of = (
            raw.dmabuf_dev, before, tuple((p.pid, fds, maps) for p, fds, maps in per_proc),
            bpf_recs, by_inode if bufinfo is not None else None, sysfs_at, bpf_at, heaps,
        )
        last = self._holdings
        if last is None or not _same(made_of, last[0]):
            last = self._holdings = (made_of, *self._hold(*made_of))
        held, unverified, impostor_maps, (buffers, refused, transient, estimated) = last[1:]
        buffers, unverified = dict(buffers), list(unverified)
        if refused:
            warnings.append(
                f"debugfs bufinfo: {refused} record{'s' if refused != 1 else ''} whose size or "
                "exporter is not what fdinfo, sysfs or BPF say of the same inode: left out"
            )
        if bufinfo is not None:
            total = bufinfo.total_bytes
            if total is None:
                total = sum(e.size for e in bufinfo.entries)
            kernel.total_bytes = total - transient
        if raw.sysfs is not None:
            kernel.sources.append("sysfs")
            if kernel.total_bytes is None:
                kernel.total_bytes = sysfs_bytes
        if have_bpf:
            kernel.sources.append("bpf")
            kernel.total_bytes = bpf_bytes
        kernel.sources.extend(
            name for name, text in (
                ("task_file", raw.bpf_files), ("task_vma", raw.bpf_vmas), ("task", raw.bpf_tasks)
            )
            if text is not None
        )
        _kernel_extras(kernel, raw)
        if impostor_maps:
            warnings.append(impostor_warning(impostor_maps))
        if unverified:
            warnings.append(unverified_warning(len(unverified)))
        if estimated:
            warnings.append(
                f"{estimated} mapped-only buffers have no kernel-wide record: "
                "size estimated from the mapping length"
            )
        if raw.unreadable:
            warnings.append(unreadable_warning(len(raw.unreadable), raw.scan_uid == 0))
        if not kernel.sources:
            warnings.append(NO_KERNEL_SOURCE_WARNING)

        tasks = (
            self._tasks((raw.bpf_tasks, raw.clock_ticks)) if raw.bpf_tasks is not None else {}
        )
        processes = self._processes(raw, held, tasks)
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
            buffers=buffers,
            processes=processes,
            kernel=kernel,
            warnings=warnings,
            unreadable_pids=sorted(raw.unreadable),
            unverified_maps=unverified,
            ancestors=ancestors_of(processes, raw, tasks, self._stat),
            collector_cpu_seconds=raw.collector_cpu_seconds,
            charges=charges(raw),
        )

    def _hold(
        self, dev: tuple[int, int] | None, before: set[int] | None, per_proc: tuple[Any, ...],
        bpf_recs: list[tuple[int, Record]], *kernel_wide: Any,
    ) -> tuple[set[int], list[UnverifiedMap], int, tuple[dict[int, Buffer], int, int, int]]:
        """The holders, unverified and impostor mappings, and the buffers (:meth:`_buffers`)
        of the processes' records (pid, fd records, maps entries) and the BPF ones."""
        by_inode, sysfs_at, bpf_at, _heaps = kernel_wide
        # a pid listed twice: each copy's mappings are the last copy's
        maps_of = {pid: maps for pid, _, maps in per_proc}
        if dev is None:
            kernel_inodes = {*(by_inode or ()), *sysfs_at, *bpf_at}
            dev = dmabuf_device(None, (e for ms in maps_of.values() for e in ms), kernel_inodes)
        records: dict[int, list[Record]] = {}
        held: set[int] = set()
        impostor_maps = 0
        unverified: list[UnverifiedMap] = []
        for pid, fds, _ in per_proc:
            for inode, rec in fds:
                records.setdefault(inode, []).append(rec)
            if fds:
                held.add(pid)
            for e in maps_of[pid]:
                if dev is None:
                    unverified.append(UnverifiedMap(
                        pid, e.inode, e.name, e.start, e.end, e.perms,
                        f"{e.dev[0]:02x}:{e.dev[1]:02x}",
                    ))
                elif e.dev != dev:
                    impostor_maps += 1
                else:
                    records.setdefault(e.inode, []).append(("m", pid, e))
                    held.add(pid)
        for inode, rec in bpf_recs:
            records.setdefault(inode, []).append(rec)
            held.add(rec[1])
        return held, unverified, impostor_maps, self._buffers(records, before, *kernel_wide)

    def _buffers(
        self,
        records: dict[int, list[Record]],
        before: set[int] | None,
        bufinfo: dict[int, list[Any]] | None,
        sysfs: dict[int, list[Any]],
        bpf: dict[int, list[Any]],
        heaps: frozenset[str],
    ) -> tuple[dict[int, Buffer], int, int, int]:
        """Every buffer, by inode in order, and the refused bufinfo records, transient
        bytes and size estimates their making counted."""
        last, built_now = self._built, {}
        buffers: dict[int, Buffer] = {}
        refused = transient = estimated = 0
        inodes = set(records)
        for extra in (bufinfo, sysfs, bpf):
            if extra:
                inodes.update(extra)
        no_records: list[Record] = []
        nothing: list[Any] = []
        for inode in sorted(inodes):
            recs = records.get(inode, no_records)
            binfo = None if bufinfo is None else bufinfo.get(inode, nothing)
            listed = None if before is None else inode in before
            fs, bs = sysfs.get(inode, nothing), bpf.get(inode, nothing)
            hit = last.get(inode)
            x = hit[0] if hit is not None else None
            # field by field: no new Inputs for an inode whose inputs are the same
            if x is None or not (x[0] == recs and x[1] == binfo and x[2] is listed
                                 and x[3] == fs and x[4] == bs and x[5] == heaps):
                x = Inputs(recs, binfo, listed, fs, bs, heaps)
                hit = (x, build_buffer(inode, x))
            built_now[inode] = hit
            built = hit[1]
            if built.buffer is not None:
                buffers[inode] = built.buffer
            refused += built.refused
            transient += built.transient
            estimated += built.estimated
        self._built = built_now
        return buffers, refused, transient, estimated

    def _processes(
        self, raw: RawScan, held: set[int], tasks: dict[int, TaskFacts]
    ) -> dict[int, Process]:
        """The holders, by pid in order; one whose facts did not change is the Process
        built last time."""
        texts = {proc.pid: proc for proc in raw.procs}
        adb = raw.kind == "adb"
        packages = self._packages(raw.packages or "") if adb else None
        last, now = self._people, {}
        out: dict[int, Process] = {}
        for pid in sorted(held):
            proc, task = texts.get(pid), tasks.get(pid)
            facts = (proc.stat, proc.comm, proc.cmdline, proc.uid) if proc is not None else None
            key = (facts, task, raw.kind, packages if adb else raw.cgroups.get(pid))
            hit = last.get(pid)
            if hit is None or hit[0] != key:
                p = holder_process(pid, proc, task, self._stat)
                assign_apps({pid: p}, raw, packages)
                hit = (key, p)
            now[pid] = hit
            out[pid] = hit[1]
        self._people = now
        return out


def _kernel_extras(kernel: KernelInfo, raw: RawScan) -> None:
    """The small kernel-wide files: heap pools, dumpsys meminfo, /proc/meminfo, the
    heap's memcg accounting parameter."""
    if raw.total_pools_kb is not None:
        kernel.total_pools_kb = parse_total_pools_kb(raw.total_pools_kb)
    if raw.meminfo is not None:
        kernel.meminfo_kb = parse_meminfo_dmabuf(raw.meminfo)
    if raw.proc_meminfo is not None:
        meminfo = parse_proc_meminfo(raw.proc_meminfo)
        kernel.mem_total = meminfo.get("MemTotal")
        kernel.gpu_active = meminfo.get("GPUActive")
        kernel.gpu_reclaim = meminfo.get("GPUReclaim")
    if raw.kind == "local":  # (not read over adb: None, not "absent")
        kernel.heap_accounting = parse_heap_accounting(raw.heap_accounting)


def assemble(raw: RawScan) -> Snapshot:
    """Parse every piece of text in ``raw`` and merge it into a Snapshot (nothing kept:
    a backend that refreshes keeps an :class:`Assembler`)."""
    return Assembler()(raw)
