"""Signals over adb (collect/adb.py's Signaller ability) through a REAL adb server and
tests/support/adbpeer.py on this machine: the device-side check and ``kill -N PID`` run
in the peer's shell, so a child process of this test receives it; a pid that is another
process now (issue 21 item 5: an earlier start time remembered, a real pid reuse being
impractical) or that exited is refused by that shell, and nothing is sent."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmabuf_top.collect.adb import open_adb_backend
from dmabuf_top.collect.adb_setup import DeviceFacts, kill_command
from dmabuf_top.collect.contract import (
    BackendError,
    ProcessChanged,
    SeenProcess,
    Signaller,
    signaller_of,
)
from dmabuf_top.collect.file import FileBackend
from dmabuf_top.io.loader import load_files
from tests.support.pilot import VM_SNAPSHOT
from tests.support.seen import seen_now, sleeper, wait_for_file


@pytest.fixture
def child(tmp_path: Path) -> Iterator[subprocess.Popen]:
    with sleeper(tmp_path / "got") as proc:
        yield proc


def test_kill_over_adb_reaches_the_process(server, peer, child, tmp_path: Path) -> None:
    backend = open_adb_backend(serial=peer.serial, port=server.port)
    assert signaller_of(backend) is backend and isinstance(backend, Signaller)
    backend.send_signal(seen_now(child.pid), int(signal.SIGUSR1))
    assert wait_for_file(tmp_path / "got") == str(int(signal.SIGUSR1))
    backend.send_signal(seen_now(child.pid), int(signal.SIGTERM))
    assert child.wait(timeout=10) == -signal.SIGTERM


def test_a_pid_that_is_another_process_now_is_refused_on_the_device(
    server, peer, child, tmp_path: Path
) -> None:
    backend = open_adb_backend(serial=peer.serial, port=server.port)
    now = seen_now(child.pid, "chromium")
    earlier = dataclasses.replace(now, start_time=now.start_time - 1)
    with pytest.raises(ProcessChanged) as e:
        backend.send_signal(earlier, int(signal.SIGKILL))
    assert str(e.value) == f"pid {child.pid} is no longer chromium (started later): not signalled"
    with pytest.raises(ProcessChanged, match=r"\(the device restarted\)"):
        backend.send_signal(dataclasses.replace(now, boot_id="0" * 32), int(signal.SIGKILL))
    assert child.poll() is None and not (tmp_path / "got").exists()


def test_a_process_that_exited_is_refused_in_one_line(server, peer, child) -> None:
    backend = open_adb_backend(serial=peer.serial, port=server.port)
    seen = seen_now(child.pid)
    child.kill()
    child.wait()
    with pytest.raises(ProcessChanged) as e:
        backend.send_signal(seen, int(signal.SIGTERM))
    assert str(e.value) == f"pid {child.pid} is no longer sleeper (exited): not signalled"


def test_a_kill_that_fails_over_adb_is_one_line(server, peer) -> None:
    """No start time known (nothing to check but the pid): kill's own error, one line."""
    backend = open_adb_backend(serial=peer.serial, port=server.port)
    with pytest.raises(BackendError) as e:
        backend.send_signal(SeenProcess(1, "init"), 0x7F)  # no signal 127
    msg = str(e.value)
    assert msg.startswith(f"device {peer.serial}: kill 1: ") and "\n" not in msg


def test_kill_goes_through_su_as_the_collector_does() -> None:
    seen = SeenProcess(42, "x", 777, "b00t")
    assert kill_command(DeviceFacts(uid=2000, su="c"), seen, 15).startswith("su -c 'sh -c ")
    assert kill_command(DeviceFacts(uid=2000, su="0"), seen, 9).startswith("su 0 sh -c ")
    assert kill_command(DeviceFacts(uid=0, su="c"), seen, 1).startswith("sh -c ")
    assert kill_command(DeviceFacts(uid=2000, su="no"), seen, 1).startswith("sh -c ")
    cmd = kill_command(DeviceFacts(uid=0), seen, 1)
    assert "= 777 ]" in cmd and "b00t" in cmd and "kill -1 42" in cmd


def test_a_file_offers_no_signals() -> None:
    assert signaller_of(FileBackend(load_files([VM_SNAPSHOT]))) is None
