"""Snapshot documents (schema ``dmabuf-top/1``) back into the model: plain data from
YAML to Buffer/Process/Snapshot, with type checks and one-line errors."""

from __future__ import annotations

from typing import Any

from dmabuf_top.io import schema
from dmabuf_top.io.codec import SCHEMA
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.quick_read import INT_LIMIT, read_buffer
from dmabuf_top.model import (
    HEAP_ACCOUNTING,
    Buffer,
    CgroupCharge,
    KernelInfo,
    Process,
    Snapshot,
    Source,
    UnverifiedMap,
)


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


def _buffer_checked(bd: Any, comms: dict[int, str] | None) -> Buffer | None:
    """:func:`buffer_from_dict` by the quick path (:mod:`dmabuf_top.io.quick_read`:
    None when an entry needs the careful path)."""
    result: Buffer | None = read_buffer(bd, comms)
    return result


def buffer_from_dict(bd: Any, w: str, comms: dict[int, str] | None = None) -> Buffer:
    """One entry of ``buffers:``; holder comms are added to ``comms`` (pid -> comm)."""
    fast = _buffer_checked(bd, comms)
    return fast if fast is not None else _buffer_careful(bd, w, comms)


def _careful_value(f: schema.Field, d: dict[str, Any], w: str, comms: dict[int, str] | None) -> Any:
    kind, key = f.kind, f.key
    if f.required:
        return _req(d, key, int, w)
    if kind in (schema.INT, schema.OPT_INT, schema.HEX):
        val = _opt(d, key, int, w)
        return f.default if val is None else val
    if kind == schema.TEXT:
        return str(d.get(key, f.default))
    if kind == schema.OPT_TEXT:
        val = d.get(key)
        return val if val is None or isinstance(val, str) else str(val)
    if kind == schema.BOOL:
        return bool(d.get(key, f.default))
    if kind == schema.STRS:
        return _str_list(d.get(key), f"{w}.{key}")
    if kind == schema.INTS:
        return list(int_list(d.get(key), f"{w}.{key}"))
    assert f.record is not None
    rec, out = f.record, []
    for j, item in enumerate(_opt(d, key, list, w) or []):
        out.append(_careful_record(rec, item, f"{w}.{key}[{j}]" if rec.indexed else w, comms,
                                   f"{key} entries must be mappings"))
    return out


def _careful_record(
    rec: schema.Record, d: Any, w: str, comms: dict[int, str] | None,
    not_mapping: str = "expected a mapping",
) -> Any:
    if not isinstance(d, dict):
        raise SnapshotError(f"{w}: {not_mapping if not rec.indexed else 'expected a mapping'}")
    kw = {}
    for f in rec.attrs():
        kw[f.key] = _careful_value(f, d, w, comms)
        if f.key == "pid" and comms is not None and isinstance(d.get("comm"), str):
            comms.setdefault(kw["pid"], d["comm"])
    return rec.cls(**kw)


def _buffer_careful(bd: Any, w: str, comms: dict[int, str] | None) -> Buffer:
    result: Buffer = _careful_record(schema.BUFFER, bd, w, comms)
    return result


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
        **{k: str(pd.get(k) or "") for k in schema.APP_KEYS},
    )


def _entries_of(val: Any, key: str, where: str) -> list[tuple[str, Any]]:
    """A top-level list absent from older files (None: empty) as (where of each
    entry, entry); SnapshotError when it is not a list."""
    if val is None:
        return []
    if not isinstance(val, list):
        raise SnapshotError(f"{where}: '{key}' has the wrong type")
    return [(f"{where}: {key}[{i}]", d) for i, d in enumerate(val)]


def ancestors_from_list(val: Any, where: str) -> dict[int, Process]:
    """``ancestors:`` (absent in older files) as pid -> Process."""
    out = {}
    for w, d in _entries_of(val, "ancestors", where):
        proc = process_from_dict(d, w)
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
        heap_accounting=_heap_accounting(kd, f"{where}: kernel"),
    )


def _heap_accounting(kd: dict[str, Any], where: str) -> str | None:
    val = _opt(kd, "heap_accounting", str, where)
    if val is not None and val not in HEAP_ACCOUNTING:
        known = ", ".join(HEAP_ACCOUNTING)
        raise SnapshotError(f"{where}: 'heap_accounting' is not one of {known}")
    return val


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
        charges=charges_from_list(doc.get("charges"), where),
    )


def _regions(d: dict[str, Any], key: str, where: str) -> dict[str, int | None] | None:
    val = _opt(d, key, dict, where)
    if val is None:
        return None
    return {str(k): None if v is None else _checked(v, key, int, where) for k, v in val.items()}


def charges_from_list(val: Any, where: str) -> dict[str, CgroupCharge]:
    """``charges:`` (absent in older files) as cgroup path -> CgroupCharge."""
    out = {}
    for w, d in _entries_of(val, "charges", where):
        if not isinstance(d, dict):
            raise SnapshotError(f"{w}: expected a mapping")
        path = str(_req(d, "cgroup", str, w))
        out[path] = CgroupCharge(path, _regions(d, "dmem_current", w), _regions(d, "dmem_max", w))
    return out


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
