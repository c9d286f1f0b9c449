"""Signals to the process seen (issue 21 item 5) on every real kernel of the matrix: in
the guest, a pidfd opens (5.10 has pidfd_open), a pid whose start time is not the one
remembered is refused and keeps running, the process seen gets its signal."""

from __future__ import annotations

import json

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.kernels

GUEST = r"""
import dataclasses, json, os, signal, tempfile
from pathlib import Path
from dmabuf_top.collect.contract import ProcessChanged
from dmabuf_top.collect.pidsignal import signal_seen
from tests.support.seen import seen_now, sleeper

out = {}
fd = os.pidfd_open(os.getpid())
os.close(fd)
out["pidfd"] = True
got = Path(tempfile.mkdtemp()) / "got"
with sleeper(got) as child:
    now = seen_now(child.pid)
    try:
        signal_seen(dataclasses.replace(now, start_time=now.start_time - 1), signal.SIGKILL)
    except ProcessChanged as e:
        out["refused"] = str(e)
    out["alive"] = child.poll() is None
    signal_seen(now, signal.SIGTERM)
    out["status"] = child.wait(timeout=60)
    out["pid"] = child.pid
print(json.dumps(out))
"""


def test_signals_check_the_process_on_a_real_kernel(vm) -> None:
    r = vm.run([vm.python, "-c", GUEST], timeout=300, cwd=str(REPO))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["pidfd"] is True
    assert out["refused"] == f"pid {out['pid']} is no longer sleeper (started later): not signalled"
    assert out["alive"] is True and out["status"] == -15
