"""What the kernel's memory controller charges for system-heap dma-bufs (runs in the
guest as root, stdlib + vgem.py): a child moves itself into a fresh cgroup v2
directory (the memory controller enabled down to it), reads its ``memory.stat``,
``memory.current`` and ``memory.events``, allocates system-heap buffers of known
sizes, reads them again, frees the buffers and reads them a third time. Prints one
JSON object: the sizes, ``/sys/module/dma_heap/parameters/mem_accounting`` (null
when the kernel has no such parameter) and the three readings (raw text, so a test
keeps the kernel's own words)."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apps_scene  # noqa: E402
import vgem  # noqa: E402

ROOT = apps_scene.ROOT
CGROUP = "/dt-memcg.slice/app-probe-1.scope"
FILES = ("memory.stat", "memory.current", "memory.events")
PARAM = "/sys/module/dma_heap/parameters/mem_accounting"
#: what is allocated: 4 MiB + 1 MiB + 64 KiB (page multiples)
SIZES = (4 << 20, 1 << 20, 64 << 10)


def read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def reading(path: str) -> dict[str, str | None]:
    return {name: read(f"{ROOT}{path}/{name}") for name in FILES}


def probe() -> dict:
    """In a child (so this process's own memory stays out of the cgroup)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        with open(f"{ROOT}{CGROUP}/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))
        out: dict = {"before": reading(CGROUP)}
        fds = [vgem.heap_alloc(size) for size in SIZES]
        out["held"] = reading(CGROUP)
        out["cgroup_line"] = read(f"/proc/{os.getpid()}/cgroup")
        for fd in fds:
            os.close(fd)
        out["freed"] = reading(CGROUP)
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 1 << 16):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def main() -> None:
    apps_scene.ensure_cgroup2()
    apps_scene.make_cgroup(CGROUP)
    try:
        doc = probe()
    finally:
        apps_scene.remove_cgroup(CGROUP)
    doc.update(sizes=list(SIZES), cgroup=CGROUP, mem_accounting=read(PARAM),
               release=os.uname().release)
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
