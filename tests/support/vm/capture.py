"""Regenerate tests/data/vm-6.1/: real kernel text captured from the test VM.

    python -m tests.support.vm.capture [--dest tests/data/vm-6.1]

Boots the VM, runs scenario.py and copies what the kernel shows about it: debugfs
bufinfo, fdinfo + readlink of every dma-buf fd, the full maps of processes with dma-buf
mappings, /proc/PID/{comm,cmdline,stat} of the scenario processes, sysfs dma-buf stats
when the kernel has them, the scenario's JSON record, and what the app's own
``dmabuf-top snapshot`` wrote of it (snapshot.yaml: the SVG snapshot tests' data).  A
second scenario run adds a buffer named with a newline (hostile case) under newline/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from tests.support.vm.guest import BUFINFO, dmabuf_fds, start_scenario
from tests.support.vm.vm import VM

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DEST = REPO / "tests" / "data" / "vm-6.1"
OWNED = (
    "uname-r.txt", "uname-a.txt", "boot_id.txt", "bufinfo-empty.txt", "bufinfo.txt",
    "scenario.json", "fd-links.json", "sysfs-buffers.tsv", "sysfs-buffers.missing.txt",
    "fdinfo", "maps", "proc", "newline", "snapshot.yaml",
)  # fmt: skip


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)


def capture_fds(vm: VM, dest: Path, pids: set[str] | None = None) -> dict[str, str]:
    links = dmabuf_fds(vm)
    if pids is not None:
        links = {k: v for k, v in links.items() if k.split("/")[2] in pids}
    for path in links:
        _, _, pid, _, fd = path.split("/")
        _write(dest / "fdinfo" / f"{pid}-{fd}.txt", vm.read_file(f"/proc/{pid}/fdinfo/{fd}"))
    links = dict(sorted(links.items(), key=lambda kv: [int(x) for x in kv[0].split("/")[2::2]]))
    _write(dest / "fd-links.json", json.dumps(links, indent=1) + "\n")
    return links


def capture_maps(vm: VM, dest: Path, record: dict) -> list[str]:
    pids = sorted(
        {pid for b in record["buffers"].values() for pid, h in b["holders"].items() if h["maps"]},
        key=int,
    )
    for pid in pids:
        _write(dest / "maps" / f"{pid}.txt", vm.read_file(f"/proc/{pid}/maps"))
    return pids


def capture(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for name in OWNED:  # only what this script writes: others keep files here too
        path = dest / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    with VM() as vm:
        print(f"booted {vm.kernel_release} in {vm.boot_time:.2f}s", file=sys.stderr)
        _write(dest / "uname-r.txt", vm.sh("uname -r"))
        _write(dest / "uname-a.txt", vm.sh("uname -a"))
        _write(dest / "boot_id.txt", vm.read_file("/proc/sys/kernel/random/boot_id"))
        _write(dest / "bufinfo-empty.txt", vm.read_file(BUFINFO))
        with start_scenario(vm, "--no-impostor") as sc:
            rec = sc.record
            _write(dest / "scenario.json", json.dumps(rec, indent=1) + "\n")
            _write(dest / "bufinfo.txt", vm.read_file(BUFINFO))
            capture_fds(vm, dest)
            capture_maps(vm, dest, rec)
            exe = str(Path(vm.python).parent / "dmabuf-top")
            vm.run([exe, "snapshot", "-o", "/tmp/snapshot.yaml"], timeout=300, check=True)
            _write(dest / "snapshot.yaml", vm.read_file("/tmp/snapshot.yaml"))
            for pid in rec["processes"]:
                for item in ("comm", "cmdline", "stat"):
                    _write(dest / "proc" / pid / item, vm.read_file(f"/proc/{pid}/{item}"))
            sysfs = vm.run("ls /sys/kernel/dmabuf/buffers", timeout=30)
            if sysfs.returncode == 0:
                lines = []
                for ino in sysfs.stdout.split():
                    base = f"/sys/kernel/dmabuf/buffers/{ino}"
                    exp = vm.read_file(f"{base}/exporter_name").decode().strip()
                    size = vm.read_file(f"{base}/size").decode().strip()
                    lines.append(f"{ino}\t{exp}\t{size}\n")
                _write(dest / "sysfs-buffers.tsv", "".join(lines))
            else:
                _write(dest / "sysfs-buffers.missing.txt", sysfs.stderr)
        nl_args = ("--newline-name", "--no-impostor")
        with start_scenario(vm, *nl_args, out="/tmp/scenario-nl.json") as sc:
            rec = sc.record
            nl = dest / "newline"
            _write(nl / "scenario.json", json.dumps(rec, indent=1) + "\n")
            _write(nl / "bufinfo.txt", vm.read_file(BUFINFO))
            hog = {p for p, info in rec["processes"].items() if info["role"] == "hog"}
            capture_fds(vm, nl, hog)
            capture_maps(vm, nl, rec)
    print(f"captured into {dest}", file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    capture(p.parse_args().dest)


if __name__ == "__main__":
    main()
