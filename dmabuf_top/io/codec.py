"""Snapshots as documents of schema ``dmabuf-top/1``: the model to plain data and
back (with type checks and one-line errors), and the YAML text of one snapshot."""

from __future__ import annotations

from typing import Any

from dmabuf_top.analysis import accounting
from dmabuf_top.analysis.apps import AppStats
from dmabuf_top.io import schema
from dmabuf_top.io.yamltext import HexInt, dump_yaml
from dmabuf_top.model import (
    Buffer,
    CgroupCharge,
    KernelInfo,
    Process,
    Snapshot,
    Source,
    UnverifiedMap,
)

SCHEMA = "dmabuf-top/1"


# ---------------------------------------------------------------- to dict


def buffer_to_dict(b: Buffer, comm: dict[int, str]) -> dict[str, Any]:
    """One entry of ``buffers:`` (``comm`` maps pid -> comm for the holders)."""
    return schema.to_dict(schema.BUFFER, b, comm, HexInt)


def source_to_dict(source: Source) -> dict[str, Any]:
    src: dict[str, Any] = {
        "kind": source.kind,
        "host": source.host,
        "kernel": source.kernel,
        "privilege": source.privilege,
    }
    for key in ("serial", "model", "android", "build_type"):
        val = getattr(source, key)
        if val is not None:
            src[key] = val
    return src


def kernel_to_dict(k: KernelInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sources": list(k.sources),
        "total_bytes": k.total_bytes,
        "bufinfo_objects": k.bufinfo_objects,
        "bufinfo_bytes": k.bufinfo_bytes,
        "heaps": list(k.heaps),
        "total_pools_kb": k.total_pools_kb,
        "meminfo_kb": dict(k.meminfo_kb),
    }
    # optional: files from before them, and kernels without GPUActive, have none
    for key in ("mem_total", "gpu_active", "gpu_reclaim", "heap_accounting"):
        if getattr(k, key) is not None:
            out[key] = getattr(k, key)
    return out


def totals_to_dict(tot: accounting.Totals) -> dict[str, Any]:
    """The ``totals:`` of a snapshot (bytes as integers)."""
    return {
        "buffers": tot.buffers,
        "bytes": tot.bytes,
        "userspace_bytes": tot.userspace_bytes,
        "kernel_only_bytes": tot.kernel_only_bytes,
        "userspace_rss": tot.userspace_rss,
        "userspace_pss": tot.userspace_pss,
        "kernel_wide": tot.kernel_wide,
    }


def process_to_dict(p: accounting.ProcessStats) -> dict[str, Any]:
    """One entry of ``processes:`` (with its Rss/Pss; ``handles`` and
    ``handle_bytes`` only when it holds some buffer by GEM handle, ``ppid`` and
    ``start_time`` only when known: files written before them have none)."""
    out = {
        "pid": p.pid,
        "comm": p.comm,
        "cmdline": p.cmdline,
        "uid": p.uid,
        "buffers": p.buffers,
        "fds": p.fds,
        "maps": p.maps,
        "rss": p.rss,
        "pss": p.pss,
    }
    if p.handles:  # only when some GEM handle names a buffer: older files have none
        out["handles"] = p.handles
        out["handle_bytes"] = p.handle_bytes
    return app_keys(tree_keys(out, p.ppid, p.start_time), p)


def app_keys(d: dict[str, Any], p: Any) -> dict[str, Any]:
    """``d`` with the app axis of ``p`` (``user``, ``app``, ``cgroup``), each only
    when known."""
    for key in schema.APP_KEYS:
        value = getattr(p, key)
        if value:
            d[key] = value
    return d


def tree_keys(d: dict[str, Any], ppid: int | None, start_time: int | None) -> dict[str, Any]:
    """``d`` with ``ppid`` and ``start_time`` added, each only when known."""
    if ppid is not None:
        d["ppid"] = ppid
    if start_time is not None:
        d["start_time"] = start_time
    return d


def ancestors_to_list(ancestors: dict[int, Process]) -> list[dict[str, Any]]:
    """``ancestors:``: the holders' ancestors that hold nothing (pid, comm, ppid,
    start_time), for a process tree."""
    return [
        tree_keys({"pid": p.pid, "comm": p.comm}, p.ppid, p.start_time)
        for p in ancestors.values()
    ]


def charges_to_list(charges: dict[str, CgroupCharge]) -> list[dict[str, Any]]:
    """``charges:``: each holder cgroup's dmem use and limit per region (null: the
    kernel has no such file there; a null limit: ``max``)."""
    return [
        {"cgroup": c.cgroup, "dmem_current": c.dmem_current, "dmem_max": c.dmem_max}
        for c in charges.values()
    ]


def app_to_dict(a: AppStats) -> dict[str, Any]:
    """One app of ``--once --view apps --format json``: its sums, pids and cgroups,
    ``dmem`` (its cgroups' dmem charge) and ``memcg_heap`` null when the kernel has
    none (the table's ``unavailable`` says why)."""
    return {
        "app": a.app, "procs": a.procs, "pids": list(a.pids), "buffers": a.buffers,
        "rss": a.rss, "pss": a.pss, "handle_bytes": a.handle_bytes,
        "cgroups": list(a.cgroups), "dmem": a.dmem_bytes, "memcg_heap": a.memcg_heap,
    }


def exporter_to_dict(e: accounting.ExporterStats) -> dict[str, Any]:
    """One entry of ``exporters:``."""
    return {"name": e.name, "buffers": e.buffers, "bytes": e.bytes, "heap": e.heap}


def holder_comms(snap: Snapshot) -> dict[int, str]:
    """pid -> comm, as the holders of a snapshot document show them."""
    return {pid: p.comm for pid, p in snap.processes.items()}


def snapshot_to_dict(snap: Snapshot, buffer_objects: bool = False) -> dict[str, Any]:
    """The snapshot document as plain data. With ``buffer_objects`` the
    ``buffers`` list holds the Buffer objects themselves, for ``dump_yaml`` with
    :func:`holder_comms` to write (the same text, without the dicts)."""
    procs = accounting.process_stats(snap)
    tot = accounting.totals(snap, procs)
    buffers: list[Any] = snap.sorted_buffers()
    if not buffer_objects:
        comm = holder_comms(snap)
        buffers = [buffer_to_dict(b, comm) for b in buffers]
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "taken_at": snap.taken_at,
        "source": source_to_dict(snap.source),
        "boot_id": snap.boot_id,
        "totals": totals_to_dict(tot),
        "kernel": kernel_to_dict(snap.kernel),
        "buffers": buffers,
        "processes": [process_to_dict(p) for p in procs],
        "exporters": [exporter_to_dict(e) for e in accounting.exporter_stats(snap)],
        "warnings": list(snap.warnings),
        "unreadable_pids": list(snap.unreadable_pids),
        "scan_seconds": snap.scan_seconds,
    }
    if snap.unverified_maps:  # only when there are any: older readers never saw the key
        doc["unverified_maps"] = unverified_to_list(snap.unverified_maps)
    if snap.ancestors:  # the same
        doc["ancestors"] = ancestors_to_list(snap.ancestors)
    if snap.charges:  # the same
        doc["charges"] = charges_to_list(snap.charges)
    return doc


def unverified_to_list(maps: list[UnverifiedMap]) -> list[dict[str, Any]]:
    return [
        {"pid": m.pid, "inode": m.inode, "name": m.name, "start": HexInt(m.start),
         "end": HexInt(m.end), "perms": m.perms, "dev": m.dev}
        for m in maps
    ]


def dump_snapshot(snap: Snapshot) -> str:
    return dump_yaml(snapshot_to_dict(snap, buffer_objects=True), holder_comms(snap))


# ---------------------------------------------------------------- from dict
