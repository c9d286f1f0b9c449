"""Command agent of the test VM: runs inside the guest (as root, stdlib only).

Started by init.sh with the host's python through the shared root; talks to the
host over the virtio-serial port named protocol.PORT_NAME.  Each request is served
in its own thread; replies carry the request id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

SPOOL = Path("/tmp/.dtvm")


def base_env() -> dict[str, str]:
    pybin = os.path.dirname(sys.executable)
    return {
        "PATH": f"{pybin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "USER": "root",
        "LOGNAME": "root",
        "SHELL": "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh",
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp",
        "TMUX_TMPDIR": "/run",  # the guest's own tmpfs: never a host tmux socket
    }


def find_port() -> str:
    for d in Path("/sys/class/virtio-ports").glob("*"):
        try:
            if (d / "name").read_text().strip() == protocol.PORT_NAME:
                return f"/dev/{d.name}"
        except OSError:
            continue
    raise SystemExit(f"agent: no virtio port named {protocol.PORT_NAME}")


class Agent:
    def __init__(self, port: str) -> None:
        self.fd = os.open(port, os.O_RDWR)
        self.wlock = threading.Lock()
        self.procs: dict[int, subprocess.Popen] = {}
        self.next_handle = 1
        self.plock = threading.Lock()
        self.env = base_env()
        self.stop = threading.Event()

    # -- transport ---------------------------------------------------------
    def send(self, msg: dict) -> None:
        data = protocol.encode(msg)
        with self.wlock:
            view = memoryview(data)
            while view:
                try:
                    n = os.write(self.fd, view)
                except (BlockingIOError, InterruptedError):
                    time.sleep(0.01)
                    continue
                view = view[n:]

    def serve(self) -> None:
        reader = protocol.FrameReader()
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot_id = f.read().strip()
        self.send(
            {
                "op": "hello",
                "pid": os.getpid(),
                "uname": os.uname().release,
                "boot_id": boot_id,
                "python": sys.executable,
            }
        )
        while not self.stop.is_set():
            try:
                data = os.read(self.fd, 1 << 20)
            except InterruptedError:
                continue
            if not data:  # host side not connected (yet/any more)
                time.sleep(0.05)
                continue
            for msg in reader.feed(data):
                threading.Thread(target=self.handle, args=(msg,), daemon=True).start()

    def handle(self, msg: dict) -> None:
        rid = msg.get("id")
        try:
            reply = getattr(self, "op_" + msg["op"])(msg)
        except Exception as e:  # report every failure to the host
            reply = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
        reply["id"] = rid
        self.send(reply)
        if msg["op"] == "shutdown":
            self.stop.set()
            os._exit(0)

    # -- helpers -----------------------------------------------------------
    def _popen(self, msg: dict, **kw) -> subprocess.Popen:
        cmd = msg["cmd"]
        env = dict(self.env)
        env.update(msg.get("env") or {})
        return subprocess.Popen(
            cmd,
            shell=isinstance(cmd, str),
            env=env,
            cwd=msg.get("cwd") or "/",
            start_new_session=True,
            **kw,
        )

    def _proc(self, msg: dict) -> subprocess.Popen:
        with self.plock:
            return self.procs[msg["handle"]]

    @staticmethod
    def _signal(p: subprocess.Popen, sig: int, group: bool) -> None:
        try:
            if group:
                os.killpg(p.pid, sig)
            else:
                os.kill(p.pid, sig)
        except ProcessLookupError:
            pass

    # -- operations ----------------------------------------------------------
    def op_ping(self, msg: dict) -> dict:
        return {"ok": True}

    def op_run(self, msg: dict) -> dict:
        inp = protocol.unb64(msg.get("input"))
        p = self._popen(
            msg,
            stdin=subprocess.PIPE if inp is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        timed_out = False
        try:
            out, err = p.communicate(inp, timeout=msg.get("timeout"))
        except subprocess.TimeoutExpired:
            timed_out = True
            self._signal(p, signal.SIGKILL, True)
            out, err = p.communicate()
        return {
            "rc": p.returncode,
            "stdout": protocol.b64(out),
            "stderr": protocol.b64(err),
            "timeout": timed_out,
        }

    def op_spawn(self, msg: dict) -> dict:
        SPOOL.mkdir(parents=True, exist_ok=True)
        with self.plock:
            h = self.next_handle
            self.next_handle += 1
        out_path = SPOOL / f"{h}.out"
        err_path = SPOOL / f"{h}.err"
        inp = protocol.unb64(msg.get("input"))
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = self._popen(
                msg,
                stdin=subprocess.PIPE if inp is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        if inp is not None:
            threading.Thread(target=self._feed, args=(p, inp), daemon=True).start()
        with self.plock:
            self.procs[h] = p
        return {"handle": h, "pid": p.pid, "stdout": str(out_path), "stderr": str(err_path)}

    @staticmethod
    def _feed(p: subprocess.Popen, data: bytes) -> None:
        try:
            p.stdin.write(data)
            p.stdin.close()
        except OSError:
            pass

    def op_kill(self, msg: dict) -> dict:
        p = self._proc(msg)
        if p.poll() is None:
            self._signal(p, msg.get("sig", signal.SIGTERM), msg.get("group", True))
        return {"ok": True}

    def op_wait(self, msg: dict) -> dict:
        p = self._proc(msg)
        try:
            return {"rc": p.wait(msg.get("timeout")), "timeout": False}
        except subprocess.TimeoutExpired:
            return {"rc": None, "timeout": True}

    def op_poll(self, msg: dict) -> dict:
        return {"rc": self._proc(msg).poll()}

    def op_read(self, msg: dict) -> dict:
        with open(msg["path"], "rb") as f:
            return {"data": protocol.b64(f.read())}

    def op_write(self, msg: dict) -> dict:
        path = Path(msg["path"])
        if msg.get("parents", True):
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(protocol.unb64(msg["data"]))
        if msg.get("mode") is not None:
            os.chmod(path, msg["mode"])
        return {"ok": True}

    def op_shutdown(self, msg: dict) -> dict:
        with self.plock:
            procs = list(self.procs.values())
        for p in procs:
            if p.poll() is None:
                self._signal(p, signal.SIGKILL, True)
        os.sync()
        return {"ok": True}


def main() -> None:
    Agent(find_port()).serve()


if __name__ == "__main__":
    main()
