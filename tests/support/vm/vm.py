"""Real-kernel test VM: a Debian kernel (kernels.py) in qemu (TCG), the host root as its root.

Usage (plain Python, no pytest needed)::

    from tests.support.vm.vm import VM            # from the repository's root

    with VM(hostfwd=[(8080, 8080)]) as vm:
        print(vm.boot_time, vm.kernel_release)
        r = vm.run(["cat", "/sys/kernel/debug/dma_buf/bufinfo"], timeout=30)
        p = vm.spawn([sys.executable, "tests/support/vm/scenario.py", "--out", "/tmp/s.json"])
        ...
        p.kill(); p.wait()

The guest mounts the host root read-only over virtio-9p with a tmpfs overlay on top
and chroots into it, so every host path (the repo, the host python and its
site-packages) is the same inside.  Writes land in the guest's tmpfs only.
Commands run as root through agent.py over a virtio-serial port.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.vm import protocol
from tests.support.vm.assets import Assets, VMAssetError, ensure_assets
from tests.support.vm.kernels import DEFAULT_SERIES, SERIES

__all__ = ["VM", "VMError", "VMAssetError", "Spawned", "Assets", "ensure_assets"]

AGENT = Path(__file__).resolve().parent / "agent.py"
QEMU = "qemu-system-x86_64"
KERNEL_CMDLINE = "console=ttyS0 loglevel=3 quiet panic=-1"
# host paths the guest does not see: it mounts its own filesystems there
GUEST_PRIVATE = ("/run", "/dev", "/proc", "/sys")

Cmd = Sequence[str] | str
HostFwd = tuple[int, int] | str


class VMError(RuntimeError):
    """The VM failed to boot, died, or the agent reported an error."""


def _pdeathsig() -> None:  # runs in the qemu child: die with the parent thread
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for hostfwd)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Spawned:
    """A background process in the guest (see VM.spawn)."""

    vm: VM = field(repr=False)
    handle: int
    pid: int
    args: Cmd
    stdout_path: str
    stderr_path: str

    def kill(self, sig: int = signal.SIGTERM, group: bool = True) -> None:
        self.vm.kill(self, sig, group)

    def wait(self, timeout: float | None = None) -> int:
        return self.vm.wait(self, timeout)

    def poll(self) -> int | None:
        return self.vm.poll(self)

    def output(self) -> tuple[str, str]:
        return self.vm.output(self)


class VM:
    """A booted guest; a context manager.  close() always stops qemu."""

    def __init__(
        self,
        *,
        assets: Assets | None = None,
        series: str = DEFAULT_SERIES,
        cache_dir: Path | None = None,
        memory: str = "2G",
        smp: int | None = None,
        hostfwd: Sequence[HostFwd] = (),
        python: str | None = None,
        boot_timeout: float = 180.0,
        tmpfs_size: str = "1G",
        pvh: bool = True,
    ) -> None:
        self.assets = assets
        #: the kernel series to boot (kernels.SERIES), when ``assets`` is not given
        self.series = series
        self.cache_dir = cache_dir
        self.memory = memory
        #: vCPUs; by default the series' own (kernels.py: 7.3 boots with one only)
        self.smp = smp if smp is not None else SERIES[series].smp
        self.hostfwd = [self._fwd(f) for f in hostfwd]
        # guest TCP port -> host port on 127.0.0.1, for the plain "H:G" forwards
        self.ports: dict[int, int] = {
            int(f[1]): int(f[0]) for f in hostfwd if not isinstance(f, str)
        }
        self.python = python or sys.executable
        self.boot_timeout = boot_timeout
        self.tmpfs_size = tmpfs_size
        self.pvh = pvh
        self.boot_time: float | None = None
        self.kernel_release: str | None = None
        self.boot_id: str | None = None
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._tmp: Path | None = None
        self._pending: dict[int, list] = {}
        self._plock = threading.Lock()
        self._wlock = threading.Lock()
        self._next_id = 1
        self._hello = threading.Event()
        self._hello_msg: dict = {}
        self._dead: str | None = None
        self._finalizer: weakref.finalize | None = None

    @staticmethod
    def _fwd(f: HostFwd) -> str:
        if isinstance(f, str):
            return f if f.startswith(("tcp:", "udp:")) else "tcp:" + f
        host, guest = f
        return f"tcp:127.0.0.1:{int(host)}-:{int(guest)}"

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> VM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def qemu_command(self) -> list[str]:
        a = self.assets
        assert a is not None and self._tmp is not None
        kernel = a.kernel if self.pvh else a.vmlinuz
        for name, value in (("python", self.python), ("agent", str(AGENT))):
            if any(c.isspace() for c in value):
                raise VMError(f"the {name} path must not contain whitespace: {value!r}")
        append = (
            f"{KERNEL_CMDLINE} dtvm_python={self.python} dtvm_agent={AGENT} "
            f"dtvm_tmpfs={self.tmpfs_size} {SERIES[self.series].cmdline}"
        ).rstrip()
        net = "user,id=n0,restrict=on" + "".join(",hostfwd=" + f for f in self.hostfwd)
        return [
            QEMU,
            "-nodefaults", "-no-user-config", "-nographic", "-monitor", "none", "-no-reboot",
            "-accel", "tcg,thread=multi", "-cpu", "max",
            "-smp", str(self.smp), "-m", self.memory,
            "-kernel", str(kernel), "-initrd", str(a.initramfs), "-append", append,
            "-serial", f"file:{self._tmp / 'console.log'}",
            "-fsdev", "local,id=r,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=r,mount_tag=hostroot",
            "-device", "virtio-serial-pci",
            "-chardev", f"socket,id=agent,path={self._tmp / 'agent.sock'},server=on,wait=off",
            "-device", f"virtserialport,chardev=agent,name={protocol.PORT_NAME}",
            "-netdev", net, "-device", "virtio-net-pci,netdev=n0",
        ]  # fmt: skip

    def start(self) -> VM:
        if self._proc is not None:
            return self
        if not shutil.which(QEMU):
            raise VMAssetError(f"{QEMU} not found: install the Debian package qemu-system-x86")
        if not Path(self.python).exists():
            raise VMError(f"python for the guest not found: {self.python}")
        for name, path in (("python", self.python), ("repo", str(AGENT))):
            hidden = [d for d in GUEST_PRIVATE if path == d or path.startswith(d + "/")]
            if hidden:
                raise VMError(
                    f"the {name} path {path} is under {hidden[0]}, which the guest mounts "
                    "afresh (tmpfs on /run, its own proc/sys/dev): use one outside it"
                )
        if self.assets is None:
            self.assets = ensure_assets(self.cache_dir, self.series)
        self._tmp = Path(tempfile.mkdtemp(prefix="dtvm-"))
        t0 = time.monotonic()
        with open(self._tmp / "qemu.log", "wb") as log:
            self._proc = subprocess.Popen(
                self.qemu_command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_pdeathsig,
            )
        self._finalizer = weakref.finalize(self, _kill_qemu, self._proc, self._tmp)
        atexit.register(self._finalizer)
        try:
            self._connect(t0 + 30)
            deadline = t0 + self.boot_timeout
            while not self._hello.wait(0.1):
                if self._proc.poll() is not None or self._dead:
                    raise VMError(f"the VM died while booting\n{self.diagnostics()}")
                if time.monotonic() > deadline:
                    raise VMError(
                        f"the VM did not boot in {self.boot_timeout:.0f}s\n{self.diagnostics()}"
                    )
        except BaseException:
            self.close()
            raise
        self.boot_time = time.monotonic() - t0
        self.kernel_release = self._hello_msg.get("uname")
        self.boot_id = self._hello_msg.get("boot_id")
        return self

    def _connect(self, deadline: float) -> None:
        path = str(self._tmp / "agent.sock")
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except OSError:
                s.close()
                if self._proc.poll() is not None:
                    raise VMError(f"qemu exited at start\n{self.diagnostics()}") from None
                if time.monotonic() > deadline:
                    raise VMError(f"no qemu agent socket\n{self.diagnostics()}") from None
                time.sleep(0.02)
        self._sock = s
        threading.Thread(target=self._reader, daemon=True, name="dtvm-reader").start()

    def _reader(self) -> None:
        reader = protocol.FrameReader()
        try:
            while True:
                data = self._sock.recv(1 << 20)
                if not data:
                    break
                for msg in reader.feed(data):
                    if msg.get("op") == "hello":
                        self._hello_msg = msg
                        self._hello.set()
                        continue
                    with self._plock:
                        slot = self._pending.get(msg.get("id"))
                    if slot is not None:
                        slot[1] = msg
                        slot[0].set()
        except (OSError, ValueError) as e:  # ValueError: a corrupt frame
            self._dead = f"the agent connection failed: {e}"
        self._dead = self._dead or "the agent connection closed"
        with self._plock:
            for slot in self._pending.values():
                slot[0].set()

    def close(self) -> None:
        """Shut the guest down (politely, then by force); idempotent."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None and self._hello.is_set() and not self._dead:
            try:
                self._request({"op": "shutdown"}, timeout=10)
            except (VMError, OSError):
                pass
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        if self._finalizer is not None:
            self._finalizer()  # kills qemu if still there, removes the temp dir
            atexit.unregister(self._finalizer)
        self._dead = self._dead or "closed"

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and not self._dead

    def console(self) -> str:
        """The guest serial console so far (kernel messages, init errors)."""
        return _read_text(self._tmp / "console.log") if self._tmp else ""

    def diagnostics(self) -> str:
        cmd = " ".join(self.qemu_command()) if self.assets and self._tmp else "?"
        return (
            f"qemu: {cmd}\n--- qemu output ---\n{_read_text(self._tmp / 'qemu.log')[-4000:]}"
            f"\n--- console ---\n{self.console()[-8000:]}"
        )

    # -- requests ----------------------------------------------------------
    def _request(self, msg: dict, timeout: float | None) -> dict:
        if self._sock is None or self._dead:
            raise VMError(f"the VM is not running ({self._dead or 'not started'})")
        ev = threading.Event()
        with self._plock:
            rid = self._next_id
            self._next_id += 1
            self._pending[rid] = [ev, None]
        try:
            with self._wlock:
                self._sock.sendall(protocol.encode({**msg, "id": rid}))
            if not ev.wait(timeout):
                raise VMError(f"no answer from the guest agent in {timeout}s to {msg['op']}")
            with self._plock:
                reply = self._pending[rid][1]
        finally:
            with self._plock:
                self._pending.pop(rid, None)
        if reply is None:
            raise VMError(f"the VM went away ({self._dead})\n{self.diagnostics()}")
        if "error" in reply:
            raise VMError(f"guest agent: {reply['error']}\n{reply.get('trace', '')}")
        return reply

    def run(
        self,
        cmd: Cmd,
        timeout: float | None = 120,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        input: bytes | str | None = None,
        check: bool = False,
        text: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run `cmd` (argv list, or a /bin/sh string) in the guest as root and wait.

        env is added to the guest's base environment (PATH starts with the host
        python's bin dir, TERM=xterm-256color, LANG=C.UTF-8).  Raises
        subprocess.TimeoutExpired after killing the command's process group.
        """
        msg = _command_message("run", cmd, env, cwd, input)
        msg["timeout"] = timeout
        reply = self._request(msg, None if timeout is None else timeout + 30)
        out = protocol.unb64(reply["stdout"])
        err = protocol.unb64(reply["stderr"])
        if text:
            out, err = _decode(out), _decode(err)
        if reply["timeout"]:
            raise subprocess.TimeoutExpired(cmd, timeout, out, err)
        cp = subprocess.CompletedProcess(cmd, reply["rc"], out, err)
        if check:
            cp.check_returncode()
        return cp

    def sh(self, script: str, timeout: float | None = 120) -> str:
        """Run a shell snippet, return stdout; raise with stderr if it fails."""
        r = self.run(script, timeout=timeout)
        if r.returncode:
            raise VMError(f"guest command failed ({r.returncode}): {script}\n{r.stderr}")
        return r.stdout

    def spawn(
        self,
        cmd: Cmd,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        input: bytes | str | None = None,
    ) -> Spawned:
        """Start a background process (own session/process group) in the guest.

        Its stdout/stderr go to files in the guest's /tmp/.dtvm (see Spawned.output).
        """
        r = self._request(_command_message("spawn", cmd, env, cwd, input), 60)
        return Spawned(self, r["handle"], r["pid"], cmd, r["stdout"], r["stderr"])

    def kill(self, proc: Spawned, sig: int = signal.SIGTERM, group: bool = True) -> None:
        """Send `sig` to a spawned process (its whole process group by default)."""
        self._request({"op": "kill", "handle": proc.handle, "sig": int(sig), "group": group}, 30)

    def wait(self, proc: Spawned, timeout: float | None = None) -> int:
        """Wait for a spawned process; raises subprocess.TimeoutExpired."""
        r = self._request(
            {"op": "wait", "handle": proc.handle, "timeout": timeout},
            None if timeout is None else timeout + 30,
        )
        if r["timeout"]:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        return r["rc"]

    def poll(self, proc: Spawned) -> int | None:
        return self._request({"op": "poll", "handle": proc.handle}, 30)["rc"]

    def output(self, proc: Spawned) -> tuple[str, str]:
        """(stdout, stderr) of a spawned process so far."""
        return (
            _decode(self.read_file(proc.stdout_path)),
            _decode(self.read_file(proc.stderr_path)),
        )

    def read_file(self, path: str | os.PathLike) -> bytes:
        return protocol.unb64(self._request({"op": "read", "path": str(path)}, 120)["data"])

    def write_file(
        self, path: str | os.PathLike, data: bytes | str, mode: int | None = None
    ) -> None:
        """Write a file in the guest (lands in the tmpfs overlay); creates parent dirs."""
        if isinstance(data, str):
            data = data.encode()
        msg = {"op": "write", "path": str(path), "data": protocol.b64(data), "mode": mode}
        self._request(msg, 120)


def _command_message(
    op: str, cmd: Cmd, env: Mapping[str, str] | None, cwd: str | None, input: bytes | str | None
) -> dict:
    """The agent request that starts ``cmd`` (``op``: run or spawn)."""
    if isinstance(input, str):
        input = input.encode()
    return {
        "op": op,
        "cmd": cmd if isinstance(cmd, str) else [str(c) for c in cmd],
        "env": dict(env or {}),
        "cwd": cwd,
        "input": protocol.b64(input),
    }


def _decode(b: bytes) -> str:
    return b.decode("utf-8", errors="surrogateescape")


def _read_text(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except OSError:
        return ""


def _kill_qemu(proc: subprocess.Popen, tmp: Path) -> None:
    if proc.poll() is None:
        proc.kill()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    """`python -m tests.support.vm.vm [CMD...]`: boot, run CMD (default: uname -a), report."""
    cmd = sys.argv[1:] or ["uname", "-a"]
    with VM() as vm:
        print(f"booted {vm.kernel_release} in {vm.boot_time:.2f}s", file=sys.stderr)
        r = vm.run(cmd, timeout=600)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
    sys.exit(r.returncode)


if __name__ == "__main__":
    main()
