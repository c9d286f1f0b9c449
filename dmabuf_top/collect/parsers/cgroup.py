"""The app axis of a process on this machine: its cgroup (``/proc/PID/cgroup``) and
the app that cgroup names (a systemd unit or scope, a container, else the path), and
the cgroup's own dma-buf charge (the dmem controller's ``dmem.current`` / ``dmem.max``)."""

from __future__ import annotations

import re

#: a container id in a cgroup path component: docker (``docker-ID.scope``, cgroupfs
#: ``/docker/ID``), podman (``libpod-ID.scope``), containerd and CRI-O under
#: Kubernetes (``cri-containerd-ID.scope``, ``crio-ID.scope``, cgroupfs
#: ``/kubepods/QOS/podUID/ID``)
_CONTAINER = re.compile(
    r"(?:(docker|libpod|cri-containerd|crio)-)?([0-9a-f]{64})(?:\.scope)?"
)
#: the runtime each prefix names (no prefix: the directory above says)
_RUNTIME = {"docker": "docker", "libpod": "podman", "cri-containerd": "containerd",
            "crio": "cri-o"}
#: an XDG app unit: ``app[-LAUNCHER]-APPID-RANDOM.scope``,
#: ``app[-LAUNCHER]-APPID[@RANDOM].service``
_APP_SCOPE = re.compile(r"app-(.+)-[0-9A-Za-z]+\.scope")
_APP_SERVICE = re.compile(r"app-(.+?)(?:@[^@]*)?\.service")
_UNIT = re.compile(r"(.+)\.(?:scope|service)")
#: systemd's escape of ``-`` (and other bytes) in unit names
_ESCAPE = re.compile(r"\\x([0-9a-f]{2})")
#: a short container id: its first 12 hex digits, as ``docker ps`` prints it
SHORT_ID = 12
#: the app of a process in the root cgroup (kernel threads, an init without systemd,
#: every process of a machine where no cgroup hierarchy is mounted): no app's own
ROOT_APP = "(root cgroup)"


def parse_proc_cgroup(text: str) -> str | None:
    """The cgroup path of a process from its ``/proc/PID/cgroup``: the v2 line
    (``0::/path``) unless it is the root and a v1 hierarchy says more (hybrid
    setups: systemd's ``name=systemd`` first, else the first non-root one); None
    when no line has a path. An empty file is the root, ``/``: the kernel lists no
    hierarchy while none is mounted (cgroup v2's line appears once cgroup2 has been
    mounted: seen on the 6.1 VM), and every process is in the root of each."""
    if not text.strip():
        return "/"
    v2 = None
    v1: list[tuple[str, str]] = []
    # the kernel prints the v2 line last, and a cgroup name (a user may make cgroups in
    # their delegated subtree) may hold any byte but "/" and "\n": "\r", U+2028...
    # where str.splitlines() breaks too. The v2 path is all the rest of the file, so a
    # name like "x\r0::/system.slice/..." forges no other path
    at = 0 if text.startswith("0::/") else text.find("\n0::/") + 1  # 0 also: none
    if at or text.startswith("0::/"):
        v2, text = text[at + 3 :].removesuffix("\n"), text[:at]
    for line in text.split("\n"):
        hid, sep, rest = line.partition(":")
        controllers, sep2, path = rest.partition(":")
        if not sep or not sep2 or not path.startswith("/"):
            continue
        if hid == "0" and controllers == "":
            v2 = path
        else:
            v1.append((controllers, path))
    if v2 is not None and v2 != "/":
        return v2
    named = [p for c, p in v1 if c == "name=systemd" and p != "/"]
    others = [p for _, p in v1 if p != "/"]
    return (named or others or [v2 or (v1[0][1] if v1 else None)])[0]


def _unescape(name: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), name)


def _container(parts: list[str]) -> str | None:
    """``docker:0123456789ab`` (runtime and short id) of the innermost container
    component of a path, None when there is none."""
    for i in range(len(parts) - 1, -1, -1):
        m = _CONTAINER.fullmatch(parts[i])
        if m is None:
            continue
        prefix, cid = m.group(1), m.group(2)
        if prefix is not None:
            runtime = _RUNTIME[prefix]
        elif i > 0 and parts[i - 1] == "docker":
            runtime = "docker"
        elif any(p.startswith("kubepods") for p in parts[:i]):
            runtime = "k8s"
        else:
            runtime = "container"
        return f"{runtime}:{cid[:SHORT_ID]}"
    return None


def _app_id(body: str) -> str:
    """``[LAUNCHER-]APPID`` with the launcher dropped: a launcher (``gnome``,
    ``flatpak``, ``kde``) has no dot, an app id (``org.gnome.Nautilus``) usually has."""
    launcher, sep, rest = body.partition("-")
    if sep and rest and "." not in launcher:
        body = rest
    return _unescape(body)


def unit_app(unit: str) -> str | None:
    """The app a systemd unit name stands for, its instance folded:
    ``app-gnome-org.gnome.Nautilus-1234.scope`` -> ``org.gnome.Nautilus``,
    ``app-flatpak-org.mozilla.firefox@12.service`` -> ``org.mozilla.firefox``,
    ``session-3.scope`` -> ``session-3``, ``user@1000.service`` -> ``user@1000``,
    ``pipewire.service`` -> ``pipewire``; None when it is not a scope or service."""
    for pattern in (_APP_SCOPE, _APP_SERVICE):
        m = pattern.fullmatch(unit)
        if m is not None:
            return _app_id(m.group(1))
    m = _UNIT.fullmatch(unit)
    return _unescape(m.group(1)) if m is not None else None


def cgroup_app(path: str | None) -> str:
    """The app of a cgroup path: a container (``docker:ID12``, ``podman:``,
    ``containerd:``, ``cri-o:``, ``k8s:``), else the innermost systemd scope or
    service (``init.scope`` stands for the unit above it: a user manager's own
    processes), else the path itself (the root ``/``: :data:`ROOT_APP`); "" when
    unknown."""
    if not path:
        return ""
    if path == "/":
        return ROOT_APP
    parts = [p for p in path.split("/") if p]
    container = _container(parts)
    if container is not None:
        return container
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "init.scope" and i > 0:
            continue
        app = unit_app(parts[i])
        if app is not None:
            return app
    return path


def parse_heap_accounting(text: str | None) -> str:
    """``/sys/module/dma_heap/parameters/mem_accounting`` (a bool parameter: ``Y`` or
    ``N``) as "on" or "off"; None (no such file: a kernel before 7.0, or without
    heaps) as "absent"."""
    if text is None:
        return "absent"
    return "on" if text.strip() in ("Y", "y", "1") else "off"


def parse_dmem(text: str) -> dict[str, int | None]:
    """``dmem.current`` / ``dmem.max`` (one ``REGION VALUE`` a line) as region ->
    bytes; ``max`` (no limit) as None. Lines that are not that are left out."""
    out: dict[str, int | None] = {}
    for line in text.splitlines():
        region, _, value = line.strip().rpartition(" ")
        region = region.strip()
        if not region:
            continue
        if value == "max":
            out[region] = None
        elif value.isascii() and value.isdigit() and len(value) <= 20:  # a u64
            out[region] = int(value)
    return out
