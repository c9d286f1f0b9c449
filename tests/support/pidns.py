"""A private PID namespace with its own /proc (``unshare --pid --fork --mount-proc``):
the processes a test starts in it see only each other in /proc, so two scans of /proc
made in it see the same processes whatever the rest of the machine (other tests, other
users of a shared machine) starts or stops between them. Needs root (CI runs as root).

``command(argv)`` runs ``argv`` in it (``nsenter``, which forks: the process it starts
is in the namespace, its parent outside, so it is reaped by ``nsenter`` and a wait on
``nsenter`` waits for it; ``kill(popen)`` kills it, not only ``nsenter``). A process
left outside with only its children inside (``nsenter --no-fork``) could start no
thread: Linux refuses a thread in another PID namespace than its process's. The
namespace's init (pid 1) ignores SIGCHLD, so an orphan that ends there is reaped; when
it ends, the kernel kills what is left in the namespace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

#: pid 1 of the namespace: reaps orphans (SIGCHLD ignored), ends when its stdin closes
INIT = ("import signal, sys; signal.signal(signal.SIGCHLD, signal.SIG_IGN); "
        "print('up', flush=True); sys.stdin.read()")


class PidNamespace:
    """A PID namespace and mount namespace with a /proc of its own; close() ends it."""

    def __init__(self) -> None:
        try:
            self.init = subprocess.Popen(
                ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                 sys.executable, "-c", INIT],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
        except OSError as e:
            pytest.skip(f"no unshare (util-linux): {e}")
        assert self.init.stdout is not None
        if self.init.stdout.readline() != "up\n":
            err = self.init.communicate(timeout=30)[1].strip()
            pytest.skip(f"cannot make a PID namespace (needs root): {err}")
        # unshare itself stays in the host's PID namespace; its children are in the
        # new one, and it shares the new mount namespace (where the new /proc is)
        pid = self.init.pid
        self.enter = ["nsenter", f"--pid=/proc/{pid}/ns/pid_for_children",
                      f"--mount=/proc/{pid}/ns/mnt"]  # fmt: skip

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run in the namespace."""
        return [*self.enter, "--", *argv]

    @staticmethod
    def kill(p: subprocess.Popen, timeout: float = 10) -> None:
        """SIGKILL the process ``p`` (a ``command()``) started in the namespace, and
        wait for ``p``: nsenter waits for it and then ends with its signal."""
        for d in Path("/proc").iterdir():  # its child, by the host's pid numbers
            try:
                stat = (d / "stat").read_text()
            except (OSError, ValueError):
                continue  # not a pid, or gone
            if d.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == p.pid:
                try:
                    os.kill(int(d.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if p.poll() is None:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout)

    def close(self) -> None:
        if self.init.poll() is None:
            assert self.init.stdin is not None
            self.init.stdin.close()
            self.init.wait(30)
        for f in (self.init.stdout, self.init.stderr):
            if f is not None:
                f.close()
