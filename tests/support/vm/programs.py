"""Real programs making dma-bufs in the test VM: GStreamer pipelines and a v4l2-ctl stream
on vivid (the V4L2 test driver, loaded by the initramfs: assets.MODULE_ARGS), started,
frozen (SIGSTOP: streaming changes attachments every frame) and stopped from the host,
with what the kernel shows of each process's dma-buf fds and mappings (read from /proc
in the guest, independently of dmabuf_top).

    scene = Scene(vm)
    scene.start("capture", "playback", "stream")    # each streaming when this returns
    with scene.frozen():
        ... dmabuf-top snapshot, bufinfo, scene.holdings() ...
    scene.stop("capture")                            # its buffers are freed
    scene.close()

vivid's instances (three: 0 on vmalloc buffers, 1 and 2 on dma-contig ones, which attach
the importing device, ``vivid.0``), each a capture and an output node:

* capture   instance 0 capture exported to GStreamer (``io-mode=dmabuf``), 320x180 (the
            webcam input's smallest size on every kernel):
            ``videobuf2_vmalloc`` buffers held by gst-launch-1.0
* playback  instance 1: the TV input's 720x576 frames exported by the capture node, a tee to
            the output node, which imports them (``io-mode=dmabuf-import``: attached), and to
            a fakesink (the output defaults to interlaced 720x576 S-Video, so the caps are set)
* stream    instance 2: v4l2-ctl streams the output node's buffers (exported, mapped) into
            the capture node (``--stream-dmabuf``: attached); full device paths
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

GST = "/usr/bin/gst-launch-1.0"
V4L2_CTL = "/usr/bin/v4l2-ctl"
#: frames a program has shown before it counts as streaming
READY_FRAMES = 3

# Runs in the guest: {pid: {"comm", "cmdline", "fds": {fd: inode}, "maps": [[start, end,
# perms, inode]]}} for the pids given, dma-bufs only (fd link /dmabuf... or
# anon_inode:dmabuf; a mapping of a /dmabuf: path on the device of those fds).
_HOLDINGS = r"""
import json, os, sys
out = {}
for pid in sys.argv[1:]:
    d = f"/proc/{pid}"
    fds, devs = {}, set()
    for n in os.listdir(f"{d}/fd"):
        try:
            link = os.readlink(f"{d}/fd/{n}")
            st = os.stat(f"{d}/fd/{n}")
        except OSError:
            continue
        if link.startswith(("/dmabuf", "anon_inode:dmabuf")):
            fds[int(n)] = st.st_ino
            devs.add(f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}")
    maps = []
    for line in open(f"{d}/maps"):
        f = line.split(None, 5)
        if len(f) == 6 and f[5].startswith("/dmabuf") and f[3] in devs:
            start, end = (int(x, 16) for x in f[0].split("-"))
            maps.append([start, end, f[1], int(f[4])])
    comm = open(f"{d}/comm", "rb").read().decode().rstrip("\n")
    argv = open(f"{d}/cmdline", "rb").read().rstrip(b"\0").decode().split("\0")
    out[pid] = {"comm": comm, "cmdline": argv, "fds": fds, "maps": sorted(maps)}
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Program:
    key: str
    argv: list[str]
    #: what the program prints (stdout or stderr) once per frame (READY_FRAMES: streaming)
    frame_mark: str
    #: a command run before it (a format to set)
    setup: list[str] | None = None


#: a shell command listing the guest's V4L2 nodes, ``NAME /dev/videoN`` a line
NODES_SH = 'for d in /sys/class/video4linux/video*; do echo "$(cat $d/name) /dev/${d##*/}"; done'


def parse_nodes(text: str) -> dict[str, str]:
    """vivid's video nodes from NODES_SH's output: {"vivid-000-vid-cap": "/dev/video0", ...}."""
    nodes = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
    want = [f"vivid-{i:03d}-vid-{kind}" for i in range(3) for kind in ("cap", "out")]
    missing = [n for n in want if n not in nodes]
    if missing:
        raise RuntimeError(f"vivid nodes missing in the guest: {missing} (have {nodes})")
    return nodes


def vivid_nodes(vm: Any) -> dict[str, str]:
    """vivid's video nodes in the guest (parse_nodes), from the host."""
    return parse_nodes(vm.sh(NODES_SH, timeout=60))


def is_streaming(prog: Program, output: str) -> bool:
    """Whether ``output`` (the program's stdout and stderr) shows READY_FRAMES frames."""
    return output.count(prog.frame_mark) >= READY_FRAMES


def programs(nodes: dict[str, str]) -> dict[str, Program]:
    """The scene's programs (module docstring) on vivid's ``nodes``."""
    def node(i: int, kind: str) -> str:
        return nodes[f"vivid-{i:03d}-vid-{kind}"]

    sink = ["fakesink", "silent=false"]  # with -v: one "last-message = chain" line a frame
    return {
        "capture": Program(
            "capture",
            [GST, "-v", "v4l2src", f"device={node(0, 'cap')}", "io-mode=dmabuf", "!",
             "video/x-raw,width=320,height=180", "!", *sink],
            "last-message = chain"),
        "playback": Program(
            "playback",
            [GST, "-v", "v4l2src", f"device={node(1, 'cap')}", "io-mode=dmabuf", "!",
             "video/x-raw,format=YUY2,width=720,height=576", "!", "tee", "name=t",
             "!", "queue", "!", "v4l2sink", f"device={node(1, 'out')}", "io-mode=dmabuf-import",
             "t.", "!", "queue", "!", *sink],
            "last-message = chain",
            setup=[V4L2_CTL, "-d", node(1, "cap"), "--set-input=1"]),  # TV: 720x576
        "stream": Program(
            "stream",
            [V4L2_CTL, "-d", node(2, "cap"), "-e", node(2, "out"), "--stream-dmabuf",
             "--stream-out-mmap"],
            "<"),
    }


class Scene:
    """Programs of programs() running in the guest; close() stops them all."""

    def __init__(self, vm: Any) -> None:
        self.vm = vm
        self.programs = programs(vivid_nodes(vm))
        self.running: dict[str, Any] = {}  # key -> tests.support.vm.vm.Spawned

    def pid(self, key: str) -> int:
        return self.running[key].pid

    def start(self, *keys: str, timeout: float = 180) -> None:
        """Start the programs and wait until each has shown READY_FRAMES frames."""
        for key in keys:
            prog = self.programs[key]
            if prog.setup:
                self.vm.sh(" ".join(prog.setup), timeout=60)
            self.running[key] = self.vm.spawn(prog.argv, cwd="/")
        deadline = time.monotonic() + timeout
        for key in keys:
            proc = self.running[key]
            while True:
                out, err = proc.output()
                if is_streaming(self.programs[key], out + err):
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    state = "exited" if proc.poll() is not None else "not streaming"
                    raise RuntimeError(f"{key} {state}: {proc.args}\n{out[-2000:]}\n{err}")
                time.sleep(0.2)

    def signal(self, sig: int, *keys: str) -> None:
        for key in keys or list(self.running):
            self.running[key].kill(sig)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Every running program stopped (SIGSTOP) meanwhile: what they hold stands still."""
        self.signal(signal.SIGSTOP)
        for key in self.running:  # stopped for sure: /proc/PID/stat says T
            self._wait_state(self.pid(key), "T")
        try:
            yield
        finally:
            self.signal(signal.SIGCONT)

    def _wait_state(self, pid: int, state: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            stat = self.vm.read_file(f"/proc/{pid}/stat").decode()
            if stat.rsplit(")", 1)[1].split()[0] == state:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"pid {pid} not in state {state}: {stat}")
            time.sleep(0.05)

    def stop(self, key: str, timeout: float = 120) -> int:
        """End a program (SIGTERM, running: not frozen) and reap it."""
        proc = self.running.pop(key)
        if proc.poll() is None:
            proc.kill(signal.SIGCONT)
            proc.kill(signal.SIGTERM)
        return proc.wait(timeout)

    def close(self) -> None:
        for key in list(self.running):
            proc = self.running[key]
            try:
                self.stop(key)
            except Exception:
                proc.kill(signal.SIGKILL)
                proc.wait(60)

    def holdings(self) -> dict[int, dict]:
        """What each running program holds, as /proc shows it (see _HOLDINGS)."""
        pids = [str(self.pid(k)) for k in self.running]
        r = self.vm.run([self.vm.python, "-c", _HOLDINGS, *pids], timeout=120, check=True)
        return {int(pid): {**h, "fds": {int(fd): ino for fd, ino in h["fds"].items()}}
                for pid, h in json.loads(r.stdout).items()}
