"""A tiny device side of the ADB wire protocol, for tests: a stand-in adbd.

A real adb server connects to it (``adb connect 127.0.0.1:PORT``). It speaks
version 0x01000001 with no AUTH and features ``cmd`` only (no ``shell_v2``, no
``delayed_ack``), so the server opens plain ``shell:CMD`` / ``exec:CMD``
streams, and runs each CMD with ``sh -c`` (stderr merged into stdout, as adbd
does; stdin is /dev/null). Services:

- ``shell:CMD``, ``exec:CMD``: run it; output in WRTE chunks, each waiting for
  the host's OKAY; CLSE when the command is done.
- ``sync:``: ``adb push``/``pull`` inside the peer's temporary directory only
  (tests/support/adbsync.py).
- ``root:``: like ``adb root``: with ``--uid`` (shell commands run unprivileged)
  and ``--allow-root`` it says "restarting adbd as root", stops dropping
  privileges and drops every connection, as a restarting adbd does.
- anything else is refused (CLSE).

Options: ``--uid/--gid`` drop privileges for the commands (the peer itself
runs as root); ``--path-prefix DIR`` puts DIR first on the commands' PATH (a
test ``su``); ``--tmp DIR`` the temporary directory (exported to the commands as
TMPDIR, as Android's adbd exports /data/local/tmp); ``--unauthorized`` answers CNXN
with AUTH tokens forever, so the server lists the device as ``unauthorized``;
``--silent`` never answers, so it stays ``offline``. Prints ``listening PORT`` on
stdout once it listens.
Stdlib only: it runs inside the test VM with the host's python.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import struct
import subprocess
import sys
import threading

from adbsync import Sync  # its sibling: this file runs as a script, in the VM too

A_CNXN = 0x4E584E43
A_OPEN = 0x4E45504F
A_OKAY = 0x59414B4F
A_WRTE = 0x45545257
A_CLSE = 0x45534C43
A_AUTH = 0x48545541
VERSION = 0x01000001
MAX_PAYLOAD = 256 * 1024
AUTH_TOKEN = 1
HEADER = struct.Struct("<6I")


def packet(cmd: int, arg0: int, arg1: int, data: bytes = b"") -> bytes:
    # with version 0x01000001 the host does not check data_check
    return HEADER.pack(cmd, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF, cmd ^ 0xFFFFFFFF) + data


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.drop = args.uid is not None
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()

    # -- commands -----------------------------------------------------------
    def _preexec(self) -> None:
        os.setsid()
        if self.drop:
            gid = self.args.gid if self.args.gid is not None else self.args.uid
            os.setgroups([])
            os.setgid(gid)
            os.setuid(self.args.uid)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.args.path_prefix:
            env["PATH"] = self.args.path_prefix + ":" + env.get("PATH", "/usr/bin:/bin")
        if self.args.tmp:
            env["TMPDIR"] = self.args.tmp
        if self.drop:
            env.update(HOME="/", USER="shell", LOGNAME="shell")
        return env

    def spawn(self, cmd: str) -> subprocess.Popen:
        return subprocess.Popen(
            ["sh", "-c", cmd],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env(),
            cwd="/",
            preexec_fn=self._preexec,
        )

    # -- one host connection ------------------------------------------------
    def serve(self, sock: socket.socket) -> None:
        with self.lock:
            self.conns.add(sock)
        try:
            Connection(self, sock).run()
        finally:
            with self.lock:
                self.conns.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def restart_as_root(self) -> None:
        """adbd restarting as root: commands keep root, every transport drops."""
        self.drop = False
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Stream:
    def __init__(self, local: int, remote: int) -> None:
        self.local = local
        self.remote = remote
        self.acked = threading.Event()
        self.closed = threading.Event()
        self.proc: subprocess.Popen | None = None
        # sync: bytes the host wrote, and whether its last WRTE awaits our OKAY
        self.sync = False
        self.inbox = bytearray()
        self.unacked = False
        self.more = threading.Condition()


class Connection:
    def __init__(self, peer: Peer, sock: socket.socket) -> None:
        self.peer = peer
        self.sock = sock
        self.wlock = threading.Lock()
        self.streams: dict[int, Stream] = {}
        self.next_id = 1
        self.maxdata = MAX_PAYLOAD

    def send(self, cmd: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        with self.wlock:
            self.sock.sendall(packet(cmd, arg0, arg1, data))

    def run(self) -> None:
        try:
            while True:
                cmd, arg0, arg1, n, _check, magic = HEADER.unpack(recv_exact(self.sock, 24))
                if magic != cmd ^ 0xFFFFFFFF:
                    return
                data = recv_exact(self.sock, n) if n else b""
                self.handle(cmd, arg0, arg1, data)
        except (EOFError, OSError):
            pass
        finally:
            for st in list(self.streams.values()):
                self._kill(st)

    def handle(self, cmd: int, arg0: int, arg1: int, data: bytes) -> None:
        args = self.peer.args
        if cmd == A_CNXN:
            if args.silent:
                return
            if args.unauthorized:
                self.send(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))
                return
            self.maxdata = max(4096, min(arg1 or MAX_PAYLOAD, MAX_PAYLOAD))
            banner = (
                f"device::ro.product.name={args.name};ro.product.model={args.model};"
                f"ro.product.device={args.name};features=cmd"
            )
            self.send(A_CNXN, VERSION, MAX_PAYLOAD, banner.encode())
        elif cmd == A_AUTH:
            if args.unauthorized and arg0 != 3:  # 3: RSAPUBLICKEY; keep refusing
                self.send(A_AUTH, AUTH_TOKEN, 0, os.urandom(20))
        elif cmd == A_OPEN:
            self.open(arg0, data.rstrip(b"\0").decode("utf-8", "surrogateescape"))
        elif cmd == A_OKAY:
            st = self.streams.get(arg1)
            if st is not None:
                st.acked.set()
        elif cmd == A_WRTE:
            st = self.streams.get(arg1)
            if st is not None and st.sync:
                with st.more:  # a sync stream: acknowledged once consumed (Sync.read)
                    st.inbox += data
                    st.unacked = True
                    st.more.notify()
            elif st is not None:  # stdin is /dev/null: acknowledge, drop
                self.send(A_OKAY, arg1, arg0)
        elif cmd == A_CLSE:
            st = self.streams.pop(arg1, None)
            if st is not None:
                self._kill(st)
                with st.more:
                    st.more.notify()

    def open(self, remote: int, service: str) -> None:
        kind, _, cmd = service.partition(":")
        if kind not in ("shell", "exec", "root", "sync") or (kind in ("shell", "exec") and not cmd):
            self.send(A_CLSE, 0, remote)
            return
        local = self.next_id
        self.next_id += 1
        st = self.streams[local] = Stream(local, remote)
        st.sync = kind == "sync"
        self.send(A_OKAY, local, remote)
        if st.sync:
            target = self.sync
        else:
            target = self.root if kind == "root" else self.run_command
        threading.Thread(target=target, args=(st, cmd), daemon=True).start()

    def write(self, st: Stream, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            chunk, view = view[: self.maxdata], view[self.maxdata :]
            st.acked.clear()
            self.send(A_WRTE, st.local, st.remote, bytes(chunk))
            while not st.acked.wait(0.5):
                if st.closed.is_set():
                    return False
        return True

    def finish(self, st: Stream) -> None:
        if self.streams.pop(st.local, None) is not None:
            try:
                self.send(A_CLSE, st.local, st.remote)
            except OSError:
                pass

    def run_command(self, st: Stream, cmd: str) -> None:
        try:
            st.proc = self.peer.spawn(cmd)
        except OSError as e:
            self.write(st, f"{e}\n".encode())
            self.finish(st)
            return
        assert st.proc.stdout is not None
        try:
            while True:
                data = st.proc.stdout.read1(self.maxdata)
                if not data or not self.write(st, data):
                    break
        except OSError:
            pass
        self._kill(st)
        self.finish(st)

    def sync(self, st: Stream, _cmd: str) -> None:
        Sync(self, st, A_OKAY, self.peer.args.tmp or "/tmp").run()

    def root(self, st: Stream, _cmd: str) -> None:
        peer = self.peer
        if not peer.drop:
            self.write(st, b"adbd is already running as root\n")
            self.finish(st)
        elif not peer.args.allow_root:
            answer = peer.args.root_answer or "adbd cannot run as root in production builds"
            self.write(st, answer.encode("utf-8", "surrogateescape") + b"\n")
            self.finish(st)
        else:
            self.write(st, b"restarting adbd as root\n")
            self.finish(st)
            peer.restart_as_root()

    def _kill(self, st: Stream) -> None:
        st.closed.set()
        p = st.proc
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
        if p is not None:
            p.wait()
            if p.stdout is not None:
                p.stdout.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any)")
    ap.add_argument("--uid", type=int, help="run commands as this uid (not root)")
    ap.add_argument("--gid", type=int, help="and this gid (default: the uid)")
    ap.add_argument("--path-prefix", help="directory put first on the commands' PATH")
    ap.add_argument("--tmp", help="the temporary directory (sync's, the commands' TMPDIR)")
    ap.add_argument("--allow-root", action="store_true", help="root: may restart as root")
    ap.add_argument("--root-answer", help="root: what a refusal says (a hostile adbd's words)")
    ap.add_argument("--unauthorized", action="store_true", help="never accept the host")
    ap.add_argument("--silent", action="store_true", help="never answer CNXN (offline)")
    ap.add_argument("--model", default="dmabuf-top peer")
    ap.add_argument("--name", default="adbpeer")
    args = ap.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host or "127.0.0.1", int(port)))
    srv.listen(16)
    print(f"listening {srv.getsockname()[1]}", flush=True)
    peer = Peer(args)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        sock, _ = srv.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=peer.serve, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
