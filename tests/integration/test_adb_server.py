"""The adb backend against a REAL adb server (Debian's adb, private port and
HOME) connected to tests/support/adbpeer.py running on this machine.

This machine holds no dma-bufs: these tests cover the protocol path, device
selection, every error message, privilege (su in both forms, no su, adb root)
and the faults (disconnect and resume, truncated stream). The VM tests
(test_adb_vm.py) check the buffers themselves.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest
import yaml

from dmabuf_top.collect.adb import AdbBackend, adbutils_classes, open_adb_backend
from dmabuf_top.collect.contract import BackendError
from dmabuf_top.collect.local import LocalBackend
from dmabuf_top.io.codec import snapshot_to_dict
from tests.support.adb_harness import (
    SHELL_UID,
    AdbServer,
    HostPeer,
    build_su,
    comparable,
    connected,
    free_port,
    require,
)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="drops privileges: needs root")


@pytest.fixture(scope="module")
def su_dirs() -> Iterator[dict[str, str]]:
    require("cc")
    dirs = {}
    for flavour in ("c", "0"):
        d = tempfile.mkdtemp(prefix=f"dt-su{flavour}-")
        dirs[flavour] = build_su(d, aosp=flavour == "0")
    yield dirs
    for d in dirs.values():
        subprocess.run(["rm", "-rf", d], check=False)


def backend(server: AdbServer, serial: str | None = None, **kw) -> AdbBackend:
    return open_adb_backend(serial=serial, port=server.port, **kw)


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_snapshot_cli_over_adb(server: AdbServer, tmp_path) -> None:
    # the device's own temporary directory (its TMPDIR), not the /tmp that other
    # processes of this machine use: what the scan leaves there is this scan's alone
    with connected(server, HostPeer("--tmp", str(tmp_path))) as peer:
        r = server.dmabuf_top("snapshot", "--adb", peer.serial)
        assert r.returncode == 0, r.stderr
        # one scan: no session state, and its run's directory is gone; only the native
        # collector, pushed into its own 0700 directory there (so the scan ran in this
        # directory), stays
        left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
        assert len(left) == 2 and left[0].startswith("dt-native."), left
        assert left[1].startswith(left[0] + "/collector-"), left
        doc = yaml.safe_load(r.stdout)
        assert doc["schema"] == "dmabuf-top/1"
        src = doc["source"]
        assert src["kind"] == "adb" and src["serial"] == peer.serial
        assert src["model"] == "dmabuf_top_peer"  # from the server's device listing
        assert src["kernel"] == os.uname().release
        with open("/proc/sys/kernel/random/boot_id") as f:
            assert doc["boot_id"] == f.read().strip()
        # the same scan as the local backend: this machine holds no dma-buf, and
        # the pids root may not read (a sandbox's pid 1, say) are the same ones
        local = snapshot_to_dict(LocalBackend(source="proc").collect())
        assert src["privilege"] == local["source"]["privilege"]
        assert comparable(doc) == yaml.safe_load(yaml.safe_dump(comparable(local)))
        # the only device is taken without naming it; --once works too
        r = server.dmabuf_top("--once", "--adb", "--view", "processes")
        assert r.returncode == 0, r.stderr
        assert f"adb dmabuf_top_peer {peer.serial}" in r.stdout
        # the footer: the scan, the collector's CPU time on the device, this run's cost
        cost = r.stdout.splitlines()[-1]
        want = r"cost: scan \d+\.\d\ds  device cpu \d+\.\d\ds  cpu .*  rss .*"
        assert re.fullmatch(want, cost), cost


def test_no_server_and_no_adb_binary(server: AdbServer) -> None:
    port = free_port()
    r = server.dmabuf_top("snapshot", "--adb", "--adb-port", str(port))
    msg = one_line_error(r)
    assert msg.startswith(f"dmabuf-top: error: no adb server at 127.0.0.1:{port}")
    assert "adb start-server" in msg
    # without an adb binary, and adbutils must not start its bundled one
    r = server.dmabuf_top("snapshot", "--adb", PATH="", ANDROID_ADB_SERVER_PORT=str(port))
    msg = one_line_error(r)
    assert f"no adb server at 127.0.0.1:{port}" in msg and "no 'adb' command" in msg
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "an adb server was started"
    r = server.dmabuf_top("snapshot", "--adb", ANDROID_ADB_SERVER_PORT="adb")
    assert "ANDROID_ADB_SERVER_PORT is not a port: 'adb'" in one_line_error(r)


def test_device_choice(server: AdbServer, peer: HostPeer) -> None:
    other = HostPeer()
    try:
        server.connect(other.serial)
        r = server.dmabuf_top("snapshot", "--adb")
        msg = one_line_error(r)
        assert "several devices" in msg
        assert f"{peer.serial} (device)" in msg and f"{other.serial} (device)" in msg
        assert "--adb SERIAL" in msg
        with pytest.raises(BackendError, match="several devices"):
            backend(server)
        # a serial picks one; so does ANDROID_SERIAL
        assert backend(server, other.serial).collect().source.serial == other.serial
        r = server.dmabuf_top("snapshot", "--adb", ANDROID_SERIAL=peer.serial)
        assert r.returncode == 0, r.stderr
        assert yaml.safe_load(r.stdout)["source"]["serial"] == peer.serial
        r = server.dmabuf_top("snapshot", "--adb", "emulator-5554")
        msg = one_line_error(r)
        assert msg.startswith("dmabuf-top: error: no device 'emulator-5554'; adb sees: ")
        assert peer.serial in msg and other.serial in msg
    finally:
        other.kill()
        server.disconnect(other.serial)


def test_unauthorized_and_offline(server: AdbServer) -> None:
    unauth, silent = HostPeer("--unauthorized"), HostPeer("--silent")
    pending = []
    try:
        for p, state in ((unauth, "unauthorized"), (silent, "offline")):
            # 'adb connect' to a peer that never answers waits for its own timeout
            pending.append(
                subprocess.Popen(
                    [server.adb, "-P", str(server.port), "connect", p.serial],
                    env=server.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            server.wait_state(p.serial, state)
        msg = one_line_error(server.dmabuf_top("snapshot", "--adb", unauth.serial))
        assert msg == (
            f"dmabuf-top: error: device {unauth.serial} is unauthorized: "
            "accept the 'Allow USB debugging' prompt on the device"
        )
        msg = one_line_error(server.dmabuf_top("--once", "--adb", silent.serial))
        assert msg.startswith(f"dmabuf-top: error: device {silent.serial} is offline")
    finally:
        for p in (unauth, silent):
            p.kill()
            server.disconnect(p.serial)
        for c in pending:
            c.kill()
            c.wait()


@needs_root
def test_not_root_without_su(server: AdbServer) -> None:
    # the shell runs as uid 2000; the su on PATH (util-linux) wants a password
    p = HostPeer("--uid", str(SHELL_UID))
    try:
        server.connect(p.serial)
        be = backend(server, p.serial)
        assert be.facts is not None and be.facts.uid == SHELL_UID and not be.facts.root
        snap = be.collect()
        assert snap.source.privilege == "limited"
        assert any(w.startswith(f"not root on the device (uid {SHELL_UID}") for w in snap.warnings)
        assert snap.unreadable_pids, "root's processes must be unreadable to uid 2000"
        assert os.getpid() in snap.unreadable_pids
        assert p.proc.pid in snap.unreadable_pids
    finally:
        p.kill()
        server.disconnect(p.serial)


# Android's getprop and dumpsys, as the test "device" (a Linux) has neither:
# what a real phone prints, so the props and the non-root totals flow through.
GETPROP = """#!/bin/sh
case "$1" in
ro.product.model) echo 'Pixel 7' ;;
ro.build.version.release) echo 14 ;;
ro.build.type) echo user ;;
esac
"""
DUMPSYS = """#!/bin/sh
[ "$1" = meminfo ] || exit 1
cat <<'END'
Total RAM: 7,831,232K (status normal)
 Free RAM: 3,361,419K (  409,271K cached pss + 2,303,028K cached kernel +   649,120K free)
DMA-BUF:   817,715K (      152K mapped +   817,563K unmapped)
DMA-BUF Heaps:    24,844K
DMA-BUF Heaps pool:         0K
 Used RAM: 3,859,776K (2,830,064K used pss + 1,029,712K kernel)
END
"""


@needs_root
def test_not_root_android_props_and_dumpsys(server: AdbServer) -> None:
    tools = tempfile.mkdtemp(prefix="dt-android-")
    for name, text in (("getprop", GETPROP), ("dumpsys", DUMPSYS)):
        path = os.path.join(tools, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
    os.chmod(tools, 0o755)
    p = HostPeer("--uid", str(SHELL_UID), "--path-prefix", tools)
    try:
        server.connect(p.serial)
        r = server.dmabuf_top("snapshot", "--adb", p.serial)
        assert r.returncode == 0, r.stderr
        doc = yaml.safe_load(r.stdout)
        src = doc["source"]
        assert (src["model"], src["android"], src["build_type"]) == ("Pixel 7", "14", "user")
        assert src["privilege"] == "limited"
        assert doc["kernel"]["meminfo_kb"] == {
            "dmabuf": 817715,
            "dmabuf_mapped": 152,
            "dmabuf_unmapped": 817563,
            "heaps": 24844,
            "heaps_pool": 0,
        }
        why = "su refused" if shutil.which("su") else "no su"  # util-linux su wants a password
        want = (
            f"not root on the device (uid {SHELL_UID}, {why}): only the shell's own "
            "processes are shown; device totals come from dumpsys meminfo; try --root"
        )
        assert want in doc["warnings"]
        be = backend(server, p.serial)
        be.collect()
        kernel = os.uname().release
        assert be.describe() == f"Pixel 7 {p.serial} Android 14 user kernel {kernel}"
    finally:
        p.kill()
        server.disconnect(p.serial)
        subprocess.run(["rm", "-rf", tools], check=False)


@needs_root
@pytest.mark.parametrize("flavour", ["c", "0"])
def test_not_root_with_su(server: AdbServer, su_dirs: dict[str, str], flavour: str) -> None:
    p = HostPeer("--uid", str(SHELL_UID), "--path-prefix", su_dirs[flavour])
    try:
        server.connect(p.serial)
        be = backend(server, p.serial)
        assert be.facts is not None
        assert (be.facts.uid, be.facts.su, be.facts.root) == (SHELL_UID, flavour, True)
        snap = be.collect()
        local = LocalBackend(source="proc").collect()  # as root, like the shell after su
        assert snap.unreadable_pids == local.unreadable_pids
        assert snap.source.privilege == local.source.privilege
        assert not any(w.startswith("not root") for w in snap.warnings)
    finally:
        p.kill()
        server.disconnect(p.serial)


def test_disconnect_and_resume(server: AdbServer) -> None:
    p = HostPeer()
    try:
        server.connect(p.serial)
        be = backend(server, p.serial)
        first = be.collect()
        p.kill()
        with pytest.raises(BackendError, match=p.serial) as e:
            be.collect()
        assert "\n" not in str(e.value)
        with pytest.raises(BackendError, match="retrying"):
            be.collect()  # still gone
        p = HostPeer(port=p.port)  # the device comes back (same address)
        deadline = time.monotonic() + 60  # the adb server reconnects every ~10s
        while True:
            try:
                snap = be.collect()
                break
            except BackendError:
                assert time.monotonic() < deadline, "no resume after the device came back"
                time.sleep(0.5)
        assert snap.boot_id == first.boot_id and snap.source.serial == p.serial
        be.close()  # its session's state leaves the "device"
    finally:
        p.kill()
        server.disconnect(p.serial)


class CuttingBackend(AdbBackend):
    """The real backend, with the device's output cut after `cut` bytes."""

    cut: int | None = None
    gzip: bool = True

    def setup(self):
        facts = super().setup()
        facts.gzip = facts.gzip and self.gzip
        return facts

    def refresh_command(self) -> str:
        cmd = super().refresh_command()
        return cmd if self.cut is None else cmd + f" | head -c {self.cut}"


def test_truncated_stream_is_an_error_for_that_refresh(server: AdbServer, peer: HostPeer) -> None:
    client_cls, _ = adbutils_classes()
    be = CuttingBackend(client_cls(port=server.port), peer.serial)
    be.cut = 100
    be.setup()
    assert be.facts is not None and be.facts.gzip  # gzip is on this machine
    with pytest.raises(BackendError, match="compressed stream incomplete") as e:
        be.collect()
    assert str(e.value).startswith(f"device {peer.serial}: collector output cut short")
    be.gzip, be.cut = False, 300
    with pytest.raises(BackendError, match="no end marker after 300 bytes"):
        be.collect()  # probes the device again first, then gets a cut stream
    be.cut = None
    snap = be.collect()  # the next refresh works again
    assert snap.source.kind == "adb" and snap.boot_id


@needs_root
def test_adb_root(server: AdbServer) -> None:
    # a production build refuses; a userdebug one restarts adbd, and we wait for it
    p = HostPeer("--uid", str(SHELL_UID))
    try:
        server.connect(p.serial)
        msg = one_line_error(server.dmabuf_top("snapshot", "--adb", p.serial, "--root"))
        assert msg == (
            f"dmabuf-top: error: {p.serial}: adb root: adbd cannot run as root in production builds"
        )
    finally:
        p.kill()
        server.disconnect(p.serial)
    p = HostPeer("--uid", str(SHELL_UID), "--allow-root")
    try:
        server.connect(p.serial)
        r = server.dmabuf_top("snapshot", "--adb", p.serial, "--root")
        assert r.returncode == 0, r.stderr
        doc = yaml.safe_load(r.stdout)
        assert doc["unreadable_pids"] == LocalBackend(source="proc").collect().unreadable_pids
        assert not any(w.startswith("not root") for w in doc["warnings"])
        # adbd stays root for the next connection: --root is then a no-op
        be = backend(server, p.serial, want_root=True)
        assert be.facts is not None and be.facts.uid == 0
    finally:
        p.kill()
        server.disconnect(p.serial)
