"""Helpers for the adb tests: a real adb server on a private port, the test
peer (tests/support/adbpeer.py) on the host or in the VM, a test ``su``, the backend
without deltas."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dmabuf_top.collect.adb import AdbBackend
from dmabuf_top.collect.adb_setup import collector_command
from dmabuf_top.io.schema import APP_KEYS
from tests.support.paths import REPO, TESTS
from tests.support.pidns import PidNamespace

ADBPEER = TESTS / "support" / "adbpeer.py"
SHELL_UID = 2000  # Android's "shell" user

# A su that really switches to root (installed setuid root). Two flavours:
# Magisk-like "su -c CMD", and AOSP userdebug "su 0 CMD..." (which rejects -c).
SU_C = r"""
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (setgid(0) || setuid(0)) { perror("su"); return 1; }
#ifdef AOSP
    if (argc >= 2 && strcmp(argv[1], "-c") == 0) {
        fprintf(stderr, "su: invalid uid/gid '-c'\n"); return 1;
    }
    if (argc >= 3 && strcmp(argv[1], "0") == 0) { execvp(argv[2], argv + 2); }
#else
    if (argc == 3 && strcmp(argv[1], "-c") == 0) {
        execl("/bin/sh", "sh", "-c", argv[2], (char *)0);
    }
#endif
    fprintf(stderr, "su: usage\n");
    return 1;
}
"""

# Root makes dma-bufs with vgem and hands them to a child that becomes
# SHELL_UID (and stays dumpable, like an app), so an unprivileged scan sees it.
UNPRIVILEGED_HOLDER = r"""
import ctypes, os, signal, sys, time
sys.path.insert(0, sys.argv[1])
import vgem
card = vgem.Card()
fds = [card.dmabuf(64 * 1024, "shell buf"), card.dmabuf(128 * 1024)]
mapped = card.dmabuf(32 * 1024, "shell map")
pid = os.fork()
if pid == 0:
    os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[2]))
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
    vgem.map_shared(mapped, 32 * 1024)
    os.close(mapped)
    vgem.set_comm("shellapp")
    print("READY", flush=True)
    signal.pause()
    os._exit(0)
card.close()
for fd in fds + [mapped]:
    os.close(fd)
signal.signal(signal.SIGTERM, lambda *a: (os.kill(pid, signal.SIGKILL), os._exit(0)))
os.waitpid(pid, 0)
"""

#: a process holding one new dma-buf (vgem, in the VM: argv[1] is tests/support/vm), for
#: a changed scene
HOLDER = (
    "import signal, sys; sys.path.insert(0, sys.argv[1]); import vgem\n"
    "card = vgem.Card(); fd = card.dmabuf(64 * 1024, 'native delta'); card.close()\n"
    "print('READY', flush=True); signal.pause()\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require(cmd: str) -> str:
    path = shutil.which(cmd)
    if path is None:
        msg = f"'{cmd}' not installed (Debian package: {'adb' if cmd == 'adb' else cmd})"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return path


class AdbServer:
    """A real adb server (Debian's adb) on a free port with its own HOME."""

    def __init__(self) -> None:
        self.adb = require("adb")
        self.port = free_port()
        self.home = tempfile.mkdtemp(prefix="dt-adbhome-")
        self.env = {k: v for k, v in os.environ.items() if k != "ANDROID_SERIAL"}
        self.env.update(HOME=self.home, ANDROID_ADB_SERVER_PORT=str(self.port))

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.adb, "-P", str(self.port), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> AdbServer:
        r = self.run("start-server")
        assert r.returncode == 0, r.stderr
        return self

    def stop(self) -> None:
        self.run("kill-server")
        shutil.rmtree(self.home, ignore_errors=True)

    def devices(self) -> dict[str, str]:
        out = self.run("devices").stdout
        return dict(line.split("\t", 1) for line in out.splitlines()[1:] if "\t" in line)

    def wait_state(self, serial: str, state: str | None, timeout: float = 30) -> None:
        """Wait until the server lists serial in state (None: not listed)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.devices().get(serial)
            if got == state:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{serial}: state {got!r}, wanted {state!r}")
            time.sleep(0.1)

    def connect(self, addr: str, state: str = "device", timeout: float = 30) -> str:
        r = self.run("connect", addr)
        assert "connected to" in r.stdout, r.stdout + r.stderr
        self.wait_state(addr, state, timeout)
        return addr

    def disconnect(self, addr: str) -> None:
        self.run("disconnect", addr)

    def dmabuf_top(
        self, *args: str, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess:
        e = dict(self.env, **env)
        return subprocess.run(
            [sys.executable, "-m", "dmabuf_top", *args],
            env=e,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(REPO),
        )


class HostPeer:
    """tests/support/adbpeer.py on this machine (no dma-bufs here, but the whole
    protocol path and every error case). With ``ns`` its commands (the collector) run
    in that PID namespace (tests/support/pidns.py) and scan its /proc."""

    def __init__(self, *args: str, port: int = 0, ns: PidNamespace | None = None) -> None:
        self.args = args
        self.ns = ns
        cmd = [sys.executable, str(ADBPEER), "--listen", f"127.0.0.1:{port}", *args]
        self.proc = subprocess.Popen(
            cmd if ns is None else ns.command(cmd),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("listening "), line
        self.port = int(line.split()[1])
        self.serial = f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.ns is not None:
            self.ns.kill(self.proc)
        elif self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class TmpPeer(HostPeer):
    """The peer with its own temporary directory (sync's, the commands' TMPDIR); with
    ``ns`` its commands scan that PID namespace (where the test's ``mappers`` are), so
    two refreshes compared see the same processes (tests/support/pidns.py). (A temporary
    directory of its own there: the collector names its own by its pid, and pids repeat
    from one PID namespace to the next.)"""

    def __init__(self, tmp: Path, *args: str, ns: PidNamespace | None = None) -> None:
        tmp.mkdir(exist_ok=True)
        os.chmod(tmp, 0o1777)
        self.tmp = tmp
        super().__init__("--tmp", str(tmp), *args, ns=ns)


@contextmanager
def connected(server: AdbServer, peer: HostPeer) -> Iterator[HostPeer]:
    """The peer connected to the server, killed and disconnected after."""
    server.connect(peer.serial)
    try:
        yield peer
    finally:
        peer.kill()
        server.disconnect(peer.serial)


def build_su(outdir: str, aosp: bool, cc: str = "cc") -> str:
    """Compile the test su into outdir/su (setuid root); returns outdir."""
    src = Path(outdir) / "su.c"
    src.write_text(SU_C)
    exe = Path(outdir) / "su"
    cmd = [cc, "-O", "-o", str(exe), str(src)] + (["-DAOSP"] if aosp else [])
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    os.chmod(exe, 0o4755)
    os.chmod(outdir, 0o755)
    return outdir


class FullRefreshBackend(AdbBackend):
    """The real adb backend without a session: every refresh in full (as before
    deltas), to compare a delta refresh with; always the shell collector."""

    collector = "shell"

    def refresh_command(self) -> str:
        assert self.facts is not None
        return collector_command(self.facts, self.options)


def comparable(doc: dict) -> dict:
    """A snapshot dict without what differs between two runs of the same scan (and
    the local walk's warning that it cannot see GEM handles: it names ``--source
    bpf``, which an adb scan has no equivalent of; the app axis: a device names
    its apps by package, this machine by cgroup; the kernel's heap accounting switch,
    which only a local scan reads)."""
    from dmabuf_top.collect.local import GEM_HANDLES_UNSEEN

    out = {k: v for k, v in doc.items()
           if k not in ("taken_at", "source", "scan_seconds", "charges")}
    if "processes" in out:  # the app axis: Android's names on a device, this machine's here
        out["processes"] = [{k: v for k, v in p.items() if k not in APP_KEYS}
                            for p in out["processes"]]
    if "kernel" in out:
        out["kernel"] = {k: v for k, v in out["kernel"].items() if k != "heap_accounting"}
    if "warnings" in out:
        out["warnings"] = [w for w in out["warnings"] if w != GEM_HANDLES_UNSEEN]
    return out
