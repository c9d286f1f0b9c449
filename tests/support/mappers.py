"""Processes that each map a file named like a dma-buf (``/dmabuf:TAG NAME``, made at
the root of the filesystem and removed after): the churn a machine without dma-bufs
allows, which the collector's maps, uids, comm, stat and cmdline sections carry.
With a PID namespace (tests/support/pidns.py) each mapper runs in it under a shell of
its own (a parent in the namespace: the collectors walk a holder's ancestors)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pidns import PidNamespace

MAPPER = r"""
import mmap, sys
if len(sys.argv) > 2:  # its own comm (a process may name only itself)
    open("/proc/self/comm", "wb").write(sys.argv[2].encode("utf-8", "surrogateescape"))
f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 4096, mmap.MAP_SHARED)
print("mapped", flush=True)
sys.stdin.read()
"""


class Mappers:
    """Processes that each map a file named like a dma-buf (``/dmabuf:TAG NAME``)."""

    def __init__(self, ns: PidNamespace | None = None) -> None:
        self.ns = ns
        self.tag = f"dt-delta-{os.getpid()}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.paths: list[Path] = []

    def names(self, snap: dict) -> set[str]:
        """The names of this test's mappings in a snapshot, without the tag."""
        cut = len(self.tag) + 1
        maps = snap.get("unverified_maps", [])
        return {m["name"][cut:] for m in maps if m["name"].startswith(self.tag)}

    def start(self, name: str, comm: str | None = None) -> None:
        path = Path(f"/dmabuf:{self.tag} {name}")
        try:
            path.write_bytes(b"\0" * 4096)
        except OSError as e:
            pytest.skip(f"cannot make {path}: {e.strerror}")
        self.paths.append(path)
        cmd = [sys.executable, "-c", MAPPER, str(path), *([comm] if comm is not None else [])]
        if self.ns is not None:
            cmd = self.ns.command(["sh", "-c", '"$@"; exit $?', "sh", *cmd])
        p = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert p.stdout is not None and p.stdout.readline() == "mapped\n"
        self.procs[name] = p

    def stop(self, name: str) -> None:
        p = self.procs.pop(name)
        assert p.stdin is not None and p.stdout is not None
        # at the end of its stdin the mapper exits, then its shell and nsenter: once
        # they are waited for, none of them is left in /proc
        p.stdin.close()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
        p.stdout.close()

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)
        for path in self.paths:
            path.unlink(missing_ok=True)
