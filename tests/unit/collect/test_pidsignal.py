"""collect/pidsignal.py (issue 21 item 5): a signal goes only to the process the user
saw. Real children; a reused pid is made by remembering a start time the child does not
have (a real pid reuse needs ~4 million forks: impractical), a restart by another boot
id. Refused signals send nothing: the child keeps running and never sees one."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from pathlib import Path

import pytest

from dmabuf_top.collect.contract import BackendError, ProcessChanged, SeenProcess
from dmabuf_top.collect.parsers.procstat import parse_stat
from dmabuf_top.collect.pidsignal import change, signal_seen
from tests.support.seen import seen_now, sleeper, wait_for_file

USR1 = int(signal.SIGUSR1)


@pytest.fixture(params=["pidfd", "kill"])
def how(request, monkeypatch) -> str:
    """Both ways: a pidfd, and a checked kill() as where pidfds are missing."""
    if request.param == "kill":
        monkeypatch.delattr(os, "pidfd_open")
    return request.param


def test_the_process_seen_gets_the_signal(tmp_path: Path, how: str) -> None:
    with sleeper(tmp_path / "got") as child:
        signal_seen(seen_now(child.pid), USR1)
        assert wait_for_file(tmp_path / "got") == str(USR1)
        signal_seen(seen_now(child.pid), int(signal.SIGTERM))
        assert child.wait(timeout=10) == -signal.SIGTERM


def test_a_pid_that_is_another_process_now_is_not_signalled(tmp_path: Path, how: str) -> None:
    """The user saw an earlier process with this pid (start time one tick before)."""
    with sleeper(tmp_path / "got") as child:
        now = seen_now(child.pid, "chromium")
        earlier = dataclasses.replace(now, start_time=now.start_time - 1)
        with pytest.raises(ProcessChanged) as e:
            signal_seen(earlier, int(signal.SIGKILL))
        assert str(e.value) == (
            f"pid {child.pid} is no longer chromium (started later): not signalled")
        other_boot = dataclasses.replace(now, boot_id="0" * 32)
        with pytest.raises(ProcessChanged, match=r"\(the machine restarted\): not signalled"):
            signal_seen(other_boot, int(signal.SIGKILL))
        assert child.poll() is None and not (tmp_path / "got").exists()


def test_an_exited_process_is_not_signalled(tmp_path: Path, how: str) -> None:
    with sleeper(tmp_path / "got") as child:
        seen = seen_now(child.pid)
        child.kill()  # a zombie first (not reaped yet), then gone
        while parse_stat(Path(f"/proc/{child.pid}/stat").read_text()).state != "Z":
            time.sleep(0.005)
        with pytest.raises(ProcessChanged, match=r"no longer sleeper \(exited\)"):
            signal_seen(seen, USR1)
        child.wait()
        with pytest.raises(ProcessChanged, match=r"no longer sleeper \(exited\)"):
            signal_seen(seen, USR1)


def test_the_check_itself() -> None:
    stat = "77 (a) b) S 1 77 77 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5000 1 1 1"
    seen = SeenProcess(77, "a) b", 5000, "B")
    assert change(seen, stat, "B\n") is None
    assert change(seen, stat.replace(" 5000 ", " 5001 "), "B") == "started later"
    assert change(seen, stat, "C") == "the machine restarted"
    assert change(seen, None, "B") == "exited"
    assert change(seen, stat.replace(") S ", ") Z "), "B") == "exited"
    unknown = dataclasses.replace(seen, start_time=None)
    assert change(unknown, stat, "B") is None  # no start time: the name must match
    assert change(dataclasses.replace(unknown, comm="sshd"), stat, "B") == "now a) b"


def test_no_process_groups() -> None:
    for pid in (0, -1):
        with pytest.raises(BackendError, match="not a process id"):
            signal_seen(SeenProcess(pid, "x", 1, ""), USR1)
