"""Real child processes to signal, and what the TUI remembers of one when a user picks
it (:class:`SeenProcess`: its start time and the boot id, read from /proc now)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dmabuf_top.collect.contract import SeenProcess
from dmabuf_top.collect.parsers.procstat import parse_stat

#: a child that writes the number of a SIGUSR1 it gets into argv[1] (renamed into place),
#: takes argv[2] as its comm when given, and says ready
CHILD = """
import os, signal, sys
if len(sys.argv) > 2:
    open("/proc/self/comm", "w").write(sys.argv[2])
def got(signum, frame):  # whole or not at all: the reader waits for the name
    with open(sys.argv[1] + ".part", "w") as f:
        f.write(str(signum))
    os.rename(sys.argv[1] + ".part", sys.argv[1])
signal.signal(signal.SIGUSR1, got)
print("ready", flush=True)
while True:
    signal.pause()
"""


@contextmanager
def sleeper(got: Path, comm: str | None = None) -> Iterator[subprocess.Popen]:
    args = [str(got)] if comm is None else [str(got), comm]
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def start_time(pid: int) -> int:
    st = parse_stat(Path(f"/proc/{pid}/stat").read_text())
    assert st is not None
    return st.start_time


def seen_now(pid: int, comm: str = "sleeper") -> SeenProcess:
    """``pid`` as a user picking it now would have seen it."""
    return SeenProcess(pid, comm, start_time(pid), boot_id())


def wait_for_file(path: Path, timeout: float = 60) -> str:
    """The text of ``path`` once it exists (a child writes it when a signal lands)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.01)
    return path.read_text()
