"""Refreshes that send only what changed, end to end: a REAL adb server, the peer
(tests/support/adbpeer.py) running the real collector here, real processes churning.

This machine holds no dma-buf, so the churn is what its kernel allows: processes
that map files whose paths look like dma-bufs' (``/dmabuf:NAME``, made at the root
of the filesystem for the test and removed after it), which the
collector's maps, uids, comm and cmdline sections carry (the snapshot lists them as
unverified mappings). Each delta refresh must give what a full refresh (a backend
without a session) gives at the same moment. The peer's commands and the mapping
processes run in a private PID namespace with its own /proc (tests/support/pidns.py):
the rest of the machine is not in what they scan, so no refresh is tried twice. The
kernel text of real dma-bufs (fdinfo, bufinfo) under churn:
tests/unit/collect/test_adb_delta.py and, on a real kernel, the VM tests.
"""

from __future__ import annotations

import glob
import random
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmabuf_top.collect.adb import AdbBackend, open_adb_backend
from dmabuf_top.collect.adb_stream import gunzip
from dmabuf_top.io.codec import snapshot_to_dict
from tests.support.adb_harness import (
    AdbServer,
    FullRefreshBackend,
    TmpPeer,
    comparable,
    connected,
)
from tests.support.mappers import Mappers
from tests.support.pidns import PidNamespace


@pytest.fixture
def peer(server: AdbServer, pidns: PidNamespace, tmp_path: Path) -> Iterator[TmpPeer]:
    """The peer, its commands in the test's PID namespace (where ``mappers`` start)."""
    with connected(server, TmpPeer(tmp_path / "devtmp", ns=pidns)) as p:
        yield p


def doc(be: AdbBackend) -> dict:
    return comparable(snapshot_to_dict(be.collect()))


def state_dirs(be: AdbBackend, peer: TmpPeer) -> list[str]:
    return glob.glob(f"{peer.tmp}/dmabuf-top-s.{be.delta.id}")


def test_delta_refreshes_equal_full_ones_under_churn(
    server: AdbServer, peer: TmpPeer, mappers: Mappers
) -> None:
    delta = open_adb_backend(serial=peer.serial, port=server.port)
    full = FullRefreshBackend(delta.client, peer.serial)
    full.setup()
    for k in range(4):
        mappers.start(f"start {k}")
    first = doc(delta)  # a first refresh without a session: nothing left on the device
    assert delta.last_mode == "" and not state_dirs(delta, peer)
    assert first == doc(delta) and delta.last_mode == "full missing" and state_dirs(delta, peer)
    assert first == doc(full)
    assert mappers.names(first) == set(mappers.procs) and len(mappers.procs) == 4
    rng = random.Random(14)
    n = 4
    for step in range(8):
        if step % 3 != 2:  # churn: new mappings and processes, dead ones, renamed files
            for _ in range(rng.randint(1, 2)):
                mappers.start(f"new {n} \x1b[1m")
                n += 1
            if len(mappers.procs) > 2:
                mappers.stop(rng.choice(sorted(mappers.procs)))
        got = doc(delta)
        assert delta.last_mode == "delta", step
        assert got == doc(full), step
        assert mappers.names(got) == set(mappers.procs)
    # unchanged: every kept section is "=" (not resent), whatever the scene's size
    doc(delta)
    unchanged = delta.last_data
    text = gunzip(unchanged)
    assert delta.last_mode == "delta" and text.count(b" =\n") >= 6
    resent = re.findall(rb"\n@@\S+ (\w+) [!+]\n", text)
    assert not resent, f"sections resent by an unchanged refresh: {resent}"
    doc(full)
    assert len(unchanged) < len(full.last_data)
    delta.close()
    assert not state_dirs(delta, peer)


def test_resync_after_the_state_is_lost(
    server: AdbServer, peer: TmpPeer, mappers: Mappers
) -> None:
    be = open_adb_backend(serial=peer.serial, port=server.port)
    mappers.start("a")
    want = doc(be)
    assert doc(be) == want and be.last_mode == "full missing"
    assert doc(be) == want and be.last_mode == "delta"
    (state,) = state_dirs(be, peer)
    subprocess.run(["rm", "-rf", state], check=True)  # the device lost it (tmp cleaned)
    mappers.start("b")
    got = doc(be)
    assert be.last_mode == "full missing"
    assert mappers.names(got) == {"a", "b"}
    assert doc(be) == got and be.last_mode == "delta"
    # the host lost its copy (a refresh that never arrived): the sums differ
    be.delta.forget()
    assert doc(be) == got and be.last_mode == "full checksum"
    # the host's copy is wrong but its sum is the device's: the rebuilt state's
    # checksum is not the device's, and the refresh is redone in full at once
    be.delta.bodies["comm"] = b"/proc/1/comm:impostor\n"
    mappers.stop("a")
    got = doc(be)
    assert be.last_mode == "full checksum"
    assert mappers.names(got) == {"b"}
    # a diff that did not apply: from then on the device sends changed sections whole
    assert be.options == "nodiff"
    mappers.start("c")
    got = doc(be)
    text = gunzip(be.last_data)
    assert be.last_mode == "delta" and b" !\n" in text and b" +\n" not in text
    assert mappers.names(got) == {"b", "c"}
    be.close()
    assert not state_dirs(be, peer)
