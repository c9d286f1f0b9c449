"""The native collector over adb, end to end: a REAL adb server, the test peer
(tests/support/adbpeer.py) with its ``sync:`` service (``adb push``/``adb pull`` and
adbutils' sync API), the binary pushed and checked by checksum, and each way it cannot
run (noexec mount, unknown ABI, a checksum mismatch, a binary that fails) giving one
line and the shell collector's snapshot. On the host (no dma-bufs: mappings of files
named like them) and in the VM (real dma-bufs: the native stream equals the shell's
byte for byte, full and delta).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmabuf_top.collect.adb import AdbBackend, open_adb_backend
from dmabuf_top.collect.adb_delta import DeltaSession
from dmabuf_top.collect.adb_native import binary, remote_path
from dmabuf_top.collect.adb_server import adbutils_classes
from dmabuf_top.collect.adb_setup import collector_command
from dmabuf_top.collect.adb_stream import gunzip
from dmabuf_top.collect.contract import BackendError
from tests.integration.test_adb_delta import doc
from tests.integration.test_adb_vm import VM_DIR, VmPeer
from tests.support.adb_harness import (
    ADBPEER,
    HOLDER,
    AdbServer,
    FullRefreshBackend,
    TmpPeer,
    connected,
)
from tests.support.pidns import PidNamespace

NATIVE = binary("x86_64")


@pytest.fixture
def tmp_peer(server: AdbServer, tmp_path: Path, pidns: PidNamespace) -> Iterator[TmpPeer]:
    with connected(server, TmpPeer(tmp_path / "devtmp", ns=pidns)) as p:
        yield p


def shell_backend(be: AdbBackend) -> FullRefreshBackend:
    full = FullRefreshBackend(be.client, be.serial)
    full.setup()
    return full


# -- sync: adb push / adb pull ---------------------------------------------------------
def test_adb_push_and_pull_through_the_peer(server: AdbServer, tmp_peer: TmpPeer, tmp_path):
    src = tmp_path / "src.bin"
    data = os.urandom(200_000)  # more than three 64 KiB chunks
    src.write_bytes(data)
    dest = f"{tmp_peer.tmp}/pushed.bin"
    r = server.run("-s", tmp_peer.serial, "push", str(src), dest)
    assert r.returncode == 0, r.stdout + r.stderr
    assert Path(dest).read_bytes() == data
    back = tmp_path / "back.bin"
    r = server.run("-s", tmp_peer.serial, "pull", dest, str(back))
    assert r.returncode == 0, r.stdout + r.stderr
    assert back.read_bytes() == data
    # adbutils' sync API: stat, push (mode), read back
    client_cls, _ = adbutils_classes()
    dev = client_cls(port=server.port).device(tmp_peer.serial)
    assert dev.sync.stat(dest).size == len(data)
    dev.sync.push(b"x" * 70_000, f"{tmp_peer.tmp}/two", mode=0o700)
    assert os.stat(f"{tmp_peer.tmp}/two").st_mode & 0o777 == 0o700
    assert dev.sync.read_bytes(f"{tmp_peer.tmp}/two") == b"x" * 70_000


def test_sync_stays_inside_the_peers_directory(server: AdbServer, tmp_peer: TmpPeer, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    outside = tmp_path / "outside"
    link = tmp_peer.tmp / "link"
    os.symlink(tmp_path, link)  # a directory link out of it
    for dest in (str(outside), f"{tmp_peer.tmp}/../outside", f"{link}/outside"):
        r = server.run("-s", tmp_peer.serial, "push", str(src), dest)
        said = r.stdout + r.stderr
        assert r.returncode != 0 and "outside the device's temporary directory" in said
        assert not outside.exists()
    secret = tmp_path / "secret"
    secret.write_text("no")
    r = server.run("-s", tmp_peer.serial, "pull", str(secret), str(tmp_path / "got"))
    assert r.returncode != 0 and not (tmp_path / "got").exists()
    os.symlink(secret, tmp_peer.tmp / "last")  # the last component is not followed
    r = server.run("-s", tmp_peer.serial, "pull", f"{tmp_peer.tmp}/last", str(tmp_path / "got"))
    assert r.returncode != 0 and not (tmp_path / "got").exists()


# -- deployment, use, fallback ---------------------------------------------------------
def test_native_collector_pushed_checked_and_used(server, tmp_peer: TmpPeer, mappers):
    mappers.start("a")
    be = open_adb_backend(serial=tmp_peer.serial, port=server.port)
    path = remote_path(str(tmp_peer.tmp), NATIVE, os.geteuid())
    assert be.native is not None and be.native.path == path and be.native.pushed
    assert be.native_note == ""
    assert Path(path).read_bytes() == NATIVE
    assert be.refresh_command().startswith(f"{{ '{path}'")
    full = shell_backend(be)
    want = doc(full)
    assert doc(be) == want and mappers.names(want) == {"a"}
    assert doc(be) == want and be.last_mode == "full missing"
    mappers.start("b")
    got = doc(be)
    assert be.last_mode == "delta" and got == doc(full) and mappers.names(got) == {"a", "b"}
    assert not [w for w in got["warnings"] if w.startswith("native collector")]
    # a second connection finds it there, checks it, and does not push it again
    again = open_adb_backend(serial=tmp_peer.serial, port=server.port)
    assert again.native is not None and not again.native.pushed
    # a file that changed on the device is pushed again before use
    Path(path).write_bytes(b"#!/bin/sh\necho tampered\n")
    third = open_adb_backend(serial=tmp_peer.serial, port=server.port)
    assert third.native is not None and third.native.pushed
    assert Path(path).read_bytes() == NATIVE
    be.close()


def fallback(server: AdbServer, serial: str) -> tuple[str, dict]:
    be = open_adb_backend(serial=serial, port=server.port)
    assert be.native is None
    snap = doc(be)
    notes = [w for w in snap["warnings"] if w.startswith("native collector not used")]
    assert len(notes) == 1 and notes[0].endswith(": the shell collector runs instead")
    snap["warnings"].remove(notes[0])
    assert snap == doc(shell_backend(be))
    assert "\n" not in notes[0]
    return notes[0], snap


def fake_tools(d: Path, **scripts: str) -> str:
    d.mkdir()
    for name, body in scripts.items():
        (d / name).write_text("#!/bin/sh\n" + body)
        os.chmod(d / name, 0o755)
    os.chmod(d, 0o755)
    return str(d)


def test_unknown_abi_falls_back(server: AdbServer, tmp_path: Path, mappers, pidns):
    tools = fake_tools(tmp_path / "bin", uname='echo mips64\n')
    with connected(server, TmpPeer(tmp_path / "devtmp", "--path-prefix", tools, ns=pidns)) as peer:
        mappers.start("a")
        note, snap = fallback(server, peer.serial)
    assert "no native collector for the device's ABI 'mips64'" in note
    assert mappers.names(snap) == {"a"}


def test_checksum_mismatch_falls_back(server: AdbServer, tmp_path: Path, mappers, pidns):
    tools = fake_tools(tmp_path / "bin", sha256sum=f'echo "{"0" * 64}  $1"\n')
    with connected(server, TmpPeer(tmp_path / "devtmp", "--path-prefix", tools, ns=pidns)) as peer:
        mappers.start("a")
        note, snap = fallback(server, peer.serial)
    assert "checksum mismatch after adb push" in note and "0" * 64 in note
    assert mappers.names(snap) == {"a"}


def test_noexec_temporary_directory_falls_back(server: AdbServer, tmp_path: Path, mappers,
                                               pidns):
    """A real noexec mount (tmpfs, in the peer's own mount namespace, made from the test
    PID namespace's: the peer's commands scan it)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a private noexec mount")
    tmp = tmp_path / "noexec"
    tmp.mkdir()
    script = 'mount -t tmpfs -o noexec,mode=1777 dt-noexec "$1" && shift && exec "$@"'
    p = subprocess.Popen(
        pidns.command(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                       "sh", str(tmp), sys.executable, str(ADBPEER), "--listen", "127.0.0.1:0",
                       "--tmp", str(tmp)]),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert p.stdout is not None
    line = p.stdout.readline()
    assert line.startswith("listening "), line
    serial = f"127.0.0.1:{line.split()[1]}"
    server.connect(serial)
    try:
        mappers.start("a")
        note, snap = fallback(server, serial)
        assert "cannot execute it (a noexec mount or SELinux)" in note
        assert mappers.names(snap) == {"a"}
    finally:
        pidns.kill(p)
        p.stdout.close()
        server.disconnect(serial)


def test_a_native_collector_that_fails_hands_over_to_the_shell(server, tmp_peer, mappers):
    be = open_adb_backend(serial=tmp_peer.serial, port=server.port)
    assert be.native is not None
    mappers.start("a")
    want = doc(be)
    Path(be.native.path).write_bytes(b"#!/bin/sh\necho garbage\n")  # replaced behind our back
    os.chmod(be.native.path, 0o755)
    got = doc(be)
    assert be.native is None and be.native_note.startswith("it failed: not collector output")
    (note,) = [w for w in got.pop("warnings") if w.startswith("native collector not used")]
    want.pop("warnings")
    assert got == want and "\n" not in note


# -- the same stream as the shell collector, in the VM on real dma-bufs ----------------
def _norm(data: bytes) -> bytes:
    nonce = data.split(b"\n", 1)[0].split(b" ")[2]
    data = data.replace(nonce, b"NONCE")
    return re.sub(rb"(\n@@NONCE (?:cpu|state)\n)[^\n]*\n", rb"\1-\n", data)


@pytest.mark.kernels("6.18")
def test_native_stream_equals_the_shell_collectors_in_the_vm(vm, server: AdbServer, scenario):
    with VmPeer(vm, server) as peer:
        be = open_adb_backend(serial=peer.serial, port=server.port)
        assert be.native is not None, be.native_note
        assert be.facts is not None and be.facts.machine == "x86_64"
        facts, native = be.facts, be.native.path
        runs = {"shell": DeltaSession(), "native": DeltaSession()}

        def refresh() -> dict[str, bytes]:
            out = {}
            for way, session in runs.items():
                path = native if way == "native" else ""
                raw = be.exec(collector_command(facts, "", session=session.args(), program=path),
                              timeout=300)  # fmt: skip
                raw = gunzip(raw) if facts.gzip else raw
                session.keep(session.rebuild(raw))
                assert session.sum is not None, way
                out[way] = _norm(raw)
            return out

        first = refresh()
        assert first["native"] == first["shell"]
        assert b"\n@@NONCE fdinfo !\n" in first["native"]
        assert first["native"].count(b"/fdinfo/") >= len(scenario.record["buffers"])
        same = refresh()
        assert same["native"] == same["shell"] and b"\n@@NONCE fdinfo =\n" in same["native"]
        holder = vm.spawn([vm.python, "-c", HOLDER, VM_DIR])
        try:
            deadline = time.monotonic() + 60
            while "READY" not in holder.output()[0]:
                assert holder.poll() is None and time.monotonic() < deadline, holder.output()
                time.sleep(0.2)
            changed = refresh()  # diffs: their headers name each tool's files
        finally:
            holder.kill(signal.SIGKILL)
            holder.wait(30)
        n, s = changed["native"], changed["shell"]
        assert b"\n@@NONCE fdinfo +\n" in n and b"native delta" in n
        head = re.compile(rb"\n--- [^\n]*\n\+\+\+ [^\n]*\n")
        assert head.sub(b"\n---\n+++\n", n) == head.sub(b"\n---\n+++\n", s)
        be.close()


# -- a device user who plants or swaps the binary --------------------------------------
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_a_binary_planted_by_another_device_user_is_never_run_as_root(server, mappers):
    """The device's temporary directory is world-writable (sticky, like /tmp): another
    user there (nobody) plants the shipped binary, byte for byte, where the collector
    looks for it (making its directory, mode 0700, when missing), writable by all; once dmabuf-top
    has checked and adopted it, they swap in their own program. Root must never run
    it: the binary lives only in a directory of the collector's own user, mode 0700."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv: the peer runs commands as root, nobody plants")
    devtmp = Path(tempfile.mkdtemp(prefix="dmabuf-top-devtmp-", dir="/tmp"))  # nobody reaches it
    try:
        os.chmod(devtmp, 0o1777)
        path = Path(remote_path(str(devtmp), NATIVE, 0))
        marker = devtmp / "ran-as"
        plant = (
            f'd="{path.parent}"; {{ [ -d "$d" ] || {{ mkdir -p "$d" && chmod 700 "$d"; }}; }} '
            f'&& cat >"{path}" && chmod 777 "{path}"'
        )
        subprocess.run([*NOBODY, "sh", "-c", plant], input=NATIVE, check=True)
        with connected(server, TmpPeer(devtmp)) as peer:
            mappers.start("a")
            be = open_adb_backend(serial=peer.serial, port=server.port)
            swap = (
                f'printf "#!/bin/sh\\nid -u >{marker}\\n" >"{path}.new" '
                f'&& chmod 755 "{path}.new" && mv -f "{path}.new" "{path}"'
            )
            r = subprocess.run([*NOBODY, "sh", "-c", swap], capture_output=True, text=True)
            try:
                snap = doc(be)
            except BackendError as e:  # what the swapped program printed is no stream
                snap = {"error": str(e)}
            assert not marker.exists(), f"uid {marker.read_text().strip()} ran nobody's file"
            assert mappers.names(snap) == {"a"}
            if be.native is not None:  # it made its own place: nobody could not swap it
                assert r.returncode != 0
                st = os.lstat(Path(be.native.path).parent)
                assert st.st_uid == 0 and st.st_mode & 0o777 == 0o700
            else:
                notes = [w for w in snap["warnings"] if w.startswith("native collector not used")]
                assert len(notes) == 1 and "owned by uid 65534" in notes[0], notes
            be.close()
    finally:
        shutil.rmtree(devtmp)
