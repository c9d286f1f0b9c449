"""The cgroup side of the app axis (collect/parsers/cgroup.py): real-shaped
``/proc/PID/cgroup`` texts and cgroup paths (systemd desktops, docker, podman,
containerd and CRI-O under Kubernetes) to their app, dmem files to bytes."""

from __future__ import annotations

import pytest

from dmabuf_top.collect.parsers.cgroup import (
    cgroup_app,
    parse_dmem,
    parse_proc_cgroup,
    unit_app,
)

ID = "4f1c" + "0123456789abcdef" * 3 + "0a1b2c3d4e5f"  # 64 hex digits
USER = "/user.slice/user-1000.slice/user@1000.service"


@pytest.mark.parametrize(("path", "app"), [
    (f"{USER}/app.slice/app-gnome-org.gnome.Nautilus-1234.scope", "org.gnome.Nautilus"),
    (f"{USER}/app.slice/app-gnome-org.gnome.Nautilus-99.scope", "org.gnome.Nautilus"),
    (f"{USER}/app.slice/app-flatpak-org.mozilla.firefox-48213.scope", "org.mozilla.firefox"),
    (f"{USER}/app.slice/app-org.kde.konsole-8f3a9c.scope", "org.kde.konsole"),
    (f"{USER}/app.slice/app-gnome-firefox-5061.scope", "firefox"),
    (f"{USER}/app.slice/app-gnome\\x2dterminal\\x2dserver-3.scope", "gnome-terminal-server"),
    (f"{USER}/app.slice/app-flatpak-com.valvesoftware.Steam@1234.service",
     "com.valvesoftware.Steam"),
    (f"{USER}/session.slice/org.gnome.Shell@wayland.service", "org.gnome.Shell@wayland"),
    (f"{USER}/session.slice/pipewire.service", "pipewire"),
    (f"{USER}/init.scope", "user@1000"),
    ("/user.slice/user-1000.slice/session-3.scope", "session-3"),
    ("/system.slice/gdm.service", "gdm"),
    (f"/system.slice/docker-{ID}.scope", f"docker:{ID[:12]}"),
    (f"/docker/{ID}", f"docker:{ID[:12]}"),
    (f"/machine.slice/libpod-{ID}.scope/container", f"podman:{ID[:12]}"),
    ("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a1b.slice/"
     f"cri-containerd-{ID}.scope", f"containerd:{ID[:12]}"),
    (f"/kubepods.slice/kubepods-burstable.slice/x.slice/crio-{ID}.scope", f"cri-o:{ID[:12]}"),
    (f"/kubepods/besteffort/pod0a1b-22/{ID}", f"k8s:{ID[:12]}"),
    ("/", "(root cgroup)"),
    ("/lxc/web01", "/lxc/web01"),
    ("", ""),
    (None, ""),
])
def test_cgroup_app(path: str | None, app: str) -> None:
    assert cgroup_app(path) == app


def test_unit_app_is_none_for_slices() -> None:
    assert unit_app("app.slice") is None
    assert unit_app("user-1000.slice") is None


V2 = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-org.gnome.Foo-12.scope\n"
HYBRID = (
    "12:pids:/user.slice/user-1000.slice/user@1000.service\n"
    "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
    "0::/\n"
)
V1_ONLY = "11:memory:/docker/" + ID + "\n10:cpu,cpuacct:/docker/" + ID + "\n"


def test_parse_proc_cgroup() -> None:
    assert parse_proc_cgroup(V2) == V2[3:-1]
    assert parse_proc_cgroup(HYBRID) == "/user.slice/user-1000.slice/session-2.scope"
    assert parse_proc_cgroup(V1_ONLY) == f"/docker/{ID}"
    assert parse_proc_cgroup("0::/\n") == "/"
    # with no cgroup hierarchy mounted every /proc/PID/cgroup is empty (the 6.1 VM:
    # test_vm_apps.py's root cgroup test reads it there): the root cgroup
    assert parse_proc_cgroup("") == "/" and cgroup_app(parse_proc_cgroup("")) == "(root cgroup)"
    assert parse_proc_cgroup("garbage\n0:x\n") is None


@pytest.mark.parametrize("brk", ["\n", "\r", "\x1c", "\u2028"])
def test_a_cgroup_name_with_a_line_break_forges_no_other_cgroup(brk: str) -> None:
    """A user may name a cgroup in their delegated subtree with any byte but "/" and
    "\\n" (the kernel refuses it; "\\n" is kept here in case one does not): the kernel
    prints the v2 path as it is, last. A name holding a line break and a ``0::/...``
    line is the real path, never the forged one (str.splitlines() took it)."""
    real = f"/user.slice/user-1000.slice/user@1000.service/app.slice/x{brk}0::"
    forged = "/system.slice/docker-" + ID + ".scope"
    for text in (f"0::{real}{forged}\n", f"{HYBRID.rpartition('0::')[0]}0::{real}{forged}\n"):
        assert parse_proc_cgroup(text) == real + forged
    assert parse_proc_cgroup(f"0::{real}\n") == real


def test_parse_dmem() -> None:
    text = "drm/0000:03:00.0/vram0 1048576\ndrm/0000:03:00.0/stolen max\nbad line\n"
    assert parse_dmem(text) == {"drm/0000:03:00.0/vram0": 1048576, "drm/0000:03:00.0/stolen": None}
    assert parse_dmem("") == {}


def test_heap_accounting_travels_through_assemble_and_the_snapshot_file() -> None:
    """``/sys/module/dma_heap/parameters/mem_accounting`` (``Y``/``N``; none before
    7.0) as kernel.heap_accounting; an unknown value in a file is one error line."""
    from dmabuf_top.collect.assemble import assemble
    from dmabuf_top.io.codec import dump_snapshot
    from dmabuf_top.io.errors import SnapshotError
    from dmabuf_top.io.loader import loads_snapshots
    from tests.support.rawscans import scene

    raw = scene()
    for text, state in (("Y\n", "on"), ("N\n", "off"), (None, "absent")):
        raw.heap_accounting = text
        dumped = dump_snapshot(assemble(raw))
        assert loads_snapshots(dumped)[0].kernel.heap_accounting == state
    raw.kind = "adb"  # not read there: no field, not "absent"
    dumped = dump_snapshot(assemble(raw))
    assert "heap_accounting" not in dumped
    assert loads_snapshots(dumped)[0].kernel.heap_accounting is None
    raw.kind = "local"
    bad = dump_snapshot(assemble(raw)).replace("heap_accounting: absent", "heap_accounting: maybe")
    with pytest.raises(SnapshotError, match="'heap_accounting' is not one of on, off, absent"):
        loads_snapshots(bad)
