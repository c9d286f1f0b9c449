"""The native adb collector (collect/native/collector.c, as shipped) prints what
collector.sh prints, byte for byte, on this machine's live /proc: in full, and through
a session (first, unchanged and changed refreshes, and a session the other one began),
the x86_64 build natively and the aarch64 build under qemu-user. The machine holds no
dma-buf: its scene is processes mapping files named like them, with hostile comms.

The nonce (random per run) and the cpu and state lines (the run's own times; the md5
of bodies that hold the nonce) are masked; a diff's two header lines name each tool's
files. Both collectors and the scene run in a private PID namespace with its own /proc
(tests/support/pidns.py): other processes of the machine, which come and go between two
runs, are not there, so each comparison is made once."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dmabuf_top.collect.adb_delta import DeltaSession
from dmabuf_top.collect.adb_native import PROBE_ANSWER, binary
from dmabuf_top.collect.adb_stream import collector_script
from tests.conftest import in_ci
from tests.support.pidns import PidNamespace

MASKED = re.compile(rb"(\n@@NONCE (?:cpu|state)\n)[^\n]*\n")
DIFF_HEAD = re.compile(rb"\n--- [^\n]*\n\+\+\+ [^\n]*\n")
COMMS = ["a) S 7 9", "nl\nx", "(x) R 1 2 3"]


def norm(data: bytes) -> bytes:
    nonce = data.split(b"\n", 1)[0].split(b" ")[2]
    data = MASKED.sub(rb"\1-\n", data.replace(nonce, b"NONCE"))
    return DIFF_HEAD.sub(b"\n---\n+++\n", data)


def qemu_aarch64() -> str:
    path = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
    if path is None:
        msg = "qemu-user-static not installed (apt-get install qemu-user-static)"
        if in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return path


@pytest.fixture(autouse=True)
def own_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The collectors' TMPDIR, the test's own: they name their temporary directory by
    their pid, and pids repeat from one PID namespace to the next (a test beside)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))


@pytest.fixture(params=["x86_64", "arm64-v8a"])
def native(request, tmp_path: Path, pidns: PidNamespace) -> list[str]:
    """The shipped binary, copied where its path holds no "/dmabuf" (its own maps
    would name it), and how to run it here, in the test's PID namespace."""
    exe = tmp_path / "dt-collector"
    exe.write_bytes(binary(request.param))
    exe.chmod(0o755)
    return pidns.command([str(exe)] if request.param == "x86_64" else [qemu_aarch64(), str(exe)])


@pytest.fixture
def shell(tmp_path: Path, pidns: PidNamespace) -> list[str]:
    script = tmp_path / "collector.sh"
    script.write_text(collector_script())
    return pidns.command(["sh", str(script)])


@pytest.fixture
def scene(mappers):
    for i, comm in enumerate(COMMS):
        mappers.start(f"m{i}", comm)
    return mappers


def run(cmd: list[str], *args: str) -> bytes:
    return subprocess.run([*cmd, *args], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                          timeout=120, check=True).stdout  # fmt: skip


def same(a: bytes, b: bytes) -> tuple[bytes, bytes]:
    assert norm(a) == norm(b)
    return a, b


def test_probe_answers(native):
    assert run(native, "probe") == (PROBE_ANSWER + "\n").encode()


def test_full_stream_equals_the_shell_collectors(native, shell, scene):
    a, b = same(run(shell), run(native))
    assert b"@@NONCE maps\n" in norm(b) and b"nl\n" in b and f"{scene.tag} m2".encode() in b
    # in the namespace the scene's processes are the only holders
    uids = re.search(rb"\n@@NONCE uids\n(.*?)\n@@", norm(b), re.S)
    assert uids is not None and len(uids.group(1).splitlines()) == len(scene.procs)
    a, b = same(run(shell, "ino"), run(native, "ino"))
    assert b"@@NONCE fdino\n" in norm(b)


def test_session_streams_equal_the_shell_collectors(native, shell, scene):
    sessions = {"sh": DeltaSession(), "native": DeltaSession()}
    mode = re.compile(rb"\n@@NONCE mode\n([^\n]*)\n")

    def refresh() -> tuple[bytes, bytes]:
        out = []
        for cmd, s in ((shell, sessions["sh"]), (native, sessions["native"])):
            data = run(cmd, "", *s.args())
            s.keep(s.rebuild(data))
            assert s.sum is not None
            out.append(data)
        return out[0], out[1]

    def compared() -> bytes:
        return norm(same(*refresh())[1])

    first = compared()
    assert mode.search(first).group(1).startswith(b"full")
    assert b"\n@@NONCE maps !\n" in first
    unchanged = compared()
    assert mode.search(unchanged).group(1) == b"delta" and b"\n@@NONCE maps =\n" in unchanged
    scene.start("new")
    changed = compared()
    assert b"\n@@NONCE maps +\n" in changed and b" new\n" in changed
    assert b"\n@@NONCE maps =\n" in compared()
    for cmd, s in ((shell, sessions["sh"]), (native, sessions["native"])):
        assert run(cmd, "close", *s.args()) == b"DMABUF-TOP-COLLECTOR 2 closed\n"


def test_either_collector_takes_over_the_others_session(native, shell, scene):
    s = DeltaSession()
    for first, then in ((shell, native), (native, shell)):
        s.forget()
        s.keep(s.rebuild(run(first, "", *s.args())))
        data = run(then, "", *s.args())
        assert b"\ndelta\n" in data.split(b"kernel\n")[0]
        s.keep(s.rebuild(data))
        assert s.sum is not None
    run(native, "close", *s.args())


def test_a_section_no_longer_sent_leaves_the_state(native, shell, scene, tmp_path):
    """The native collector rewrites only changed state files: one the last refresh kept
    but this one does not send (fdino, asked for by "ino" and then not) is removed, the
    state's md5 is the host's, and both collectors leave the same files."""
    states = {}
    for name, cmd in (("sh", shell), ("native", native)):
        tmp = tmp_path / f"tmp-{name}"
        tmp.mkdir()
        s = DeltaSession()

        env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp)}

        def refresh(opts: str, cmd=cmd, s=s, env=env, name=name) -> bytes:
            data = subprocess.run([*cmd, opts, *s.args()], stdout=subprocess.PIPE, timeout=120,
                                  stdin=subprocess.DEVNULL, check=True, env=env).stdout  # fmt: skip
            s.keep(s.rebuild(data))
            assert s.sum is not None, name
            return data

        assert b" fdino !\n" in refresh("ino")
        assert b" fdino" not in refresh("") and b"\ndelta\n" in refresh("")
        (state,) = tmp.glob("dmabuf-top-s.*")
        states[name] = sorted(p.name for p in state.iterdir())
        assert "d.fdino" not in states[name] and "d.maps" in states[name]
    assert states["native"] == states["sh"]


def test_the_profile_goes_to_stderr_and_changes_no_byte(native, scene):
    """DMABUF_TOP_NATIVE_PROFILE=1: one line per section on stderr (CPU and wall spent
    before its header), the stream the same; without it, nothing on stderr."""
    env = {"PATH": "/usr/bin:/bin", "DMABUF_TOP_NATIVE_PROFILE": "1"}

    plain = subprocess.run(native, capture_output=True, timeout=120, check=True,
                           stdin=subprocess.DEVNULL)  # fmt: skip
    prof = subprocess.run(native, capture_output=True, timeout=120, check=True,
                          stdin=subprocess.DEVNULL, env=env)  # fmt: skip
    same(plain.stdout, prof.stdout)
    err = [plain.stderr, prof.stderr]
    assert err[0] == b""
    lines = err[1].decode().splitlines()
    assert [ln.split()[1] for ln in lines][:4] == ["kernel", "bootid", "uid", "unreadable"]
    assert "maps" in [ln.split()[1] for ln in lines] and lines[-1].split()[1] == "end"
    assert all(re.fullmatch(r"profile \S+ +user +[\d.]+ ms  system +[\d.]+ ms  wall +[\d.]+ ms",
                            ln) for ln in lines), lines  # fmt: skip
