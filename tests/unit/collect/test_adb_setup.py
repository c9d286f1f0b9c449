"""adb_setup: the probe keeps the package lines (the app axis); kill_command's
device-side check (issue 21 item 5), run for real under the shells a phone may have
(dash, Android's mksh + toybox, busybox) against a real child whose comm is hostile to
a naive parse of /proc/PID/stat (``) S 1 2``): the signal goes only when boot id and
start time match; else one ``changed`` line and no kill."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
from pathlib import Path

import pytest

from dmabuf_top.collect.adb_setup import (
    KILL_CHANGED,
    KILL_STATUS,
    SETUP_SCRIPT,
    DeviceFacts,
    kill_command,
    parse_setup,
)
from tests.support.seen import seen_now, sleeper, wait_for_file
from tests.support.shells import FLAVOURS, device_shell

USR1 = int(signal.SIGUSR1)
COMM = "x) S 1 2 3 4"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_device_shell_checks_before_kill(tmp_path: Path, flavour: str) -> None:
    shell, env = device_shell(flavour, tmp_path)

    def run(seen) -> str:
        cmd = kill_command(DeviceFacts(uid=0), seen, USR1)
        return subprocess.run([*shell, "-c", cmd], env=env, capture_output=True, text=True,
                              timeout=60).stdout

    with sleeper(tmp_path / "got", COMM) as child:
        assert f"({COMM}) " in Path(f"/proc/{child.pid}/stat").read_text()
        now = seen_now(child.pid, COMM)
        out = run(dataclasses.replace(now, start_time=now.start_time - 1))
        assert f"{KILL_CHANGED}started" in out and f"{KILL_STATUS}1" in out
        out = run(dataclasses.replace(now, boot_id="0" * 32))
        assert f"{KILL_CHANGED}restarted" in out
        assert child.poll() is None and not (tmp_path / "got").exists()
        out = run(now)
        assert out.strip().endswith(f"{KILL_STATUS}0") and KILL_CHANGED not in out
        assert wait_for_file(tmp_path / "got") == str(USR1)
        child.kill()
        child.wait()
        assert f"{KILL_CHANGED}exited" in run(now)


def test_the_probe_keeps_the_package_lines() -> None:
    facts = parse_setup(
        "uid=0\nmodel=Pixel 7\ngzip=1\n"
        "package:com.foo uid:10123\npackage:com.bar uid:10123\nWarning: x=y\n"
    )
    assert facts.uid == 0 and facts.gzip
    assert facts.packages == ["package:com.foo uid:10123", "package:com.bar uid:10123"]
    assert "cmd package list packages -U" in SETUP_SCRIPT
