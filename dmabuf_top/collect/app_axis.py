"""The app axis, assembled: each holder's user, cgroup and app from the text a
backend fetched (``/proc/PID/cgroup`` locally, the package list over adb), and the
holders' cgroups' own dma-buf charge (dmem) where the kernel has it."""

from __future__ import annotations

from dmabuf_top.collect.parsers.cgroup import cgroup_app, parse_dmem, parse_proc_cgroup
from dmabuf_top.collect.parsers.packages import android_app, parse_package_list
from dmabuf_top.collect.rawscan import RawScan
from dmabuf_top.collect.users import local_user
from dmabuf_top.model import CgroupCharge, Process

#: the dmem controller's files read per cgroup (Linux 6.14+)
DMEM_FILES = ("dmem.current", "dmem.max")


def assign_apps(
    processes: dict[int, Process], raw: RawScan, packages: dict[int, list[str]] | None = None
) -> None:
    """Fill ``user``, ``cgroup`` and ``app`` of ``processes`` (the holders): on a
    device the uid's package (``u0_a123`` when none claims it; ``packages``: raw's
    list parsed already), here the user name and the app of the cgroup
    ``/proc/PID/cgroup`` names."""
    if raw.kind == "adb":
        if packages is None:
            packages = parse_package_list(raw.packages or "")
        for p in processes.values():
            p.app = p.user = android_app(p.uid, packages)
        return
    for p in processes.values():
        if p.uid is not None:
            p.user = local_user(p.uid)
        text = raw.cgroups.get(p.pid)
        path = parse_proc_cgroup(text) if text is not None else None
        p.cgroup = path or ""
        p.app = cgroup_app(path)


def charges(raw: RawScan) -> dict[str, CgroupCharge]:
    """cgroup path -> its dmem charge, for every cgroup the backend looked at; a
    file the kernel does not have stays None (unavailable, not 0)."""
    out = {}
    for path, files in sorted(raw.cgroup_files.items()):
        cur, lim = (files.get(name) for name in DMEM_FILES)
        out[path] = CgroupCharge(
            cgroup=path,
            dmem_current=parse_dmem(cur) if cur is not None else None,
            dmem_max=parse_dmem(lim) if lim is not None else None,
        )
    return out
