"""Signals over adb (collect/adb.py's Signaller ability) through a REAL adb server and
tests/support/adbpeer.py on this machine: ``kill -N PID`` runs in the peer's shell, so
a child process of this test receives it; a failed kill is one BackendError line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmabuf_top.collect.adb import open_adb_backend
from dmabuf_top.collect.adb_setup import DeviceFacts, kill_command
from dmabuf_top.collect.contract import BackendError, Signaller, signaller_of
from dmabuf_top.collect.file import FileBackend
from dmabuf_top.io.loader import load_files
from tests.support.pilot import VM_SNAPSHOT

CHILD = """
import signal, sys, time
signal.signal(signal.SIGUSR1, lambda s, f: open(sys.argv[1], "w").write(str(s)))
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def child(tmp_path: Path) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "got")],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_kill_over_adb_reaches_the_process(server, peer, child, tmp_path: Path) -> None:
    backend = open_adb_backend(serial=peer.serial, port=server.port)
    assert signaller_of(backend) is backend and isinstance(backend, Signaller)
    backend.send_signal(child.pid, int(signal.SIGUSR1))
    for _ in range(200):
        if (tmp_path / "got").exists():
            break
        time.sleep(0.02)
    assert (tmp_path / "got").read_text() == str(int(signal.SIGUSR1))
    backend.send_signal(child.pid, int(signal.SIGTERM))
    assert child.wait(timeout=10) == -signal.SIGTERM


def test_a_kill_that_fails_over_adb_is_one_line(server, peer, child) -> None:
    backend = open_adb_backend(serial=peer.serial, port=server.port)
    child.kill()
    child.wait()
    with pytest.raises(BackendError) as e:
        backend.send_signal(child.pid, int(signal.SIGTERM))
    msg = str(e.value)
    assert msg.startswith(f"device {peer.serial}: kill {child.pid}: ") and "\n" not in msg


def test_kill_goes_through_su_as_the_collector_does() -> None:
    assert kill_command(DeviceFacts(uid=2000, su="c"), 42, 15).startswith("su -c 'kill -15 42'")
    assert kill_command(DeviceFacts(uid=2000, su="0"), 42, 9).startswith("su 0 kill -9 42")
    assert kill_command(DeviceFacts(uid=0, su="c"), 42, 1).startswith("kill -1 42 ")
    assert kill_command(DeviceFacts(uid=2000, su="no"), 42, 1).startswith("kill -1 42 ")


def test_a_file_offers_no_signals() -> None:
    assert signaller_of(FileBackend(load_files([VM_SNAPSHOT]))) is None
