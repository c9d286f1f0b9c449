"""Snapshot documents (schema ``dmabuf-top/1``) back into the model: plain data from
YAML to Buffer/Process/Snapshot, with type checks and one-line errors."""

from __future__ import annotations

from typing import Any

from dmabuf_top.io.codec import SCHEMA
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.model import (
    Buffer,
    Holder,
    KernelInfo,
    MapRange,
    Process,
    Snapshot,
    Source,
    UnverifiedMap,
)

#: integers in a snapshot (sizes, inodes, addresses, pids) fit in 64 bits: what the
#: kernel prints; a bigger one would only overflow later (floats in the tables, Pss)
INT_LIMIT = 1 << 64


def _checked(val: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(val, kind) or (kind is int and isinstance(val, bool)):
        raise SnapshotError(f"{where}: '{key}' has the wrong type ({type(val).__name__})")
    if kind is int and not -INT_LIMIT < val < INT_LIMIT:
        raise SnapshotError(f"{where}: '{key}' is out of range (more than 64 bits)")
    return val


def _req(d: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in d:
        raise SnapshotError(f"{where}: missing key '{key}'")
    return _checked(d[key], key, kind, where)


def _opt(d: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    val = d.get(key)
    return None if val is None else _checked(val, key, kind, where)


def int_list(val: Any, where: str) -> list[int]:
    """A list of integers (fds, pids, inodes); SnapshotError for anything else."""
    if val is None:
        return []
    if not isinstance(val, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) and -INT_LIMIT < x < INT_LIMIT
        for x in val
    ):
        raise SnapshotError(f"{where}: expected a list of integers")
    return val


def seconds(val: Any) -> float | None:
    """``scan_seconds``: a number, else None (a value float() cannot hold too)."""
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        return None
    try:
        return float(val)
    except OverflowError:
        return None


def _opt_text(val: Any) -> str | None:
    return None if val is None else str(val)


def _str_list(val: Any, where: str) -> list[str]:
    if val is None:
        return []
    if not isinstance(val, list) or not all(isinstance(x, str) for x in val):
        raise SnapshotError(f"{where}: expected a list of strings")
    return list(val)


_STR_ONLY, _INT_ONLY = {str}, {int}


def _strs(val: Any) -> list[str] | None:
    """A list of strings as it is (a copy), [] for None; None when not one."""
    if val is None:
        return []
    if type(val) is list and (not val or set(map(type, val)) == _STR_ONLY):
        return list(val)
    return None


def _buffer_checked(bd: Any, comms: dict[int, str] | None) -> Buffer | None:
    """:func:`buffer_from_dict` for an entry whose every value already has the exact
    type the writer writes (nearly all of them); None when one needs converting
    or an error message (then the careful path below decides). Integers must fit in
    64 bits here too (:data:`INT_LIMIT`): the careful path refuses any other."""
    if type(bd) is not dict:
        return None
    lim = INT_LIMIT
    get = bd.get
    inode, size, exporter, name = get("inode"), get("size"), get("exporter"), get("name")
    count, flags, mode, heap = get("count"), get("flags"), get("mode"), get("heap", False)
    if (
        type(inode) is not int
        or type(size) is not int
        or not (exporter is None or type(exporter) is str)
        or not (name is None or type(name) is str)
        or not (count is None or (type(count) is int and -lim < count < lim))
        or not (flags is None or (type(flags) is int and -lim < flags < lim))
        or not (mode is None or (type(mode) is int and -lim < mode < lim))
        or type(heap) is not bool
        or not (-lim < inode < lim and -lim < size < lim)
    ):
        return None
    sources, attachments = _strs(get("sources")), _strs(get("attachments"))
    fences = _strs(get("fences"))
    raw = get("holders")
    if sources is None or attachments is None or fences is None:
        return None
    holders = []
    if raw is not None:
        if type(raw) is not list:
            return None
        for hd in raw:
            if type(hd) is not dict:
                return None
            pid, fds, raw_maps = hd.get("pid"), hd.get("fds"), hd.get("maps")
            if type(pid) is not int or not (fds is None or type(fds) is list):
                return None
            if not -lim < pid < lim:
                return None
            if fds and (set(map(type, fds)) != _INT_ONLY or not -lim < min(fds) <= max(fds) < lim):
                return None
            if not (raw_maps is None or type(raw_maps) is list):
                return None
            maps = []
            for md in raw_maps or ():
                if type(md) is not dict:
                    return None
                start, end, perms = md.get("start"), md.get("end"), md.get("perms")
                off = md.get("offset", 0)
                if type(start) is not int or type(end) is not int or type(perms) is not str:
                    return None
                if type(off) is not int or not (-lim < start < lim and -lim < end < lim):
                    return None
                if not -lim < off < lim:
                    return None
                maps.append(MapRange(start, end, perms, off))
            comm = hd.get("comm")
            if comms is not None and type(comm) is str:
                comms.setdefault(pid, comm)
            holders.append(Holder(pid, list(fds or ()), maps))
    return Buffer(
        inode, size, exporter, name, count, attachments, fences, holders, sources, flags, mode,
        heap,
    )


def buffer_from_dict(bd: Any, w: str, comms: dict[int, str] | None = None) -> Buffer:
    """One entry of ``buffers:``; holder comms are added to ``comms`` (pid -> comm)."""
    fast = _buffer_checked(bd, comms)
    return fast if fast is not None else _buffer_careful(bd, w, comms)


def _buffer_careful(bd: Any, w: str, comms: dict[int, str] | None) -> Buffer:
    if not isinstance(bd, dict):
        raise SnapshotError(f"{w}: expected a mapping")
    inode = _req(bd, "inode", int, w)
    holders = []
    for j, hd in enumerate(_opt(bd, "holders", list, w) or []):
        hw = f"{w}.holders[{j}]"
        if not isinstance(hd, dict):
            raise SnapshotError(f"{hw}: expected a mapping")
        pid = _req(hd, "pid", int, hw)
        if comms is not None and isinstance(hd.get("comm"), str):
            comms.setdefault(pid, hd["comm"])
        fds = int_list(hd.get("fds"), f"{hw}.fds")
        maps = []
        for md in _opt(hd, "maps", list, hw) or []:
            if not isinstance(md, dict):
                raise SnapshotError(f"{hw}: maps entries must be mappings")
            maps.append(
                MapRange(
                    start=_req(md, "start", int, hw),
                    end=_req(md, "end", int, hw),
                    perms=str(md.get("perms", "")),
                    offset=_opt(md, "offset", int, hw) or 0,
                )
            )
        holders.append(Holder(pid=pid, fds=list(fds), maps=maps))
    name = bd.get("name")
    if name is not None and not isinstance(name, str):
        name = str(name)
    exporter = bd.get("exporter")
    if exporter is not None and not isinstance(exporter, str):
        exporter = str(exporter)
    return Buffer(
        inode=inode,
        size=_req(bd, "size", int, w),
        exporter=exporter,
        name=name,
        count=_opt(bd, "count", int, w),
        attachments=_str_list(bd.get("attachments"), f"{w}.attachments"),
        fences=_str_list(bd.get("fences"), f"{w}.fences"),
        holders=holders,
        sources=_str_list(bd.get("sources"), f"{w}.sources"),
        flags=_opt(bd, "flags", int, w),
        mode=_opt(bd, "mode", int, w),
        heap=bool(bd.get("heap", False)),
    )


def process_from_dict(pd: Any, w: str) -> Process:
    """One entry of ``processes:`` (the derived Rss/Pss columns are ignored)."""
    if not isinstance(pd, dict):
        raise SnapshotError(f"{w}: expected a mapping")
    pid = _req(pd, "pid", int, w)
    return Process(
        pid=pid,
        comm=str(pd.get("comm") or ""),
        cmdline=str(pd.get("cmdline") or ""),
        uid=_opt(pd, "uid", int, w),
        ppid=_opt(pd, "ppid", int, w),
        start_time=_opt(pd, "start_time", int, w),
    )


def ancestors_from_list(val: Any, where: str) -> dict[int, Process]:
    """``ancestors:`` (absent in older files) as pid -> Process."""
    if val is None:
        return {}
    if not isinstance(val, list):
        raise SnapshotError(f"{where}: 'ancestors' has the wrong type")
    out = {}
    for i, d in enumerate(val):
        proc = process_from_dict(d, f"{where}: ancestors[{i}]")
        out[proc.pid] = proc
    return dict(sorted(out.items()))


def source_from_dict(src: dict[str, Any]) -> Source:
    return Source(
        kind=str(src.get("kind", "file")),
        host=str(src.get("host", "") or ""),
        kernel=str(src.get("kernel", "") or ""),
        serial=_opt_text(src.get("serial")),
        model=_opt_text(src.get("model")),
        android=_opt_text(src.get("android")),
        build_type=_opt_text(src.get("build_type")),
        privilege=str(src.get("privilege", "root")),
    )


def kernel_from_dict(kd: dict[str, Any], where: str) -> KernelInfo:
    meminfo = _opt(kd, "meminfo_kb", dict, f"{where}: kernel") or {}
    for key, kb in meminfo.items():
        _checked(kb, f"meminfo_kb[{key!r}]", int, f"{where}: kernel")
    return KernelInfo(
        sources=_str_list(kd.get("sources"), f"{where}: kernel.sources"),
        total_bytes=_opt(kd, "total_bytes", int, f"{where}: kernel"),
        bufinfo_objects=_opt(kd, "bufinfo_objects", int, f"{where}: kernel"),
        bufinfo_bytes=_opt(kd, "bufinfo_bytes", int, f"{where}: kernel"),
        heaps=_str_list(kd.get("heaps"), f"{where}: kernel.heaps"),
        total_pools_kb=_opt(kd, "total_pools_kb", int, f"{where}: kernel"),
        meminfo_kb={str(k): v for k, v in meminfo.items()},
        mem_total=_opt(kd, "mem_total", int, f"{where}: kernel"),
        gpu_active=_opt(kd, "gpu_active", int, f"{where}: kernel"),
        gpu_reclaim=_opt(kd, "gpu_reclaim", int, f"{where}: kernel"),
    )


def snapshot_from_dict(doc: Any, where: str = "snapshot") -> Snapshot:
    if not isinstance(doc, dict):
        raise SnapshotError(f"{where}: not a dmabuf-top snapshot (expected a mapping)")
    schema = doc.get("schema")
    if schema != SCHEMA:
        raise SnapshotError(f"{where}: unsupported schema {schema!r} (expected {SCHEMA})")
    taken_at = doc.get("taken_at")
    if not isinstance(taken_at, str):
        taken_at = str(taken_at) if taken_at is not None else ""
    src = _opt(doc, "source", dict, where) or {}
    source = source_from_dict(src)
    kd = _opt(doc, "kernel", dict, where) or {}
    kernel = kernel_from_dict(kd, where)
    buffers: dict[int, Buffer] = {}
    comms: dict[int, str] = {}
    raw_bufs = _opt(doc, "buffers", list, where) or []
    for i, bd in enumerate(raw_bufs):
        buf = buffer_from_dict(bd, f"{where}: buffers[{i}]", comms)
        buffers[buf.inode] = buf
    processes: dict[int, Process] = {}
    for i, pd in enumerate(_opt(doc, "processes", list, where) or []):
        proc = process_from_dict(pd, f"{where}: processes[{i}]")
        processes[proc.pid] = proc
    for b in buffers.values():
        for h in b.holders:
            if h.pid not in processes:
                processes[h.pid] = Process(pid=h.pid, comm=comms.get(h.pid, ""))
    return Snapshot(
        taken_at=taken_at,
        source=source,
        boot_id=str(doc.get("boot_id") or ""),
        buffers=dict(sorted(buffers.items())),
        processes=dict(sorted(processes.items())),
        kernel=kernel,
        warnings=_str_list(doc.get("warnings"), f"{where}: warnings"),
        unreadable_pids=list(int_list(doc.get("unreadable_pids"), f"{where}: unreadable_pids")),
        scan_seconds=seconds(doc.get("scan_seconds")),
        unverified_maps=unverified_from_list(doc.get("unverified_maps"), where),
        ancestors=ancestors_from_list(doc.get("ancestors"), where),
    )


def unverified_from_list(val: Any, where: str) -> list[UnverifiedMap]:
    if val is None:
        return []
    if not isinstance(val, list):
        raise SnapshotError(f"{where}: 'unverified_maps' has the wrong type")
    out = []
    for i, d in enumerate(val):
        w = f"{where}: unverified_maps[{i}]"
        if not isinstance(d, dict):
            raise SnapshotError(f"{w}: expected a mapping")
        name = d.get("name")
        out.append(UnverifiedMap(
            pid=_req(d, "pid", int, w), inode=_req(d, "inode", int, w),
            name=None if name is None else str(name), start=_req(d, "start", int, w),
            end=_req(d, "end", int, w), perms=str(d.get("perms", "")), dev=str(d.get("dev", "")),
        ))
    return out
